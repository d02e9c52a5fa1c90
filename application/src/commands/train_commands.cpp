//===- train_commands.cpp - `train`, `finetune`, `eval` of training objects =//
//
// `train` pre-trains an object compiled with --task=pretrain on masked-LM
// and sentence-order batches of a corpus; `finetune` trains one compiled
// with --task=finetune on a classification or regression task and
// evaluates it after every epoch; `eval` without --input evaluates either
// on the held-out split. docs/runtime.md, "Training", describes the
// commands, the checkpoints and the metrics.
//
//===----------------------------------------------------------------------===//

#include "commands/commands.h"

#include "training/checkpoint.h"
#include "training/held_out_eval.h"
#include "model/parameters.h"
#include "training/train_progress.h"
#include "training/train_state.h"
#include "training/training_setup.h"


#include "handles.h"
#include "status_internal.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace smxrt {
namespace {

smxrt_status_t invalid(const std::string &message) {
  return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, message);
}

std::string absolutePath(const std::string &path);

/// The checks every training command makes before anything else.
smxrt_status_t checkTrainingObject(const ModelManifest &manifest,
                                   smxrt_model_train_step_fn_t trainStep,
                                   const char *command, const char *task) {
  if (manifest.task.empty())
    return invalid(formatString(
        "'%s' needs a model compiled for training (smxc --task=%s); this one "
        "was compiled for inference",
        command, task));
  if (manifest.task != task)
    return invalid(formatString(
        "'%s' needs a model compiled with smxc --task=%s; this one was "
        "compiled for '%s'%s",
        command, task, manifest.task.c_str(),
        manifest.task == "pretrain" ? " (use 'train')" : " (use 'finetune')"));
  if (!manifest.hasTrainStep)
    return invalid("the model's manifest has no entry_points.train_step");
  if (!trainStep)
    return invalid("the manifest lists entry_points.train_step, but the model "
                   "object does not export smx_model_train_step");
  return nullptr;
}

smxrt_status_t checkBatch(const ModelManifest &manifest,
                          const CommandLine &commandLine) {
  if (commandLine.has("--batch") &&
      static_cast<int64_t>(commandLine.batch) != manifest.batch)
    return invalid(formatString(
        "--batch %llu: the model was compiled for batch %lld; recompile with "
        "smxc --batch %llu to train with that batch",
        static_cast<unsigned long long>(commandLine.batch),
        static_cast<long long>(manifest.batch),
        static_cast<unsigned long long>(commandLine.batch)));
  return nullptr;
}

/// The checkpoint a run resumes from, or nothing for a fresh run.
struct ResumePoint {
  bool resuming = false;
  std::string stepDirectory;
  json::Value meta;
  int64_t step = 0;
};

/// Locks the checkpoint directory (if any) and finds the checkpoint to
/// resume from; a fresh run refuses a directory that holds checkpoints.
smxrt_status_t findResumePoint(const ModelManifest &manifest,
                               const CommandLine &commandLine,
                               FileDescriptor &lock, ResumePoint &point) {
  const std::string &directory = commandLine.ckpt;
  if (!directory.empty() && (!commandLine.resume || isDirectory(directory)))
    SMXRT_RETURN_IF_ERROR(
        lockCheckpointDirectory(directory, commandLine.resume, lock));
  if (!commandLine.resume) {
    if (directory.empty())
      return nullptr;
    std::string latest;
    bool hasLatest = false;
    StatusPtr status(findLatestCheckpoint(directory, latest, hasLatest));
    std::vector<std::pair<int64_t, std::string>> existing =
        listCheckpoints(directory);
    if (hasLatest || !existing.empty())
      return invalid(formatString(
          "%s already holds checkpoints (%s); continue with --resume, or "
          "choose another --ckpt directory",
          directory.c_str(),
          hasLatest && !status ? ("latest: " + latest).c_str()
          : existing.empty()   ? "a 'latest' file"
                               : (joinPath(directory, existing.back().second) +
                                (existing.size() > 1 ? ", ..." : ""))
                                   .c_str()));
    return nullptr;
  }
  if (directory.empty())
    return invalid("--resume needs --ckpt DIR, the checkpoint directory");
  if (commandLine.has("--weights") || commandLine.has("--init"))
    return invalid(formatString(
        "%s and --resume exclude each other: resuming loads the parameters "
        "from the checkpoint",
        commandLine.has("--weights") ? "--weights" : "--init"));
  bool hasLatest = false;
  SMXRT_RETURN_IF_ERROR(annotateStatus(
      findLatestCheckpoint(directory, point.stepDirectory, hasLatest),
      "cannot resume: "));
  if (!hasLatest)
    return makeStatusf(
        SMXRT_STATUS_NOT_FOUND, "cannot resume: %s holds no checkpoint (no %s)",
        directory.c_str(), joinPath(directory, "latest").c_str());
  SMXRT_RETURN_IF_ERROR(annotateStatus(
      readCheckpointMeta(point.stepDirectory, point.meta), "cannot resume: "));
  const json::Value *hash = point.meta.find("manifest_hash");
  if (!hash || !hash->isString() || hash->getString() != manifestHash(manifest))
    return makeStatusf(
        SMXRT_STATUS_INVALID_ARGUMENT,
        "cannot resume: %s was written by another model (manifest hash %s; "
        "this model's is %s)",
        point.stepDirectory.c_str(),
        hash && hash->isString() ? hash->getString().c_str() : "missing",
        manifestHash(manifest).c_str());
  const json::Value *task = point.meta.find("task");
  if (!task || !task->isString() || task->getString() != manifest.task)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "cannot resume: %s is not a '%s' checkpoint",
                       point.stepDirectory.c_str(), manifest.task.c_str());
  point.resuming = true;
  point.step = point.meta.find("step")->getInteger();
  return nullptr;
}

