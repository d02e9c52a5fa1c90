//===- training_setup.cpp - What train, finetune and eval share -----------===//

#include "training/training_setup.h"

#include "data/text.h"

#include "file.h"
#include "status_internal.h"
#include "tensor_internal.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fnmatch.h>
#include <set>
#include <type_traits>
#include <unistd.h>

namespace smxrt {
namespace {

smxrt_status_t invalid(const std::string &message) {
  return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, message);
}

std::string describe(const TensorSpec &spec) {
  return formatString(
      "%s %s", smxrt_dtype_name(spec.dtype),
      formatShape(spec.shape.data(), spec.shape.size()).c_str());
}

/// Checks the inputs of the train step and of the forward function against
/// the names the data pipeline fills, `expected` (name -> checker).
smxrt_status_t
checkInputs(const ModelManifest &manifest, const char *what,
            const std::vector<std::string> &names,
            const std::function<smxrt_status_t(const ArgumentSpec &)> &check) {
  std::string list;
  for (const std::string &name : names)
    list += (list.empty() ? "" : ", ") + name;
  auto known = [&](const ArgumentSpec &input) {
    return std::find(names.begin(), names.end(), input.name) != names.end() ||
           input.name == stepInputName ||
           input.name == peakLearningRateInputName ||
           input.name == warmupStepsInputName ||
           input.name == totalStepsInputName;
  };
  for (const std::vector<ArgumentSpec> *arguments :
       {&manifest.trainStep.arguments, &manifest.arguments}) {
    const char *function =
        arguments == &manifest.arguments ? "forward function" : "train step";
    for (const ArgumentSpec &input : *arguments) {
      if (input.role != ArgumentRole::Input)
        continue;
      if (!known(input))
        return invalid(formatString(
            "the %s takes the input '%s', which %s does not supply (it "
            "fills %s)",
            function, input.name.c_str(), what, list.c_str()));
      if (input.name == stepInputName ||
          input.name == peakLearningRateInputName ||
          input.name == warmupStepsInputName ||
          input.name == totalStepsInputName)
        continue;
      SMXRT_RETURN_IF_ERROR(annotateStatus(
          check(input),
          formatString("the %s's input '%s' is %s: ", function,
                       input.name.c_str(), describe(input).c_str())));
    }
  }
  return nullptr;
}

smxrt_status_t expectType(const ArgumentSpec &input, smxrt_dtype_t dtype,
                          std::vector<int64_t> shape) {
  if (input.dtype == dtype && input.shape == shape)
    return nullptr;
  TensorSpec expected;
  expected.dtype = dtype;
  expected.shape = std::move(shape);
  return invalid("expected " + describe(expected));
}

/// The temporary directory for a tokenizer that is not kept.
smxrt_status_t makeTemporaryDirectory(std::string &path) {
  const char *base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base && *base ? base : "/tmp") + "/smx-tokenizer-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (!::mkdtemp(buffer.data()))
    return makeStatusf(SMXRT_STATUS_IO_ERROR, "%s: cannot create: %s",
                       pattern.c_str(), std::strerror(errno));
  path = buffer.data();
  return nullptr;
}

/// SIGINT or SIGTERM received during the loop; 0 if none.
volatile std::sig_atomic_t interruptSignal = 0;

extern "C" void onInterrupt(int signal) { interruptSignal = signal; }

/// Catches SIGINT and SIGTERM once (a second one acts as usual) while a
/// training loop runs, so that it can checkpoint and stop between steps.
class InterruptGuard {
public:
  InterruptGuard() {
    interruptSignal = 0;
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_handler = onInterrupt;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;
    ::sigaction(SIGINT, &action, &previousInterrupt);
    ::sigaction(SIGTERM, &action, &previousTerminate);
  }
  ~InterruptGuard() {
    ::sigaction(SIGINT, &previousInterrupt, nullptr);
    ::sigaction(SIGTERM, &previousTerminate, nullptr);
  }

private:
  struct sigaction previousInterrupt, previousTerminate;
};

const char *describeNonFinite(float value) {
  return std::isnan(value) ? "NaN" : value > 0 ? "inf" : "-inf";
}

} // namespace

