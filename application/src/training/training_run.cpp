//===- training_run.cpp - One run of `train` or `finetune` ----------------===//
//
// What every training run does around its objective (objective.h): the
// checks, resuming, the settings, the tokenizer, the parameters and their
// freezing, the report, and the step loop with its checkpoints and metrics
// (docs/runtime.md, "Training").
//
//===----------------------------------------------------------------------===//

#include "training/training_run.h"

#include "distributed/job.h"

#include "model/parameters.h"
#include "training/checkpoint.h"
#include "training/objective.h"

#include "handles.h"
#include "status_internal.h"

#include <algorithm>

namespace smxrt {
namespace {

/// The checks every training command makes before anything else.
smxrt_status_t checkTrainingObject(const ModelManifest &manifest,
                                   smxrt_model_train_step_fn_t trainStep,
                                   const char *command) {
  // The objective each training command trains (docs/runtime.md).
  static constexpr std::pair<const char *, const char *> commandTasks[] = {
      {"train", SMXRT_TASK_PRETRAIN}, {"finetune", SMXRT_TASK_FINETUNE}};
  const char *task = "";
  const char *commandOfTask = nullptr;
  for (const auto &[candidate, candidateTask] : commandTasks) {
    if (std::string_view(candidate) == command)
      task = candidateTask;
    if (manifest.task == candidateTask)
      commandOfTask = candidate;
  }
  if (manifest.task.empty())
    return invalidArgument(formatString(
        "'%s' needs a model compiled for training (smxc --task=%s); this one "
        "was compiled for inference",
        command, task));
  if (manifest.task != task)
    return invalidArgument(formatString(
        "'%s' needs a model compiled with smxc --task=%s; this one was "
        "compiled for '%s'%s",
        command, task, manifest.task.c_str(),
        commandOfTask ? formatString(" (use '%s')", commandOfTask).c_str()
                      : ""));
  if (!manifest.hasTrainStep)
    return invalidArgument(
        "the model's manifest has no entry_points.train_step");
  if (!trainStep)
    return invalidArgument(
        "the manifest lists entry_points.train_step, but the model "
        "object does not export smx_model_train_step");
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
  meta.emplace_back("training_hash", trainingHash(manifest));
  meta.emplace_back("batch", manifest.globalBatch());
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

/// "communication per step on this process: ..." of the compiled code's
/// collectives over `steps` steps (evaluation included); "" without a grid.
std::string describeCommunication(int64_t steps) {
  smxrt_grid_t grid = smxrt_grid_installed();
  if (!grid || steps <= 0)
    return "";
  smxrt_grid_collective_stats_t allReduce, allToAll;
  smxrt_grid_stats(grid, &allReduce, &allToAll);
  auto describe = [&](const char *name,
                      const smxrt_grid_collective_stats_t &stats) {
    return formatString("%s %.1f calls, %.1f KiB, %.2f ms", name,
                        static_cast<double>(stats.calls) / steps,
                        static_cast<double>(stats.bytes) / steps / 1024,
                        stats.seconds / steps * 1e3);
  };
  return "communication per step on this process: " +
         describe("all-reduce", allReduce) + "; " +
         describe("all-to-all", allToAll);
}

/// Opens the metrics file of a run (dropping the lines after the resumed
/// step), creating the checkpoint directory it may live in.
smxrt_status_t openMetrics(const CommandLine &commandLine,
                           const ResumePoint &point,
                           const std::string &metricsFile,
                           MetricsFile &metrics) {
  // The leader writes the job's metrics (every reported value is the
  // job's sum).
  if (metricsFile.empty() || !thisJob().isLeader())
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
  settings.tokensPerStep = manifest.globalBatch() * manifest.sequence;
  settings.checkpointDirectory = commandLine.ckpt;
  settings.lastCheckpoint = point.stepDirectory;
  return settings;
}

/// "; checkpoints every N steps in DIR; metrics to FILE" for the report.
std::string describeSaving(const CommandLine &commandLine, int64_t every,
                           const std::string &metricsFile) {
  std::string text = commandLine.ckpt.empty()
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

/// A run of `train` or `finetune`, set up step by step.
struct TrainingRun {
  TrainingRun(const ModelManifest &manifest, const CommandLine &commandLine,
              TrainingObjective &objective, std::FILE *out)
      : manifest(manifest), commandLine(commandLine), objective(objective),
        out(out), choose(commandLine, point) {}

  const ModelManifest &manifest;
  const CommandLine &commandLine;
  TrainingObjective &objective;
  std::FILE *out;

  ResumePoint point;
  FileDescriptor lock;
  SettingChooser choose;
  uint64_t seed = 0, keep = 0;
  double learningRate = 0;
  std::string freeze;
  int64_t steps = 0, warmup = 0, every = 0;
  /// The rows of embeddings.word: the most pieces a tokenizer may have.
  int32_t vocabularyLimit = 0;
  std::unique_ptr<data::Tokenizer> tokenizer;
  TrainState state;
  std::string tokenizerReport, parametersReport, freezeReport;
};

/// Warmup and checkpoint interval, which default to a tenth of the run.
smxrt_status_t chooseSchedule(TrainingRun &run, int64_t steps) {
  const CommandLine &commandLine = run.commandLine;
  run.steps = steps;
  run.warmup =
      run.choose.integer("--warmup", commandLine.warmup, "warmup_steps",
                         std::max<int64_t>(1, steps / 10));
  run.every = run.choose.integer("--every", commandLine.every, "every",
                                 std::max<int64_t>(1, steps / 10));
  SMXRT_RETURN_IF_ERROR(
      checkSchedule(steps, run.warmup, run.learningRate, run.keep, run.every));
  return checkStopAt(commandLine, run.point.step);
}

smxrt_status_t chooseSettings(TrainingRun &run) {
  const CommandLine &commandLine = run.commandLine;
  SMXRT_RETURN_IF_ERROR(
      findResumePoint(run.manifest, commandLine, run.lock, run.point));
  run.seed = static_cast<uint64_t>(
      run.choose.integer("--seed", commandLine.seed, "seed", 0));
  run.learningRate = run.choose.number("--lr", commandLine.learningRate,
                                       "learning_rate", 1e-4);
  run.keep = static_cast<uint64_t>(
      run.choose.integer("--keep", commandLine.keep, "keep", 3));
  run.freeze = run.choose.string("--freeze", commandLine.freeze, "freeze", "");
  SMXRT_RETURN_IF_ERROR(
      run.objective.chooseSettings(commandLine, run.point, run.choose));
  SMXRT_RETURN_IF_ERROR(thisJob().agree(
      "the checkpoint to resume from",
      run.point.resuming ? run.point.stepDirectory : "none (a fresh start)"));
  // A schedule known from the settings is checked before any data is read.
  if (std::optional<int64_t> planned = run.objective.plannedSteps())
    return chooseSchedule(run, *planned);
  return nullptr;
}

/// The data, the tokenizer and the batches.
smxrt_status_t setUpData(TrainingRun &run) {
  TrainingObjective &objective = run.objective;
  SMXRT_RETURN_IF_ERROR(objective.loadData());
  TokenizerRequest request;
  request.explicitPath = run.commandLine.tokenizer;
  request.sourcePath =
      run.point.resuming ? "" : sourceTokenizer(objective.startingWeights());
  request.checkpointDirectory = run.commandLine.ckpt;
  request.trainingTexts = [&] { return objective.tokenizerTexts(); };
  request.vocabularyLimit = run.vocabularyLimit;
  request.mayTrain = !run.point.resuming;
  // The leader loads or trains (and saves) the tokenizer; the others take
  // its copy.
  const Job &job = thisJob();
  std::string serialized;
  if (job.isLeader()) {
    SMXRT_RETURN_IF_ERROR(
        setUpTokenizer(request, run.tokenizer, run.tokenizerReport));
    serialized = run.tokenizer->serialized();
  }
  SMXRT_RETURN_IF_ERROR(job.broadcastFromLeader(serialized));
  if (!job.isLeader())
    SMXRT_RETURN_IF_ERROR(data::Tokenizer::fromSerialized(
        serialized, "the leader's tokenizer", run.tokenizer));
  SMXRT_RETURN_IF_ERROR(checkTokenizerHash(run.point, *run.tokenizer));
  int64_t steps = 0;
  SMXRT_RETURN_IF_ERROR(objective.prepareBatches(run.point, *run.tokenizer,
                                                 run.seed, run.choose, steps));
  return objective.plannedSteps() ? nullptr : chooseSchedule(run, steps);
}

/// The parameters and moments: the checkpoint's, or a fresh start; then
/// freezing.
smxrt_status_t setUpParameters(TrainingRun &run,
                               smxrt_model_forward_fn_t forward) {
  TrainState &state = run.state;
  SMXRT_RETURN_IF_ERROR(state.allocate(run.manifest));
  if (run.point.resuming) {
    SMXRT_RETURN_IF_ERROR(
        annotateStatus(loadCheckpointState(run.point.stepDirectory, state),
                       "cannot resume: "));
    run.parametersReport = "resumed from " + run.point.stepDirectory +
                           " (step " + std::to_string(run.point.step) + ")";
  } else {
    SMXRT_RETURN_IF_ERROR(initializeTrainState(
        state, run.seed, run.objective.startingWeights(),
        run.objective.allowsPartialWeights(), run.parametersReport));
    run.parametersReport =
        run.objective.describeFreshParameters(run.parametersReport);
  }
  std::vector<bool> frozen;
  SMXRT_RETURN_IF_ERROR(resolveFreeze(run.freeze, state, frozen,
                                      run.freezeReport, run.choose.notes));
  SMXRT_RETURN_IF_ERROR(state.setFrozen(frozen));
  return run.objective.prepareEvaluation(forward);
}

void printReport(const TrainingRun &run, const std::string &metricsFile) {
  std::FILE *out = run.out;
  std::fprintf(out, "%s\n%s\n", run.objective.describeModel().c_str(),
               run.objective.describeData().c_str());
  std::fprintf(out, "%s\n%s\n", run.tokenizerReport.c_str(),
               run.parametersReport.c_str());
  if (!run.freezeReport.empty())
    std::fprintf(out, "%s\n", run.freezeReport.c_str());
  printNotes(run.choose.notes, out);
  printNotes(run.objective.describeTask(), out);
  std::fprintf(
      out, "training: %s, peak learning rate %g, warmup %lld, seed %llu%s\n",
      run.objective.describeSchedule(run.point.step, run.steps).c_str(),
      run.learningRate, static_cast<long long>(run.warmup),
      static_cast<unsigned long long>(run.seed),
      describeSaving(run.commandLine, run.every, metricsFile).c_str());
  std::fflush(out);
}

smxrt_status_t runLoop(TrainingRun &run, smxrt_model_train_step_fn_t trainStep,
                       MetricsFile &metrics) {
  const ModelManifest &manifest = run.manifest;
  const CommandLine &commandLine = run.commandLine;
  TrainingObjective &objective = run.objective;
  LoopSettings settings =
      makeLoopSettings(manifest, commandLine, run.point, run.steps, run.warmup,
                       run.learningRate, run.every, run.keep);
  objective.bindInputs(run.state);
  LoopHooks hooks;
  hooks.fillBatch = [&](int64_t step) -> smxrt_status_t {
    SMXRT_RETURN_IF_ERROR(objective.fillBatch(step));
    if (step == run.point.step && !commandLine.dumpBatch.empty())
      return writeBatch(commandLine.dumpBatch, manifest, run.state);
    return nullptr;
  };
  objective.addLoopHooks(hooks, run.state, metrics);
  hooks.checkpointMeta = [&](int64_t done, float loss) {
    json::Object meta = commonMeta(manifest, done, run.seed, run.learningRate,
                                   run.warmup, run.steps, run.every, run.keep,
                                   run.freeze, *run.tokenizer, loss);
    objective.addCheckpointMeta(meta, done);
    return meta;
  };
  LoopResult result;
  SMXRT_RETURN_IF_ERROR(runTrainingLoop(manifest, trainStep, run.state,
                                        settings, hooks, &metrics, run.out,
                                        result));
  std::fprintf(run.out, "%s\n",
               describeLoopEnd(result, run.point.step, run.steps,
                               settings.tokensPerStep, settings)
                   .c_str());
  std::string communication =
      describeCommunication(result.stepsDone - run.point.step);
  if (!communication.empty())
    std::fprintf(run.out, "%s\n", communication.c_str());
  return nullptr;
}

} // namespace

smxrt_status_t runTraining(const char *command, const ModelManifest &manifest,
                           smxrt_model_forward_fn_t forward,
                           smxrt_model_train_step_fn_t trainStep,
                           const CommandLine &commandLine, std::FILE *out) {
  SMXRT_RETURN_IF_ERROR(checkTrainingObject(manifest, trainStep, command));
  SMXRT_RETURN_IF_ERROR(checkBatch(manifest, commandLine));
  std::unique_ptr<TrainingObjective> objective;
  SMXRT_RETURN_IF_ERROR(createTrainingObjective(manifest, objective));
  TrainingRun run(manifest, commandLine, *objective, out);
  SMXRT_RETURN_IF_ERROR(vocabularyLimit(manifest, run.vocabularyLimit));
  SMXRT_RETURN_IF_ERROR(chooseSettings(run));
  SMXRT_RETURN_IF_ERROR(setUpData(run));
  SMXRT_RETURN_IF_ERROR(setUpParameters(run, forward));
  if (run.point.step >= run.steps) {
    std::fprintf(out,
                 "%s is at step %lld of %lld: nothing to do (give a larger "
                 "%s to train further)\n",
                 run.point.stepDirectory.c_str(),
                 static_cast<long long>(run.point.step),
                 static_cast<long long>(run.steps), objective->lengthOption());
    return nullptr;
  }
  MetricsFile metrics;
  std::string metricsFile = metricsPath(commandLine);
  SMXRT_RETURN_IF_ERROR(
      openMetrics(commandLine, run.point, metricsFile, metrics));
  printReport(run, metricsFile);
  return runLoop(run, trainStep, metrics);
}

} // namespace smxrt