/// Settings of a run: the command line's, else the checkpoint's when
/// resuming, else the defaults. A setting given again that differs from the
/// checkpoint's is kept, with a note (the run then no longer repeats the
/// original one exactly).
class SettingChooser {
public:
  SettingChooser(const CommandLine &commandLine, const ResumePoint &point)
      : commandLine(commandLine), point(point) {}

  int64_t integer(const char *option, uint64_t given, const char *key,
                  int64_t fallback) {
    const json::Value *saved = savedValue(key);
    if (commandLine.has(option)) {
      auto value = static_cast<int64_t>(given);
      if (saved && saved->isInteger() && saved->getInteger() != value)
        differs(option, std::to_string(value),
                std::to_string(saved->getInteger()));
      return value;
    }
    return saved && saved->isInteger() ? saved->getInteger() : fallback;
  }

  double number(const char *option, double given, const char *key,
                double fallback) {
    const json::Value *saved = savedValue(key);
    if (commandLine.has(option)) {
      if (saved && saved->isNumber() && saved->getNumber() != given)
        differs(option, formatString("%g", given),
                formatString("%g", saved->getNumber()));
      return given;
    }
    return saved && saved->isNumber() ? saved->getNumber() : fallback;
  }

  /// Paths are compared as absolute paths, as meta.json stores them.
  std::string string(const char *option, const std::string &given,
                     const char *key, const std::string &fallback,
                     bool isPath = false) {
    const json::Value *saved = savedValue(key);
    if (commandLine.has(option)) {
      if (saved && saved->isString() &&
          saved->getString() != (isPath ? absolutePath(given) : given))
        differs(option, given, saved->getString());
      return given;
    }
    return saved && saved->isString() ? saved->getString() : fallback;
  }

  std::vector<std::string> notes;

private:
  const json::Value *savedValue(const char *key) const {
    return point.resuming ? point.meta.find(key) : nullptr;
  }
  void differs(const char *option, const std::string &value,
               const std::string &saved) {
    notes.push_back(formatString("note: %s %s differs from the checkpoint's "
                                 "%s",
                                 option, value.c_str(), saved.c_str()));
  }

  const CommandLine &commandLine;
  const ResumePoint &point;
};

/// The parameters of a fresh run: --weights (every parameter), --init (by
/// name), or the seeded init.
smxrt_status_t initializeState(TrainState &state, uint64_t seed,
                               const std::string &weightsPath, bool partial,
                               std::string &report) {
  state.initializeParameters(seed);
  if (weightsPath.empty()) {
    report = formatString("parameters: %zu, initialized from --seed %llu",
                          state.parameterCount(),
                          static_cast<unsigned long long>(seed));
    return nullptr;
  }
  WeightsSource source;
  SMXRT_RETURN_IF_ERROR(resolveWeightsSource(weightsPath, source));
  SafetensorsFilePtr file;
  SMXRT_RETURN_IF_ERROR(openSafetensors(source.weightsFile, file));
  std::vector<std::string> missing;
  size_t loaded = 0;
  for (size_t index = 0; index < state.parameterCount(); ++index) {
    const ArgumentSpec &parameter = state.parameterSpec(index);
    bool found = false;
    SMXRT_RETURN_IF_ERROR(readParameterTensor(
        file.get(), source.weightsFile, parameter.name, parameter,
        state.parameter(index), /*required=*/!partial, found));
    if (found)
      ++loaded;
    else
      missing.push_back(parameter.name);
  }
  if (loaded == 0)
    return makeStatusf(SMXRT_STATUS_NOT_FOUND,
                       "%s holds none of the model's %zu parameters",
                       source.weightsFile.c_str(), state.parameterCount());
  size_t unused = smxrt_safetensors_tensor_count(file.get()) - loaded;
  report = formatString("parameters: %zu of %zu loaded from %s", loaded,
                        state.parameterCount(), source.weightsFile.c_str());
  if (unused > 0)
    report += formatString(" (%zu of its tensors are not parameters of this "
                           "model)",
                           unused);
  if (!missing.empty()) {
    report +=
        formatString("; %zu keep their init from --seed %llu:", missing.size(),
                     static_cast<unsigned long long>(seed));
    for (const std::string &name : missing)
      report += " " + name;
  }
  return nullptr;
}

/// The tokenizer of the checkpoint that --init or --weights names, if any.
std::string sourceTokenizer(const std::string &weightsPath) {
  if (weightsPath.empty())
    return "";
  WeightsSource source;
  StatusPtr status(resolveWeightsSource(weightsPath, source));
  if (status || source.checkpointRoot.empty())
    return "";
  std::string path = joinPath(source.checkpointRoot, tokenizerFileName);
  return pathExists(path) ? path : "";
}

/// Checks, when resuming, that the tokenizer is the checkpoint's.
smxrt_status_t checkTokenizerHash(const ResumePoint &point,
                                  const data::Tokenizer &tokenizer) {
  if (!point.resuming)
    return nullptr;
  const json::Value *hash = point.meta.find("tokenizer_hash");
  if (hash && hash->isString() && hash->getString() != tokenizerHash(tokenizer))
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "cannot resume: the tokenizer differs from the one "
                       "%s was trained with (hash %s, expected %s)",
                       point.stepDirectory.c_str(),
                       tokenizerHash(tokenizer).c_str(),
                       hash->getString().c_str());
  return nullptr;
}

/// meta.json members common to both tasks.
json::Object commonMeta(const ModelManifest &manifest, int64_t step,
                        uint64_t seed, double learningRate, int64_t warmup,
                        int64_t totalSteps, int64_t every, uint64_t keep,
                        const std::string &freeze,
                        const data::Tokenizer &tokenizer, float loss) {
  json::Object meta;
  meta.emplace_back("format", checkpointFormat);
  meta.emplace_back("version", checkpointVersion);
  meta.emplace_back("step", step);
  meta.emplace_back("task", manifest.task);
  meta.emplace_back("model", manifest.model);
  meta.emplace_back("manifest_hash", manifestHash(manifest));
  meta.emplace_back("batch", manifest.batch);
  meta.emplace_back("sequence", manifest.sequence);
  meta.emplace_back("seed", seed);
  meta.emplace_back("learning_rate", learningRate);
  meta.emplace_back("warmup_steps", warmup);
  meta.emplace_back("total_steps", totalSteps);
  meta.emplace_back("every", every);
  meta.emplace_back("keep", keep);
  meta.emplace_back("freeze", freeze);
  meta.emplace_back("tokenizer_hash", tokenizerHash(tokenizer));
  meta.emplace_back("loss", jsonFloat(loss));
  return meta;
}