smxrt_status_t readCorpusSplit(const std::string &path, CorpusSplit &split) {
  SMXRT_RETURN_IF_ERROR(data::readCorpus(path, split.corpus));
  split.train.clear();
  split.heldOut.clear();
  for (const data::Document &document : split.corpus.documents)
    (data::isHeldOut(document.text) ? split.heldOut : split.train)
        .push_back(document.text);
  if (split.train.empty())
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: all %zu documents are held out for evaluation; "
                       "there is nothing to train on",
                       path.c_str(), split.corpus.documents.size());
  return nullptr;
}

std::string tokenizerHash(const data::Tokenizer &tokenizer) {
  return formatString("%016llx", static_cast<unsigned long long>(
                                     data::fnv1a64(tokenizer.serialized())));
}

smxrt_status_t vocabularyLimit(const ModelManifest &manifest, int32_t &limit) {
  const ArgumentSpec *word = manifest.findArgument("embeddings.word");
  if (!word || word->role != ArgumentRole::Parameter || word->shape.empty())
    return invalid("the model has no 'embeddings.word' parameter, whose rows "
                   "give the vocabulary size a tokenizer may have");
  limit = static_cast<int32_t>(std::min<int64_t>(word->shape[0], INT32_MAX));
  return nullptr;
}

smxrt_status_t setUpTokenizer(const TokenizerRequest &request,
                              std::unique_ptr<data::Tokenizer> &tokenizer,
                              std::string &report) {
  const std::string defaultPath =
      request.checkpointDirectory.empty()
          ? std::string()
          : joinPath(request.checkpointDirectory, tokenizerFileName);
  std::string path = !request.explicitPath.empty() ? request.explicitPath
                     : !request.sourcePath.empty() ? request.sourcePath
                                                   : defaultPath;
  if (!path.empty() && pathExists(path)) {
    SMXRT_RETURN_IF_ERROR(data::Tokenizer::load(path, tokenizer));
    report = formatString("tokenizer: %s (%d pieces)", path.c_str(),
                          tokenizer->vocabSize());
  } else {
    if (!request.mayTrain)
      return makeStatusf(
          SMXRT_STATUS_NOT_FOUND,
          "no tokenizer: pass --tokenizer (the %s of the "
          "training run's checkpoint directory)%s",
          tokenizerFileName,
          path.empty() ? "" : (" (" + path + " does not exist)").c_str());
    std::string temporary;
    if (path.empty()) {
      SMXRT_RETURN_IF_ERROR(makeTemporaryDirectory(temporary));
    } else {
      std::string parent = std::filesystem::path(path).parent_path().string();
      if (!parent.empty())
        SMXRT_RETURN_IF_ERROR(makeDirectories(parent));
    }
    std::string target =
        temporary.empty() ? path : joinPath(temporary, tokenizerFileName);
    std::vector<std::string_view> texts = request.trainingTexts();
    auto start = std::chrono::steady_clock::now();
    smxrt_status_t status = data::Tokenizer::train(
        texts, request.vocabularyLimit, target, tokenizer);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (!temporary.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(temporary, ignored);
    }
    SMXRT_RETURN_IF_ERROR(annotateStatus(
        status, formatString("training a tokenizer of at most %d pieces: ",
                             request.vocabularyLimit)));
    report = formatString(
        "tokenizer: trained %d pieces (at most %d) on %zu texts in %.1f s; %s",
        tokenizer->vocabSize(), request.vocabularyLimit, texts.size(), seconds,
        temporary.empty() ? ("saved to " + path).c_str()
                          : "not saved (no --ckpt or --tokenizer)");
  }
  if (tokenizer->vocabSize() > request.vocabularyLimit)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "the tokenizer %s has %d pieces, but the model's "
                       "embeddings.word has only %d rows",
                       path.c_str(), tokenizer->vocabSize(),
                       request.vocabularyLimit);
  // Keep a copy with the checkpoints, so that they are self-contained.
  if (!defaultPath.empty() && path != defaultPath) {
    if (pathExists(defaultPath)) {
      std::string existing;
      SMXRT_RETURN_IF_ERROR(data::readWholeFile(defaultPath, existing));
      if (existing != tokenizer->serialized())
        return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                           "%s is another tokenizer than %s; use another "
                           "--ckpt directory",
                           defaultPath.c_str(), path.c_str());
    } else {
      SMXRT_RETURN_IF_ERROR(makeDirectories(request.checkpointDirectory));
      const std::string &serialized = tokenizer->serialized();
      SMXRT_RETURN_IF_ERROR(
          writeFileAtomically(defaultPath, [&](FileSink &sink) {
            return sink.write(serialized.data(), serialized.size());
          }));
      report += ", copied to " + defaultPath;
    }
  }
  return nullptr;
}

