//===- run_commands.cpp - `model predict` and `model eval` ----------------===//
//
// Both run the forward pass over every row of the input file; predict saves
// the results, eval summarizes routing statistics and accuracy.
//
//===----------------------------------------------------------------------===//

#include "commands/commands.h"

#include "model/forward_runner.h"
#include "model/parameters.h"
#include "training/checkpoint.h"

#include "status_internal.h"
#include "tensor_internal.h"

namespace smxrt {
namespace {

/// Reads the inputs (cheap checks first), fills the parameters and runs the
/// forward pass over every chunk.
smxrt_status_t runOnInput(const ModelManifest &manifest,
                          smxrt_model_forward_fn_t forward,
                          const CommandLine &commandLine,
                          BatchResults &results) {
  BatchInputs inputs;
  SMXRT_RETURN_IF_ERROR(readBatchInputs(manifest, commandLine.input, inputs));
  ForwardBuffers buffers;
  SMXRT_RETURN_IF_ERROR(allocateForwardBuffers(manifest, buffers));
  if (commandLine.weights.empty()) {
    initializeParameters(manifest, commandLine.seed, buffers.arguments);
  } else {
    // A file, or a checkpoint directory (its latest checkpoint's weights).
    WeightsSource source;
    SMXRT_RETURN_IF_ERROR(resolveWeightsSource(commandLine.weights, source));
    SMXRT_RETURN_IF_ERROR(
        loadParameters(manifest, source.weightsFile, buffers.arguments));
  }
  return runForwardInChunks(manifest, forward, buffers, inputs,
                            commandLine.step, results);
}

/// Element `index` of a numeric tensor, as a double.
double elementAsDouble(const smxrt_tensor_t *tensor, int64_t index) {
  const void *data = smxrt_tensor_const_data(tensor);
  switch (smxrt_tensor_dtype(tensor)) {
  case SMXRT_DTYPE_F32:
    return static_cast<const float *>(data)[index];
  case SMXRT_DTYPE_F64:
    return static_cast<const double *>(data)[index];
  case SMXRT_DTYPE_I32:
    return static_cast<const int32_t *>(data)[index];
  case SMXRT_DTYPE_I64:
    return static_cast<double>(static_cast<const int64_t *>(data)[index]);
  default:
    return 0.0;
  }
}

bool isNumeric(smxrt_dtype_t dtype) {
  return dtype == SMXRT_DTYPE_F32 || dtype == SMXRT_DTYPE_F64 ||
         dtype == SMXRT_DTYPE_I32 || dtype == SMXRT_DTYPE_I64;
}

/// Tokens per expert summed over chunks, and the mean dropped fraction, of
/// every MoE layer the manifest lists.
smxrt_status_t describeRouting(const ModelManifest &manifest,
                               const BatchResults &results, std::string &text) {
  for (const MoeLayerSpec &layer : manifest.moeLayers) {
    std::string prefix = "moe." + std::to_string(layer.layer) + ".";
    for (const char *statistic : {"tokens_per_expert", "dropped_fraction"}) {
      std::string name = prefix + statistic;
      const smxrt_tensor_t *tensor = findResult(manifest, results, name);
      if (!tensor) {
        text += name + ": not reported by the model\n";
        continue;
      }
      if (!isNumeric(smxrt_tensor_dtype(tensor)))
        return makeStatusf(SMXRT_STATUS_UNIMPLEMENTED,
                           "result '%s' is %s, not a number type", name.c_str(),
                           smxrt_dtype_name(smxrt_tensor_dtype(tensor)));
      // Stacked over chunks: [chunks, ...].
      int64_t chunks = std::max<int64_t>(smxrt_tensor_shape(tensor)[0], 1);
      int64_t perChunk = smxrt_tensor_element_count(tensor) / chunks;
      std::vector<double> sums(static_cast<size_t>(perChunk), 0.0);
      for (int64_t index = 0; index < smxrt_tensor_element_count(tensor);
           ++index)
        sums[index % perChunk] += elementAsDouble(tensor, index);
      text += name + ":";
      bool isCount = std::string(statistic) == "tokens_per_expert";
      for (double sum : sums)
        text += isCount ? formatString(" %.0f", sum)
                        : formatString(" %.6f", sum / chunks);
      text += formatString(isCount ? " (summed over %lld chunks)\n"
                                   : " (mean over %lld chunks)\n",
                           static_cast<long long>(chunks));
    }
  }
  return nullptr;
}

/// The mean over chunks of every loss term of a training object's forward
/// function (a scalar F32 result that the manifest marks as a loss term).
void describeLossTerms(const ModelManifest &manifest,
                       const BatchResults &results, std::string &text) {
  for (size_t index = 0; index < manifest.results.size(); ++index) {
    const ResultSpec &spec = manifest.results[index];
    const ResultSpec *trained = manifest.hasTrainStep
                                    ? manifest.trainStep.findResult(spec.name)
                                    : nullptr;
    if (spec.dtype != SMXRT_DTYPE_F32 || !spec.shape.empty() ||
        !(spec.isLossTerm || (trained && trained->isLossTerm)))
      continue;
    const smxrt_tensor_t *tensor = results.tensors[index].get();
    double sum = 0;
    for (int64_t chunk = 0; chunk < results.chunks; ++chunk)
      sum += elementAsDouble(tensor, chunk);
    text += formatString("%s: %.6f (mean over %lld chunks)\n",
                         spec.name.c_str(), sum / results.chunks,
                         static_cast<long long>(results.chunks));
  }
}

/// Reads `labels` of the input file, if it has them: [N] I32.
smxrt_status_t readLabels(const std::string &inputPath, TensorPtr &labels) {
  SafetensorsFilePtr file;
  SMXRT_RETURN_IF_ERROR(openSafetensors(inputPath, file));
  smxrt_tensor_t *read = nullptr;
  StatusPtr status(smxrt_safetensors_read_tensor(file.get(), "labels", &read));
  labels.reset(read);
  if (smxrt_status_code(status.get()) == SMXRT_STATUS_NOT_FOUND)
    return nullptr;
  if (status)
    return status.release();
  if (smxrt_tensor_dtype(labels.get()) != SMXRT_DTYPE_I32 ||
      smxrt_tensor_rank(labels.get()) != 1)
    return makeStatusf(
        SMXRT_STATUS_INVALID_ARGUMENT,
        "%s: tensor 'labels' is %s %s, expected I32 [N] (one per row)",
        inputPath.c_str(), smxrt_dtype_name(smxrt_tensor_dtype(labels.get())),
        formatShape(smxrt_tensor_shape(labels.get()),
                    smxrt_tensor_rank(labels.get()))
            .c_str());
  return nullptr;
}

/// The classifier's accuracy on `labels`, if the model has a
/// classifier_logits [N, C] F32 result with C >= 2.
smxrt_status_t describeAccuracy(const ModelManifest &manifest,
                                const std::string &inputPath,
                                const smxrt_tensor_t *labels,
                                const BatchResults &results,
                                std::string &text) {
  if (smxrt_tensor_shape(labels)[0] != results.rows)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: tensor 'labels' has %lld rows, but 'input_ids' "
                       "has %lld",
                       inputPath.c_str(),
                       static_cast<long long>(smxrt_tensor_shape(labels)[0]),
                       static_cast<long long>(results.rows));
  const ResultSpec *spec = manifest.findResult("classifier_logits");
  if (!spec) {
    text += "accuracy: not computed (the model has no classifier_logits)\n";
    return nullptr;
  }
  if (spec->dtype != SMXRT_DTYPE_F32 || !spec->batchMajor ||
      spec->shape.size() != 2)
    return makeStatusf(
        SMXRT_STATUS_UNIMPLEMENTED,
        "result 'classifier_logits' is %s %s, expected F32 "
        "[batch, classes]",
        smxrt_dtype_name(spec->dtype),
        formatShape(spec->shape.data(), spec->shape.size()).c_str());
  int64_t classes = spec->shape[1];
  if (classes < 2) {
    text += "accuracy: not computed (classifier_logits has one output: a "
            "regression head)\n";
    return nullptr;
  }
  const auto *logits = static_cast<const float *>(smxrt_tensor_const_data(
      findResult(manifest, results, "classifier_logits")));
  const auto *labelValues =
      static_cast<const int32_t *>(smxrt_tensor_const_data(labels));
  int64_t correct = 0;
  for (int64_t row = 0; row < results.rows; ++row) {
    if (labelValues[row] < 0 || labelValues[row] >= classes)
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "%s: labels[%lld] = %d is outside [0, %lld), the "
                         "classifier's classes",
                         inputPath.c_str(), static_cast<long long>(row),
                         labelValues[row], static_cast<long long>(classes));
    const float *rowLogits = logits + row * classes;
    // The first maximum wins ties, as numpy.argmax.
    int64_t predicted = 0;
    for (int64_t column = 1; column < classes; ++column)
      if (rowLogits[column] > rowLogits[predicted])
        predicted = column;
    correct += predicted == labelValues[row];
  }
  text += formatString("accuracy: %.6f (%lld of %lld rows)\n",
                       static_cast<double>(correct) / results.rows,
                       static_cast<long long>(correct),
                       static_cast<long long>(results.rows));
  return nullptr;
}

} // namespace