std::string metricsPath(const CommandLine &commandLine) {
  if (commandLine.has("--metrics"))
    return commandLine.metrics;
  return commandLine.ckpt.empty() ? ""
                                  : joinPath(commandLine.ckpt, "metrics.jsonl");
}

/// A path as stored in meta.json: absolute, so that a resumed run finds
/// it from any directory.
std::string absolutePath(const std::string &path) {
  if (path.empty())
    return path;
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  return error ? path : absolute.lexically_normal().string();
}

smxrt_status_t checkStopAt(const CommandLine &commandLine, int64_t step) {
  if (commandLine.has("--stop-at") &&
      static_cast<int64_t>(commandLine.stopAt) <= step)
    return invalid(
        formatString("--stop-at %llu: the run is already at step "
                     "%lld",
                     static_cast<unsigned long long>(commandLine.stopAt),
                     static_cast<long long>(step)));
  return nullptr;
}

smxrt_status_t checkSchedule(int64_t steps, int64_t warmup, double lr,
                             uint64_t keep, int64_t every) {
  if (steps < 1)
    return invalid("--steps must be at least 1");
  if (warmup > steps)
    return invalid(formatString("--warmup %lld exceeds the %lld steps",
                                static_cast<long long>(warmup),
                                static_cast<long long>(steps)));
  if (!(lr > 0))
    return invalid(
        formatString("--lr %g: the learning rate must be positive", lr));
  if (keep < 1)
    return invalid("--keep must be at least 1");
  if (every < 1)
    return invalid("--every must be at least 1");
  return nullptr;
}

void printNotes(const std::vector<std::string> &notes, std::FILE *out) {
  for (const std::string &note : notes)
    std::fprintf(out, "%s\n", note.c_str());
}

std::string describeLoopEnd(const LoopResult &result, int64_t firstStep,
                            int64_t totalSteps, int64_t tokensPerStep,
                            const LoopSettings &settings) {
  int64_t ran = result.stepsDone - firstStep;
  std::string text = formatString(
      "%s: steps %lld..%lld of %lld in %s (%.0f tokens/s), last loss %.6f",
      result.stoppedEarly ? "stopped (--stop-at)" : "done",
      static_cast<long long>(firstStep + 1),
      static_cast<long long>(result.stepsDone),
      static_cast<long long>(totalSteps),
      formatDuration(result.seconds).c_str(),
      result.seconds > 0 ? ran * tokensPerStep / result.seconds : 0.0,
      result.lastLoss);
  if (!settings.lastCheckpoint.empty())
    text += "; checkpoint " + settings.lastCheckpoint;
  if (result.stoppedEarly)
    text += " (continue with --resume)";
  return text;
}

/// Opens the metrics file of a run (dropping the lines after the resumed
/// step), creating the checkpoint directory it may live in.
smxrt_status_t openMetrics(const CommandLine &commandLine,
                           const ResumePoint &point,
                           const std::string &metricsFile,
                           MetricsFile &metrics) {
  if (metricsFile.empty())
    return nullptr;
  if (!commandLine.ckpt.empty())
    SMXRT_RETURN_IF_ERROR(makeDirectories(commandLine.ckpt));
  return metrics.open(metricsFile, point.resuming ? point.step : -1);
}

/// The settings of the training loop shared by `train` and `finetune`.
LoopSettings makeLoopSettings(const ModelManifest &manifest,
                              const CommandLine &commandLine,
                              const ResumePoint &point, int64_t steps,
                              int64_t warmup, double learningRate,
                              int64_t every, uint64_t keep) {
  LoopSettings settings;
  settings.firstStep = point.step;
  settings.totalSteps = steps;
  settings.warmupSteps = warmup;
  settings.peakLearningRate = static_cast<float>(learningRate);
  settings.stopAt = static_cast<int64_t>(commandLine.stopAt);
  settings.every = every;
  settings.keep = keep;
  settings.logEvery = static_cast<int64_t>(commandLine.logEvery);
  settings.tokensPerStep = manifest.batch * manifest.sequence;
  settings.checkpointDirectory = commandLine.ckpt;
  settings.lastCheckpoint = point.stepDirectory;
  return settings;
}

/// "; checkpoints every N steps in DIR; metrics to FILE" for the report.
std::string describeSaving(const CommandLine &commandLine, int64_t every,
                           const std::string &metricsFile) {
  std::string text =
      commandLine.ckpt.empty()
          ? "; no --ckpt: nothing is saved"
          : formatString("; checkpoints every %lld steps in %s",
                         static_cast<long long>(every),
                         commandLine.ckpt.c_str());
  if (!metricsFile.empty())
    text += "; metrics to " + metricsFile;
  return text;
}

/// Writes the train step's tensor inputs (the batch the last fill put in
/// the input buffers) to `path`, for comparing a step with a reference.
smxrt_status_t writeBatch(const std::string &path,
                          const ModelManifest &manifest,
                          const TrainState &state) {
  smxrt_safetensors_writer_t *rawWriter = nullptr;
  SMXRT_RETURN_IF_ERROR(smxrt_safetensors_writer_create(&rawWriter));
  SafetensorsWriterPtr writer(rawWriter);
  for (size_t index : manifest.trainStep.inputs) {
    const ArgumentSpec &input = manifest.trainStep.arguments[index];
    if (input.shape.empty())
      continue;
    if (smxrt_tensor_t *buffer = state.input(input.name))
      SMXRT_RETURN_IF_ERROR(smxrt_safetensors_writer_add_tensor(
          writer.get(), input.name.c_str(), buffer));
  }
  return smxrt_safetensors_writer_write(writer.get(), path.c_str());
}

} // namespace