smxrt_status_t checkPretrainInputs(const ModelManifest &manifest,
                                   int32_t &predictions) {
  const ArgumentSpec *positions =
      manifest.trainStep.findArgument("mlm_positions");
  for (const char *name : {"mlm_positions", "mlm_labels", "mlm_weights"})
    if (!manifest.trainStep.findArgument(name))
      return invalid(formatString(
          "the train step has no '%s' input, which pre-training fills "
          "(compile with smxc --task=pretrain)",
          name));
  if (positions->shape.size() != 2)
    return invalid("the train step's input 'mlm_positions' is " +
                   describe(*positions) + ", expected I32 [batch, P]");
  const int64_t batch = manifest.batch, sequence = manifest.sequence;
  const int64_t slots = positions->shape[1];
  predictions = static_cast<int32_t>(std::min<int64_t>(slots, INT32_MAX));
  if (sequence < 5)
    return invalid(formatString(
        "pre-training needs a compiled sequence of at least 5 tokens ([CLS] "
        "a [SEP] b [SEP]), not %lld",
        static_cast<long long>(sequence)));
  return checkInputs(
      manifest, "pre-training",
      {"input_ids", "type_ids", "mlm_positions", "mlm_labels", "mlm_weights",
       "order_labels"},
      [&](const ArgumentSpec &input) -> smxrt_status_t {
        if (input.name == "input_ids" || input.name == "type_ids")
          return expectType(input, SMXRT_DTYPE_I32, {batch, sequence});
        if (input.name == "mlm_weights")
          return expectType(input, SMXRT_DTYPE_F32, {batch, slots});
        if (input.name == "order_labels")
          return expectType(input, SMXRT_DTYPE_I32, {batch});
        return expectType(input, SMXRT_DTYPE_I32, {batch, slots});
      });
}

smxrt_status_t checkFinetuneInputs(const ModelManifest &manifest,
                                   data::LabelKind &labelKind) {
  const ArgumentSpec *labels = manifest.trainStep.findArgument("labels");
  if (!labels)
    return invalid("the train step has no 'labels' input, which fine-tuning "
                   "fills (compile with smxc --task=finetune)");
  labelKind = labels->dtype == SMXRT_DTYPE_F32
                  ? data::LabelKind::Regression
                  : data::LabelKind::Classification;
  const int64_t batch = manifest.batch, sequence = manifest.sequence;
  return checkInputs(
      manifest, "fine-tuning", {"input_ids", "type_ids", "labels"},
      [&](const ArgumentSpec &input) -> smxrt_status_t {
        if (input.name == "labels")
          return expectType(input,
                            labelKind == data::LabelKind::Regression
                                ? SMXRT_DTYPE_F32
                                : SMXRT_DTYPE_I32,
                            {batch});
        return expectType(input, SMXRT_DTYPE_I32, {batch, sequence});
      });
}

void makePretrainView(
    const std::function<smxrt_tensor_t *(std::string_view)> &lookup,
    const data::PretrainOptions &options, PretrainView &view) {
  const auto rows = static_cast<size_t>(options.batchSize);
  const size_t tokens = rows * static_cast<size_t>(options.sequenceLength);
  const size_t slots = rows * static_cast<size_t>(options.maxPredictions);
  // The model's buffer of `name`, or scratch memory of `size` elements.
  auto bind = [&](const char *name, auto &scratch, size_t size) {
    using Element = typename std::decay_t<decltype(scratch)>::value_type;
    if (smxrt_tensor_t *tensor = lookup(name))
      return static_cast<Element *>(smxrt_tensor_data(tensor));
    scratch.assign(size, Element());
    return scratch.data();
  };
  view.view.inputIds = bind("input_ids", view.scratchIds, tokens);
  view.view.typeIds = bind("type_ids", view.scratchTypes, tokens);
  view.view.mlmPositions = bind("mlm_positions", view.scratchPositions, slots);
  view.view.mlmLabels = bind("mlm_labels", view.scratchLabels, slots);
  view.view.mlmWeights = bind("mlm_weights", view.scratchWeights, slots);
  view.view.orderLabels = bind("order_labels", view.scratchOrder, rows);
}