smxrt_status_t runPredictCommand(const ModelManifest &manifest,
                                 smxrt_model_forward_fn_t forward,
                                 const CommandLine &commandLine,
                                 std::FILE *out) {
  BatchResults results;
  SMXRT_RETURN_IF_ERROR(runOnInput(manifest, forward, commandLine, results));
  std::vector<std::pair<std::string, const smxrt_tensor_t *>> tensors;
  for (size_t index = 0; index < manifest.results.size(); ++index)
    tensors.emplace_back(manifest.results[index].name,
                         results.tensors[index].get());
  SMXRT_RETURN_IF_ERROR(
      writeTensorsFile(commandLine.output, tensors,
                       {{"model", manifest.model},
                        {"batch", std::to_string(manifest.batch)},
                        {"rows", std::to_string(results.rows)},
                        {"chunks", std::to_string(results.chunks)}}));
  std::fprintf(out,
               "wrote %s: %zu results for %lld rows (%lld chunks of %lld)\n",
               commandLine.output.c_str(), manifest.results.size(),
               static_cast<long long>(results.rows),
               static_cast<long long>(results.chunks),
               static_cast<long long>(manifest.batch));
  return nullptr;
}

smxrt_status_t runEvalCommand(const ModelManifest &manifest,
                              smxrt_model_forward_fn_t forward,
                              const CommandLine &commandLine, std::FILE *out) {
  TensorPtr labels;
  SMXRT_RETURN_IF_ERROR(readLabels(commandLine.input, labels));
  BatchResults results;
  SMXRT_RETURN_IF_ERROR(runOnInput(manifest, forward, commandLine, results));
  int64_t padding = results.chunks * manifest.batch - results.rows;
  // Padding rows are routed like any other: the statistics include them.
  std::string text = formatString(
      "model: %s\nrows: %lld in %lld chunks of %lld (%lld padding rows)\n",
      manifest.model.c_str(), static_cast<long long>(results.rows),
      static_cast<long long>(results.chunks),
      static_cast<long long>(manifest.batch), static_cast<long long>(padding));
  SMXRT_RETURN_IF_ERROR(describeRouting(manifest, results, text));
  describeLossTerms(manifest, results, text);
  if (labels)
    SMXRT_RETURN_IF_ERROR(describeAccuracy(manifest, commandLine.input,
                                           labels.get(), results, text));
  std::fputs(text.c_str(), out);
  return nullptr;
}

} // namespace smxrt