//===--- train ------------------------------------------------------------===//

smxrt_status_t runTrainCommand(const ModelManifest &manifest,
                               smxrt_model_train_step_fn_t trainStep,
                               const CommandLine &commandLine, std::FILE *out) {
  SMXRT_RETURN_IF_ERROR(
      checkTrainingObject(manifest, trainStep, "train", "pretrain"));
  SMXRT_RETURN_IF_ERROR(checkBatch(manifest, commandLine));
  int32_t predictions = 0;
  SMXRT_RETURN_IF_ERROR(checkPretrainInputs(manifest, predictions));
  int32_t vocabulary = 0;
  SMXRT_RETURN_IF_ERROR(vocabularyLimit(manifest, vocabulary));
  ResumePoint point;
  FileDescriptor lock;
  SMXRT_RETURN_IF_ERROR(findResumePoint(manifest, commandLine, lock, point));
  if (!point.resuming && !commandLine.has("--steps"))
    return invalid("'train' needs --steps");

  SettingChooser choose(commandLine, point);
  const int64_t steps =
      choose.integer("--steps", commandLine.steps, "total_steps", 0);
  const auto seed = static_cast<uint64_t>(
      choose.integer("--seed", commandLine.seed, "seed", 0));
  const double learningRate =
      choose.number("--lr", commandLine.learningRate, "learning_rate", 1e-4);
  const int64_t warmup =
      choose.integer("--warmup", commandLine.warmup, "warmup_steps",
                     std::max<int64_t>(1, steps / 10));
  const int64_t every = choose.integer("--every", commandLine.every, "every",
                                       std::max<int64_t>(1, steps / 10));
  const auto keep = static_cast<uint64_t>(
      choose.integer("--keep", commandLine.keep, "keep", 3));
  const std::string dataPath = choose.string("--data", commandLine.data, "data",
                                             data::defaultCorpusPath, true);
  const std::string freeze =
      choose.string("--freeze", commandLine.freeze, "freeze", "");
  SMXRT_RETURN_IF_ERROR(
      checkSchedule(steps, warmup, learningRate, keep, every));
  SMXRT_RETURN_IF_ERROR(checkStopAt(commandLine, point.step));

  // The data: a corpus, its split, a tokenizer, the batcher.
  CorpusSplit split;
  SMXRT_RETURN_IF_ERROR(readCorpusSplit(dataPath, split));
  TokenizerRequest request;
  request.explicitPath = commandLine.tokenizer;
  request.sourcePath = sourceTokenizer(commandLine.weights);
  request.checkpointDirectory = commandLine.ckpt;
  request.trainingTexts = [&] { return split.train; };
  request.vocabularyLimit = vocabulary;
  request.mayTrain = !point.resuming;
  std::unique_ptr<data::Tokenizer> tokenizer;
  std::string tokenizerReport;
  SMXRT_RETURN_IF_ERROR(setUpTokenizer(request, tokenizer, tokenizerReport));
  SMXRT_RETURN_IF_ERROR(checkTokenizerHash(point, *tokenizer));
  std::vector<std::vector<int32_t>> documents;
  SMXRT_RETURN_IF_ERROR(tokenizer->encodeAll(split.train, documents));
  data::PretrainOptions options;
  options.batchSize = static_cast<int32_t>(manifest.batch);
  options.sequenceLength = static_cast<int32_t>(manifest.sequence);
  options.maxPredictions = predictions;
  options.vocabSize = tokenizer->vocabSize();
  options.seed = seed;
  std::unique_ptr<data::PretrainBatcher> batcher;
  SMXRT_RETURN_IF_ERROR(
      data::PretrainBatcher::create(documents, options, batcher));
  documents.clear();

  // The parameters and moments.
  TrainState state;
  SMXRT_RETURN_IF_ERROR(state.allocate(manifest));
  std::string parametersReport;
  if (point.resuming) {
    SMXRT_RETURN_IF_ERROR(annotateStatus(
        loadCheckpointState(point.stepDirectory, state), "cannot resume: "));
    parametersReport = "resumed from " + point.stepDirectory + " (step " +
                       std::to_string(point.step) + ")";
  } else {
    SMXRT_RETURN_IF_ERROR(initializeState(state, seed, commandLine.weights,
                                          /*partial=*/false, parametersReport));
  }
  std::vector<bool> frozen;
  std::string freezeReport;
  SMXRT_RETURN_IF_ERROR(
      resolveFreeze(freeze, state, frozen, freezeReport, choose.notes));
  state.setFrozen(frozen);

  if (point.step >= steps) {
    std::fprintf(out,
                 "%s is at step %lld of %lld: nothing to do (give a larger "
                 "--steps to train further)\n",
                 point.stepDirectory.c_str(),
                 static_cast<long long>(point.step),
                 static_cast<long long>(steps));
    return nullptr;
  }

  MetricsFile metrics;
  std::string metricsFile = metricsPath(commandLine);
  SMXRT_RETURN_IF_ERROR(openMetrics(commandLine, point, metricsFile, metrics));

  std::fprintf(out,
               "model: %s (pre-training), batch %lld x sequence %lld, "
               "%d masked-LM slots\n",
               manifest.model.c_str(), static_cast<long long>(manifest.batch),
               static_cast<long long>(manifest.sequence), predictions);
  std::fprintf(out,
               "data: %s: %zu training documents (%zu tokens), %zu held "
               "out\n",
               dataPath.c_str(), batcher->documentCount(),
               batcher->tokenCount(), split.heldOut.size());
  std::fprintf(out, "%s\n%s\n", tokenizerReport.c_str(),
               parametersReport.c_str());
  if (!freezeReport.empty())
    std::fprintf(out, "%s\n", freezeReport.c_str());
  printNotes(choose.notes, out);
  std::fprintf(
      out,
      "training: steps %lld..%lld, peak learning rate %g, warmup "
      "%lld, seed %llu%s\n",
      static_cast<long long>(point.step + 1), static_cast<long long>(steps),
      learningRate, static_cast<long long>(warmup),
      static_cast<unsigned long long>(seed),
      describeSaving(commandLine, every, metricsFile).c_str());
  std::fflush(out);

  LoopSettings settings =
      makeLoopSettings(manifest, commandLine, point, steps, warmup,
                       learningRate, every, keep);

  PretrainView view;
  makePretrainView([&](std::string_view name) { return state.input(name); },
                   options, view);
  LoopHooks hooks;
  hooks.fillBatch = [&](int64_t step) -> smxrt_status_t {
    batcher->fill(static_cast<uint64_t>(step), view.view);
    if (step == point.step && !commandLine.dumpBatch.empty())
      return writeBatch(commandLine.dumpBatch, manifest, state);
    return nullptr;
  };
  hooks.checkpointMeta = [&](int64_t done, float loss) {
    json::Object meta =
        commonMeta(manifest, done, seed, learningRate, warmup, steps, every,
                   keep, freeze, *tokenizer, loss);
    meta.emplace_back("data", absolutePath(dataPath));
    meta.emplace_back("documents", batcher->documentCount());
    meta.emplace_back("tokens", batcher->tokenCount());
    meta.emplace_back("data_cursor", json::Object{{"step", done}});
    return meta;
  };
  LoopResult result;
  SMXRT_RETURN_IF_ERROR(runTrainingLoop(manifest, trainStep, state, settings,
                                        hooks, &metrics, out, result));
  std::fprintf(out, "%s\n",
               describeLoopEnd(result, point.step, steps,
                               settings.tokensPerStep, settings)
                   .c_str());
  return nullptr;
}