void makeTaskView(
    const std::function<smxrt_tensor_t *(std::string_view)> &lookup,
    int64_t batch, int64_t sequence, TaskView &view) {
  auto bind = [&](const char *name, std::vector<int32_t> &scratch,
                  size_t size) -> void * {
    if (smxrt_tensor_t *tensor = lookup(name))
      return smxrt_tensor_data(tensor);
    scratch.assign(size, 0);
    return scratch.data();
  };
  const auto tokens = static_cast<size_t>(batch * sequence);
  view.view.inputIds =
      static_cast<int32_t *>(bind("input_ids", view.scratchIds, tokens));
  view.view.typeIds =
      static_cast<int32_t *>(bind("type_ids", view.scratchTypes, tokens));
  view.view.labels =
      bind("labels", view.scratchLabels, static_cast<size_t>(batch));
}

smxrt_status_t loadTask(const TaskSource &source, data::LabelKind labelKind,
                        data::Task &task, std::string &description) {
  const bool regression = labelKind == data::LabelKind::Regression;
  if (source.taskPath.empty()) {
    if (!source.evalTaskPath.empty())
      return invalid("--eval-task needs --task (the training TSV, whose "
                     "labels number the classes)");
    if (regression)
      return invalid("the model's labels are F32 (a regression head), but "
                     "the default task, the corpus's categories, is a "
                     "classification; pass --task");
    data::Corpus corpus;
    SMXRT_RETURN_IF_ERROR(data::readCorpus(source.corpusPath, corpus));
    data::taskFromCorpus(corpus, task);
    description = formatString(
        "task: the categories of %s: %zu training and %zu held-out "
        "examples, %zu classes",
        source.corpusPath.c_str(), task.train.size(), task.eval.size(),
        task.classNames.size());
    return nullptr;
  }
  data::TsvOptions options;
  options.kind = labelKind;
  if (!source.labelColumn.empty())
    options.labelColumn = source.labelColumn;
  if (!source.textColumns.empty()) {
    size_t comma = source.textColumns.find(',');
    options.textAColumn = source.textColumns.substr(0, comma);
    if (comma != std::string::npos)
      options.textBColumn = source.textColumns.substr(comma + 1);
    if (options.textAColumn.empty() ||
        (comma != std::string::npos && options.textBColumn.empty()) ||
        options.textBColumn.find(',') != std::string::npos)
      return invalid("--text-columns: expected 'A' or 'A,B', got '" +
                     source.textColumns + "'");
  }
  SMXRT_RETURN_IF_ERROR(
      data::readTsvTask(source.taskPath,
                        source.evalTaskPath.empty()
                            ? std::nullopt
                            : std::optional<std::string>(source.evalTaskPath),
                        options, task));
  std::string evaluation = source.evalTaskPath.empty()
                               ? std::string("held-out")
                               : "evaluation (" + source.evalTaskPath + ")";
  description = formatString(
      "task: %s: %zu training and %zu %s examples%s%s", source.taskPath.c_str(),
      task.train.size(), task.eval.size(), evaluation.c_str(),
      regression
          ? ", regression"
          : formatString(", %zu classes", task.classNames.size()).c_str(),
      task.pairs ? ", text pairs" : "");
  return nullptr;
}

int64_t classifierOutputs(const ModelManifest &manifest) {
  if (const ResultSpec *logits = manifest.findResult("classifier_logits"))
    if (logits->shape.size() == 2)
      return logits->shape[1];
  const ArgumentSpec *bias = manifest.findArgument("heads.classifier.bias");
  if (bias && bias->shape.size() == 1)
    return bias->shape[0];
  return 0;
}

