//===- training_data.cpp - Data, tokenizer and inputs of a training run ---===//

#include "training/training_data.h"

#include "training/checkpoint.h"

#include "data/text.h"

#include "file.h"
#include "status_internal.h"
#include "tensor_internal.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <unistd.h>

namespace smxrt {
namespace {

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
        return invalidArgument(formatString(
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
  return invalidArgument("expected " + describe(expected));
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
    return invalidArgument(
        "the model has no 'embeddings.word' parameter, whose rows "
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
      return invalidArgument(formatString(
          "the train step has no '%s' input, which pre-training fills "
          "(compile with smxc --task=pretrain)",
          name));
  if (positions->shape.size() != 2)
    return invalidArgument("the train step's input 'mlm_positions' is " +
                           describe(*positions) + ", expected I32 [batch, P]");
  const int64_t batch = manifest.batch, sequence = manifest.sequence;
  const int64_t slots = positions->shape[1];
  predictions = static_cast<int32_t>(std::min<int64_t>(slots, INT32_MAX));
  if (sequence < 5)
    return invalidArgument(formatString(
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
    return invalidArgument(
        "the train step has no 'labels' input, which fine-tuning "
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
      return invalidArgument(
          "--eval-task needs --task (the training TSV, whose "
          "labels number the classes)");
    if (regression)
      return invalidArgument(
          "the model's labels are F32 (a regression head), but "
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
      return invalidArgument("--text-columns: expected 'A' or 'A,B', got '" +
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

} // namespace smxrt