//===--- finetune ---------------------------------------------------------===//

namespace {

/// Runs the forward function over a task's evaluation batches.
smxrt_status_t evaluateTask(const ModelManifest &manifest,
                            HeldOutEvaluator &evaluator,
                            const data::TaskBatcher &batcher,
                            const data::Task &task, int64_t step,
                            EvalSummary &summary) {
  const data::LabelKind kind = task.kind;
  evaluator.setTaskClasses(static_cast<int64_t>(task.classNames.size()));
  TaskView view;
  makeTaskView([&](std::string_view name) { return evaluator.input(name); },
               manifest.batch, manifest.sequence, view);
  evaluator.reset();
  for (size_t index = 0; index < batcher.evalBatches(); ++index) {
    size_t valid = 0;
    SMXRT_RETURN_IF_ERROR(batcher.fillEval(index, view.view, valid));
    // Padding rows: a label the classification loss ignores.
    if (kind == data::LabelKind::Classification)
      for (auto row = static_cast<int64_t>(valid); row < manifest.batch; ++row)
        static_cast<int32_t *>(view.view.labels)[row] = ignoredLabel;
    evaluator.run(step, static_cast<int64_t>(valid));
  }
  summary = evaluator.result();
  return nullptr;
}

json::Object summaryToJson(const EvalSummary &summary) {
  json::Object object;
  object.emplace_back("rows", summary.rows);
  for (const EvalSummary::Term &term : summary.terms)
    object.emplace_back(term.name, std::isfinite(term.mean)
                                       ? json::Value(term.mean)
                                       : json::Value(nullptr));
  if (std::isfinite(summary.loss))
    object.emplace_back("loss", summary.loss);
  if (summary.hasClassification && summary.rows > 0) {
    object.emplace_back("accuracy",
                        static_cast<double>(summary.correct) / summary.rows);
    if (summary.classes == 2) {
      int64_t denominator = 2 * summary.truePositives + summary.falsePositives +
                            summary.falseNegatives;
      object.emplace_back("f1", denominator > 0
                                    ? 2.0 * summary.truePositives / denominator
                                    : 0.0);
    }
  }
  if (summary.hasRegression) {
    double pearson = pearsonCorrelation(summary.predictions, summary.targets);
    double spearman = spearmanCorrelation(summary.predictions, summary.targets);
    object.emplace_back("pearson", std::isfinite(pearson)
                                       ? json::Value(pearson)
                                       : json::Value(nullptr));
    object.emplace_back("spearman", std::isfinite(spearman)
                                        ? json::Value(spearman)
                                        : json::Value(nullptr));
  }
  return object;
}

std::string joinLines(const std::vector<std::string> &lines) {
  std::string text;
  for (const std::string &line : lines)
    text += (text.empty() ? "" : ", ") + line;
  return text;
}

/// "majority baseline: ..." for a classification task with evaluation data.
std::string describeBaseline(const data::Task &task) {
  int32_t majority = 0;
  double fraction = 0;
  StatusPtr status(data::majorityBaseline(task, majority, fraction));
  if (status)
    return "";
  return formatString(
      "majority baseline: %.6f (class '%s', %lld of %zu)", fraction,
      task.classNames[static_cast<size_t>(majority)].c_str(),
      static_cast<long long>(std::llround(fraction * task.eval.size())),
      task.eval.size());
}

smxrt_status_t checkClasses(const ModelManifest &manifest,
                            const data::Task &task) {
  if (task.kind != data::LabelKind::Classification)
    return nullptr;
  int64_t outputs = classifierOutputs(manifest);
  if (outputs > 0 && static_cast<int64_t>(task.classNames.size()) > outputs)
    return invalid(formatString(
        "the task has %zu classes, but the model's classifier has %lld "
        "outputs; set heads.classifier's outputs to %zu in the spec",
        task.classNames.size(), static_cast<long long>(outputs),
        task.classNames.size()));
  return nullptr;
}

} // namespace