smxrt_status_t resolveFreeze(const std::string &list, const TrainState &state,
                             std::vector<bool> &frozen, std::string &report,
                             std::vector<std::string> &notes) {
  frozen.assign(state.parameterCount(), false);
  report.clear();
  if (list.empty())
    return nullptr;
  auto contains = [](const std::string &name, const char *part) {
    return name.find(part) != std::string::npos;
  };
  auto isRouter = [&](const std::string &name) {
    return contains(name, ".router.");
  };
  auto isExpert = [&](const std::string &name) {
    return contains(name, ".experts.");
  };
  struct Group {
    const char *name;
    std::function<bool(const std::string &)> matches;
  };
  const Group groups[] = {
      {"router", isRouter},
      {"experts", isExpert},
      {"attention",
       [&](const std::string &name) {
         return contains(name, ".mixing.query.") ||
                contains(name, ".mixing.key.") ||
                contains(name, ".mixing.value.") ||
                contains(name, ".mixing.output.");
       }},
      {"mixing",
       [&](const std::string &name) { return contains(name, ".mixing."); }},
      {"embeddings",
       [&](const std::string &name) {
         return name.compare(0, 11, "embeddings.") == 0;
       }},
      {"heads",
       [&](const std::string &name) {
         return name.compare(0, 6, "heads.") == 0;
       }},
      {"non-moe",
       [&](const std::string &name) {
         return !isRouter(name) && !isExpert(name);
       }},
  };
  std::set<std::string> seen;
  size_t begin = 0;
  while (begin <= list.size()) {
    size_t end = std::min(list.find(',', begin), list.size());
    std::string item = list.substr(begin, end - begin);
    begin = end + 1;
    while (!item.empty() && item.front() == ' ')
      item.erase(item.begin());
    while (!item.empty() && item.back() == ' ')
      item.pop_back();
    if (item.empty())
      return invalid("--freeze: empty item in '" + list + "'");
    if (!seen.insert(item).second)
      continue;
    const Group *group = nullptr;
    for (const Group &candidate : groups)
      if (item == candidate.name)
        group = &candidate;
    bool isPattern = item.find_first_of("*?[") != std::string::npos ||
                     item.find('.') != std::string::npos;
    if (!group && !isPattern)
      return invalid("--freeze: unknown group '" + item +
                     "' (expected router, experts, attention, mixing, "
                     "embeddings, heads, non-moe, or a parameter name pattern "
                     "such as 'layers.0.*')");
    size_t matched = 0;
    for (size_t index = 0; index < state.parameterCount(); ++index) {
      const std::string &name = state.parameterSpec(index).name;
      bool hit = group ? group->matches(name)
                       : ::fnmatch(item.c_str(), name.c_str(), 0) == 0;
      if (hit) {
        frozen[index] = true;
        ++matched;
      }
    }
    if (matched == 0 && group)
      notes.push_back("note: --freeze " + item +
                      ": the model has no such parameters");
    else if (matched == 0)
      return invalid("--freeze: the pattern '" + item +
                     "' matches no parameter of the model");
  }
  size_t count = 0;
  int64_t elements = 0;
  for (size_t index = 0; index < frozen.size(); ++index)
    if (frozen[index]) {
      ++count;
      elements += state.parameterSpec(index).elementCount;
    }
  report = formatString("frozen (%s): %zu of %zu parameters, %lld elements; "
                        "their updates are discarded after every step",
                        list.c_str(), count, frozen.size(),
                        static_cast<long long>(elements));
  return nullptr;
}

json::Value tensorToJson(const smxrt_tensor_t *tensor) {
  const size_t rank = smxrt_tensor_rank(tensor);
  const int64_t *shape = smxrt_tensor_shape(tensor);
  const void *data = smxrt_tensor_const_data(tensor);
  smxrt_dtype_t dtype = smxrt_tensor_dtype(tensor);
  auto element = [&](int64_t index) -> json::Value {
    switch (dtype) {
    case SMXRT_DTYPE_F32:
      return jsonFloat(static_cast<const float *>(data)[index]);
    case SMXRT_DTYPE_F64: {
      double value = static_cast<const double *>(data)[index];
      return std::isfinite(value) ? json::Value(value) : json::Value(nullptr);
    }
    case SMXRT_DTYPE_I32:
      return json::Value(static_cast<const int32_t *>(data)[index]);
    case SMXRT_DTYPE_I64:
      return json::Value(static_cast<const int64_t *>(data)[index]);
    default:
      return json::Value(nullptr);
    }
  };
  // Builds dimension `axis` of the block starting at element `offset`.
  std::function<json::Value(size_t, int64_t)> build =
      [&](size_t axis, int64_t offset) -> json::Value {
    if (axis == rank)
      return element(offset);
    int64_t stride = 1;
    for (size_t inner = axis + 1; inner < rank; ++inner)
      stride *= shape[inner];
    json::Array array;
    for (int64_t index = 0; index < shape[axis]; ++index)
      array.push_back(build(axis + 1, offset + index * stride));
    return json::Value(std::move(array));
  };
  return build(0, 0);
}