smxrt_status_t runFinetuneCommand(const ModelManifest &manifest,
                                  smxrt_model_forward_fn_t forward,
                                  smxrt_model_train_step_fn_t trainStep,
                                  const CommandLine &commandLine,
                                  std::FILE *out) {
  SMXRT_RETURN_IF_ERROR(
      checkTrainingObject(manifest, trainStep, "finetune", "finetune"));
  SMXRT_RETURN_IF_ERROR(checkBatch(manifest, commandLine));
  data::LabelKind labelKind = data::LabelKind::Classification;
  SMXRT_RETURN_IF_ERROR(checkFinetuneInputs(manifest, labelKind));
  int32_t vocabulary = 0;
  SMXRT_RETURN_IF_ERROR(vocabularyLimit(manifest, vocabulary));
  ResumePoint point;
  FileDescriptor lock;
  SMXRT_RETURN_IF_ERROR(findResumePoint(manifest, commandLine, lock, point));

  SettingChooser choose(commandLine, point);
  const auto seed = static_cast<uint64_t>(
      choose.integer("--seed", commandLine.seed, "seed", 0));
  const int64_t epochs =
      choose.integer("--epochs", commandLine.epochs, "epochs", 3);
  const double learningRate =
      choose.number("--lr", commandLine.learningRate, "learning_rate", 1e-4);
  const auto keep = static_cast<uint64_t>(
      choose.integer("--keep", commandLine.keep, "keep", 3));
  const std::string dataPath = choose.string("--data", commandLine.data, "data",
                                             data::defaultCorpusPath, true);
  const std::string taskPath =
      choose.string("--task", commandLine.task, "task_file", "", true);
  const std::string evalTaskPath = choose.string(
      "--eval-task", commandLine.evalTask, "eval_task_file", "", true);
  const std::string freeze =
      choose.string("--freeze", commandLine.freeze, "freeze", "");
  const std::string initPath =
      choose.string("--init", commandLine.init, "init", "", true);
  TaskSource taskSource;
  taskSource.taskPath = taskPath;
  taskSource.evalTaskPath = evalTaskPath;
  taskSource.corpusPath = dataPath;
  taskSource.labelColumn = choose.string(
      "--label-column", commandLine.labelColumn, "label_column", "");
  taskSource.textColumns = choose.string(
      "--text-columns", commandLine.textColumns, "text_columns", "");
  if (epochs < 1)
    return invalid("--epochs must be at least 1");

  data::Task task;
  std::string taskReport;
  SMXRT_RETURN_IF_ERROR(loadTask(taskSource, labelKind, task, taskReport));
  SMXRT_RETURN_IF_ERROR(checkClasses(manifest, task));

  TokenizerRequest request;
  request.explicitPath = commandLine.tokenizer;
  request.sourcePath = point.resuming ? "" : sourceTokenizer(initPath);
  request.checkpointDirectory = commandLine.ckpt;
  request.trainingTexts = [&] {
    std::vector<std::string_view> texts;
    for (const data::Example &example : task.train) {
      texts.push_back(example.textA);
      if (task.pairs)
        texts.push_back(example.textB);
    }
    return texts;
  };
  request.vocabularyLimit = vocabulary;
  request.mayTrain = !point.resuming;
  std::unique_ptr<data::Tokenizer> tokenizer;
  std::string tokenizerReport;
  SMXRT_RETURN_IF_ERROR(setUpTokenizer(request, tokenizer, tokenizerReport));
  SMXRT_RETURN_IF_ERROR(checkTokenizerHash(point, *tokenizer));
  std::unique_ptr<data::TaskBatcher> batcher;
  SMXRT_RETURN_IF_ERROR(data::TaskBatcher::create(
      task, *tokenizer, static_cast<int32_t>(manifest.batch),
      static_cast<int32_t>(manifest.sequence), seed, batcher));
  const auto perEpoch = static_cast<int64_t>(batcher->trainBatches());
  const int64_t steps = epochs * perEpoch;
  const int64_t warmup =
      choose.integer("--warmup", commandLine.warmup, "warmup_steps",
                     std::max<int64_t>(1, steps / 10));
  const int64_t every = choose.integer("--every", commandLine.every, "every",
                                       std::max<int64_t>(1, steps / 10));
  SMXRT_RETURN_IF_ERROR(
      checkSchedule(steps, warmup, learningRate, keep, every));
  SMXRT_RETURN_IF_ERROR(checkStopAt(commandLine, point.step));
  if (point.resuming) {
    const json::Value *saved = point.meta.find("total_steps");
    if (saved && saved->isInteger() && saved->getInteger() != steps)
      choose.notes.push_back(formatString(
          "note: the run now has %lld steps (%lld epochs of %lld), the "
          "checkpoint's had %lld",
          static_cast<long long>(steps), static_cast<long long>(epochs),
          static_cast<long long>(perEpoch),
          static_cast<long long>(saved->getInteger())));
  }

  TrainState state;
  SMXRT_RETURN_IF_ERROR(state.allocate(manifest));
  std::string parametersReport;
  if (point.resuming) {
    SMXRT_RETURN_IF_ERROR(annotateStatus(
        loadCheckpointState(point.stepDirectory, state), "cannot resume: "));
    parametersReport = "resumed from " + point.stepDirectory + " (step " +
                       std::to_string(point.step) + ")";
  } else {
    SMXRT_RETURN_IF_ERROR(initializeState(state, seed, initPath,
                                          /*partial=*/true, parametersReport));
    if (initPath.empty())
      parametersReport += " (no --init: fine-tuning from scratch)";
  }
  std::vector<bool> frozen;
  std::string freezeReport;
  SMXRT_RETURN_IF_ERROR(
      resolveFreeze(freeze, state, frozen, freezeReport, choose.notes));
  state.setFrozen(frozen);

  HeldOutEvaluator evaluator;
  SMXRT_RETURN_IF_ERROR(
      evaluator.prepare(manifest, forward, /*ownParameters=*/false));

  if (point.step >= steps) {
    std::fprintf(out,
                 "%s is at step %lld of %lld: nothing to do (give a larger "
                 "--epochs to train further)\n",
                 point.stepDirectory.c_str(),
                 static_cast<long long>(point.step),
                 static_cast<long long>(steps));
    return nullptr;
  }

  MetricsFile metrics;
  std::string metricsFile = metricsPath(commandLine);
  SMXRT_RETURN_IF_ERROR(openMetrics(commandLine, point, metricsFile, metrics));

  std::fprintf(out, "model: %s (fine-tuning), batch %lld x sequence %lld\n",
               manifest.model.c_str(), static_cast<long long>(manifest.batch),
               static_cast<long long>(manifest.sequence));
  std::fprintf(out, "%s\n%s\n%s\n", taskReport.c_str(), tokenizerReport.c_str(),
               parametersReport.c_str());
  if (!freezeReport.empty())
    std::fprintf(out, "%s\n", freezeReport.c_str());
  printNotes(choose.notes, out);
  std::string baseline = describeBaseline(task);
  if (!baseline.empty())
    std::fprintf(out, "%s\n", baseline.c_str());
  if (!manifest.findResult("classifier_logits"))
    std::fprintf(out, "note: the model's forward function returns no "
                      "classifier_logits: evaluation reports the loss only\n");
  std::fprintf(
      out,
      "training: %lld epochs of %lld steps (steps %lld..%lld), peak "
      "learning rate %g, warmup %lld, seed %llu%s\n",
      static_cast<long long>(epochs), static_cast<long long>(perEpoch),
      static_cast<long long>(point.step + 1), static_cast<long long>(steps),
      learningRate, static_cast<long long>(warmup),
      static_cast<unsigned long long>(seed),
      describeSaving(commandLine, every, metricsFile).c_str());
  std::fflush(out);

  LoopSettings settings =
      makeLoopSettings(manifest, commandLine, point, steps, warmup,
                       learningRate, every, keep);

  TaskView view;
  makeTaskView([&](std::string_view name) { return state.input(name); },
               manifest.batch, manifest.sequence, view);
  double epochLossSum = 0;
  int64_t epochLossCount = 0;
  LoopHooks hooks;
  hooks.fillBatch = [&](int64_t step) -> smxrt_status_t {
    return batcher->fillTrain(static_cast<uint64_t>(step / perEpoch),
                              static_cast<size_t>(step % perEpoch), view.view);
  };
  hooks.annotate = [&](int64_t done, json::Object &line) {
    line.emplace_back("epoch", (done - 1) / perEpoch + 1);
  };
  hooks.afterStep = [&](int64_t done, float loss,
                        Progress &progress) -> smxrt_status_t {
    epochLossSum += loss;
    ++epochLossCount;
    if (done % perEpoch != 0)
      return nullptr;
    const int64_t epoch = done / perEpoch;
    EvalSummary summary;
    if (batcher->evalBatches() > 0) {
      evaluator.bindParameters(state);
      SMXRT_RETURN_IF_ERROR(
          evaluateTask(manifest, evaluator, *batcher, task, done, summary));
    }
    const double trainLoss =
        epochLossSum / std::max<int64_t>(epochLossCount, 1);
    std::vector<std::string> lines = describeEvalSummary(summary);
    progress.report(formatString(
        "epoch %lld/%lld (step %lld): train loss %.6f%s; held out: %s",
        static_cast<long long>(epoch), static_cast<long long>(epochs),
        static_cast<long long>(done), trainLoss,
        epochLossCount < perEpoch ? " (this run's part of the epoch)" : "",
        lines.empty() ? "no evaluation examples" : joinLines(lines).c_str()));
    if (metrics.isOpen()) {
      json::Object line;
      line.emplace_back("step", done);
      line.emplace_back("epoch", epoch);
      line.emplace_back("train_loss", trainLoss);
      line.emplace_back("eval", summaryToJson(summary));
      SMXRT_RETURN_IF_ERROR(metrics.write(line));
    }
    epochLossSum = 0;
    epochLossCount = 0;
    return nullptr;
  };
  hooks.checkpointMeta = [&](int64_t done, float loss) {
    json::Object meta =
        commonMeta(manifest, done, seed, learningRate, warmup, steps, every,
                   keep, freeze, *tokenizer, loss);
    meta.emplace_back("epochs", epochs);
    meta.emplace_back("steps_per_epoch", perEpoch);
    meta.emplace_back("data", dataPath);
    meta.emplace_back("task_file", taskPath);
    meta.emplace_back("eval_task_file", evalTaskPath);
    meta.emplace_back("label_column", taskSource.labelColumn);
    meta.emplace_back("text_columns", taskSource.textColumns);
    meta.emplace_back("init", initPath);
    meta.emplace_back("data_cursor", json::Object{{"step", done},
                                                  {"epoch", done / perEpoch},
                                                  {"batch", done % perEpoch}});
    return meta;
  };
  LoopResult result;
  SMXRT_RETURN_IF_ERROR(runTrainingLoop(manifest, trainStep, state, settings,
                                        hooks, &metrics, out, result));
  std::fprintf(out, "%s\n",
               describeLoopEnd(result, point.step, steps,
                               settings.tokensPerStep, settings)
                   .c_str());
  return nullptr;
}

//===--- eval of a training object ----------------------------------------===//

smxrt_status_t runTrainingEvalCommand(const ModelManifest &manifest,
                                      smxrt_model_forward_fn_t forward,
                                      const CommandLine &commandLine,
                                      std::FILE *out) {
  // A checkpoint supplies the settings of its run.
  WeightsSource source;
  ResumePoint point;
  if (!commandLine.weights.empty()) {
    SMXRT_RETURN_IF_ERROR(resolveWeightsSource(commandLine.weights, source));
    if (!source.stepDirectory.empty()) {
      SMXRT_RETURN_IF_ERROR(
          readCheckpointMeta(source.stepDirectory, point.meta));
      point.resuming = true; // Only to read the settings.
    }
  }
  SettingChooser choose(commandLine, point);
  const auto seed = static_cast<uint64_t>(
      choose.integer("--seed", commandLine.seed, "seed", 0));
  const std::string dataPath = choose.string("--data", commandLine.data, "data",
                                             data::defaultCorpusPath, true);
  choose.notes.clear(); // Evaluating other data than the run's is the point.

  HeldOutEvaluator evaluator;
  SMXRT_RETURN_IF_ERROR(
      evaluator.prepare(manifest, forward, /*ownParameters=*/true));
  std::string parametersReport;
  if (source.weightsFile.empty()) {
    initializeParameters(manifest, seed, evaluator.ownArguments());
    parametersReport = formatString("parameters: initialized from --seed %llu",
                                    static_cast<unsigned long long>(seed));
  } else {
    SMXRT_RETURN_IF_ERROR(
        loadParameters(manifest, source.weightsFile, evaluator.ownArguments()));
    parametersReport = "parameters: " + source.weightsFile;
  }

  int32_t vocabulary = 0;
  SMXRT_RETURN_IF_ERROR(vocabularyLimit(manifest, vocabulary));
  TokenizerRequest request;
  request.explicitPath = commandLine.tokenizer;
  request.sourcePath = source.checkpointRoot.empty()
                           ? ""
                           : joinPath(source.checkpointRoot, tokenizerFileName);
  request.vocabularyLimit = vocabulary;
  request.mayTrain = false;
  std::unique_ptr<data::Tokenizer> tokenizer;
  std::string tokenizerReport;
  SMXRT_RETURN_IF_ERROR(setUpTokenizer(request, tokenizer, tokenizerReport));

  std::string text = formatString(
      "model: %s (%s)\n%s\n%s\n", manifest.model.c_str(), manifest.task.c_str(),
      parametersReport.c_str(), tokenizerReport.c_str());
  EvalSummary summary;
  if (manifest.task == "pretrain") {
    int32_t predictions = 0;
    SMXRT_RETURN_IF_ERROR(checkPretrainInputs(manifest, predictions));
    CorpusSplit split;
    SMXRT_RETURN_IF_ERROR(readCorpusSplit(dataPath, split));
    if (split.heldOut.empty())
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "%s: none of its %zu documents is held out for "
                         "evaluation (a document is when the FNV-1a hash of "
                         "its text is 0 modulo 10)",
                         dataPath.c_str(), split.corpus.documents.size());
    std::vector<std::vector<int32_t>> documents;
    SMXRT_RETURN_IF_ERROR(tokenizer->encodeAll(split.heldOut, documents));
    data::PretrainOptions options;
    options.batchSize = static_cast<int32_t>(manifest.batch);
    options.sequenceLength = static_cast<int32_t>(manifest.sequence);
    options.maxPredictions = predictions;
    options.vocabSize = tokenizer->vocabSize();
    options.seed = seed;
    std::unique_ptr<data::PretrainBatcher> batcher;
    SMXRT_RETURN_IF_ERROR(
        data::PretrainBatcher::create(documents, options, batcher));
    // By default, about as many rows as the held-out tokens fill.
    int64_t perBatch = manifest.batch * (manifest.sequence - 3);
    int64_t batches =
        commandLine.evalBatches > 0
            ? static_cast<int64_t>(commandLine.evalBatches)
            : std::max<int64_t>(
                  1,
                  (static_cast<int64_t>(batcher->tokenCount()) + perBatch - 1) /
                      perBatch);
    text += formatString("held out: %s: %zu documents (%zu tokens), %lld "
                         "batches of %lld\n",
                         dataPath.c_str(), batcher->documentCount(),
                         batcher->tokenCount(), static_cast<long long>(batches),
                         static_cast<long long>(manifest.batch));
    PretrainView view;
    makePretrainView(
        [&](std::string_view name) { return evaluator.input(name); }, options,
        view);
    for (int64_t index = 0; index < batches; ++index) {
      batcher->fill(static_cast<uint64_t>(index), view.view);
      evaluator.run(index, manifest.batch);
    }
    summary = evaluator.result();
  } else {
    data::LabelKind labelKind = data::LabelKind::Classification;
    SMXRT_RETURN_IF_ERROR(checkFinetuneInputs(manifest, labelKind));
    TaskSource taskSource;
    taskSource.taskPath =
        choose.string("--task", commandLine.task, "task_file", "", true);
    taskSource.evalTaskPath = choose.string("--eval-task", commandLine.evalTask,
                                            "eval_task_file", "", true);
    taskSource.corpusPath = dataPath;
    taskSource.labelColumn = choose.string(
        "--label-column", commandLine.labelColumn, "label_column", "");
    taskSource.textColumns = choose.string(
        "--text-columns", commandLine.textColumns, "text_columns", "");
    data::Task task;
    std::string taskReport;
    SMXRT_RETURN_IF_ERROR(loadTask(taskSource, labelKind, task, taskReport));
    SMXRT_RETURN_IF_ERROR(checkClasses(manifest, task));
    if (task.eval.empty())
      return invalid("the task has no evaluation examples");
    // The batcher insists on a training batch; evaluation needs none.
    while (task.train.size() < static_cast<size_t>(manifest.batch))
      task.train.push_back(task.eval.front());
    std::unique_ptr<data::TaskBatcher> batcher;
    SMXRT_RETURN_IF_ERROR(data::TaskBatcher::create(
        task, *tokenizer, static_cast<int32_t>(manifest.batch),
        static_cast<int32_t>(manifest.sequence), seed, batcher));
    text += taskReport + "\n";
    std::string baseline = describeBaseline(task);
    if (!baseline.empty())
      text += baseline + "\n";
    SMXRT_RETURN_IF_ERROR(
        evaluateTask(manifest, evaluator, *batcher, task, 0, summary));
    if (!manifest.findResult("classifier_logits"))
      text += "note: the model's forward function returns no "
              "classifier_logits: the loss only\n";
  }
  text += formatString("rows: %lld in %lld batches\n",
                       static_cast<long long>(summary.rows),
                       static_cast<long long>(summary.batches));
  for (const std::string &line : describeEvalSummary(summary))
    text += line + "\n";
  std::fputs(text.c_str(), out);
  return nullptr;
}

} // namespace smxrt