smxrt_status_t runTrainingLoop(const ModelManifest &manifest,
                               smxrt_model_train_step_fn_t trainStep,
                               TrainState &state, LoopSettings &settings,
                               const LoopHooks &hooks, MetricsFile *metrics,
                               std::FILE *out, LoopResult &result) {
  const TrainStepSpec &spec = manifest.trainStep;
  const int64_t end = settings.stopAt > 0
                          ? std::min(settings.stopAt, settings.totalSteps)
                          : settings.totalSteps;
  Progress progress(settings.firstStep, settings.totalSteps, settings.logEvery,
                    settings.tokensPerStep, out);
  InterruptGuard interrupts;
  auto loopStart = std::chrono::steady_clock::now();
  result = LoopResult();
  result.stepsDone = settings.firstStep;

  for (int64_t step = settings.firstStep; step < end; ++step) {
    auto start = std::chrono::steady_clock::now();
    SMXRT_RETURN_IF_ERROR(hooks.fillBatch(step));
    state.run(trainStep, step, settings.peakLearningRate, settings.warmupSteps,
              settings.totalSteps);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    const int64_t done = step + 1;
    const float loss = state.scalarOutput(spec.loss);
    const float gradNorm = state.scalarOutput(spec.gradNorm);
    const float learningRate = state.scalarOutput(spec.learningRate);

    if (metrics && metrics->isOpen()) {
      json::Object line;
      line.emplace_back("step", done);
      if (hooks.annotate)
        hooks.annotate(done, line);
      line.emplace_back("loss", jsonFloat(loss));
      for (size_t index : spec.reported)
        line.emplace_back(spec.results[index].name,
                          tensorToJson(state.output(index)));
      line.emplace_back("learning_rate", jsonFloat(learningRate));
      line.emplace_back("grad_norm", jsonFloat(gradNorm));
      line.emplace_back("step_time_s", seconds);
      line.emplace_back("tokens_per_s",
                        seconds > 0 ? settings.tokensPerStep / seconds : 0.0);
      SMXRT_RETURN_IF_ERROR(metrics->write(line));
    }

    if (!std::isfinite(loss) || !std::isfinite(gradNorm)) {
      std::string last =
          settings.checkpointDirectory.empty() ? "nothing was saved (no --ckpt)"
          : settings.lastCheckpoint.empty()
              ? "no checkpoint was written before it"
              : "the last good checkpoint is " + settings.lastCheckpoint;
      return makeStatusf(
          SMXRT_STATUS_OUT_OF_RANGE, "%s is %s at step %lld; %s",
          std::isfinite(loss) ? "the gradient norm" : "loss",
          describeNonFinite(std::isfinite(loss) ? gradNorm : loss),
          static_cast<long long>(done), last.c_str());
    }

    state.commit();
    result.stepsDone = done;
    result.lastLoss = loss;
    progress.update(done, loss, learningRate, seconds);
    if (hooks.afterStep)
      SMXRT_RETURN_IF_ERROR(hooks.afterStep(done, loss, progress));

    const bool stopping = done == end || interruptSignal != 0;
    if (!settings.checkpointDirectory.empty() &&
        (done % settings.every == 0 || stopping)) {
      std::string written, note;
      SMXRT_RETURN_IF_ERROR(writeCheckpoint(
          settings.checkpointDirectory, done, manifest, state,
          hooks.checkpointMeta(done, loss), settings.keep, written, note));
      settings.lastCheckpoint = written;
      if (metrics && metrics->isOpen())
        SMXRT_RETURN_IF_ERROR(metrics->sync());
      progress.report(formatString("checkpoint: %s (step %lld, loss %.6f)",
                                   written.c_str(),
                                   static_cast<long long>(done), loss));
      if (!note.empty())
        progress.report("note: " + note);
    }
    if (interruptSignal != 0) {
      int signal = interruptSignal;
      progress.finish();
      return makeStatusf(
          SMXRT_STATUS_INTERNAL, "interrupted by %s after step %lld; %s",
          signal == SIGINT ? "SIGINT" : "SIGTERM", static_cast<long long>(done),
          settings.checkpointDirectory.empty()
              ? "nothing was saved (no --ckpt)"
              : ("the checkpoint " + settings.lastCheckpoint +
                 " holds it (continue with --resume)")
                    .c_str());
    }
  }
  progress.finish();
  result.seconds = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - loopStart)
                       .count();
  result.stoppedEarly = result.stepsDone < settings.totalSteps;
  return nullptr;
}

} // namespace smxrt
