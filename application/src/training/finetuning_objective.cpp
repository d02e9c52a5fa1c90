//===- finetuning_objective.cpp - Classification and regression tasks -----===//
//
// `finetune` on an object compiled with --task=finetune: batches of a
// classification or a regression task (TSV files, or the categories of a
// corpus; docs/data.md), evaluated on the task's held-out examples after
// every epoch; `eval` evaluates the same examples once. The two label kinds
// differ in their checks and their baseline: ClassificationObjective and
// RegressionObjective.
//
//===----------------------------------------------------------------------===//

#include "training/objective.h"

#include "data/task_batches.h"
#include "distributed/job.h"

#include "status_internal.h"

#include <algorithm>
#include <cmath>

namespace smxrt {
namespace {

std::string joinLines(const std::vector<std::string> &lines) {
  std::string text;
  for (const std::string &line : lines)
    text += (text.empty() ? "" : ", ") + line;
  return text;
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

class FinetuningObjective : public TrainingObjective {
public:
  FinetuningObjective(const ModelManifest &manifest, data::LabelKind labelKind)
      : TrainingObjective(manifest), labelKind(labelKind) {}

  const char *lengthOption() const override { return "--epochs"; }

  smxrt_status_t chooseSettings(const CommandLine &commandLine,
                                const ResumePoint &point,
                                SettingChooser &choose) override;
  smxrt_status_t loadData() override {
    SMXRT_RETURN_IF_ERROR(loadTask(source, labelKind, task, taskReport));
    return checkTask();
  }
  std::string startingWeights() const override { return initPath; }
  bool allowsPartialWeights() const override { return true; }
  std::vector<std::string_view> tokenizerTexts() const override {
    std::vector<std::string_view> texts;
    for (const data::Example &example : task.train) {
      texts.push_back(example.textA);
      if (task.pairs)
        texts.push_back(example.textB);
    }
    return texts;
  }
  smxrt_status_t prepareBatches(const ResumePoint &point,
                                const data::Tokenizer &tokenizer, uint64_t seed,
                                SettingChooser &choose,
                                int64_t &steps) override;
  smxrt_status_t prepareEvaluation(smxrt_model_forward_fn_t forward) override {
    return evaluator.prepare(manifest, forward, /*ownParameters=*/false);
  }

  std::string describeModel() const override {
    return formatString("model: %s (fine-tuning), batch %lld x sequence %lld%s",
                        manifest.model.c_str(),
                        static_cast<long long>(manifest.globalBatch()),
                        static_cast<long long>(manifest.sequence),
                        describeGridShare(manifest).c_str());
  }
  std::string describeData() const override { return taskReport; }
  std::string describeFreshParameters(std::string report) const override {
    if (initPath.empty())
      report += " (no --init: fine-tuning from scratch)";
    return report;
  }
  std::vector<std::string> describeTask() const override {
    std::vector<std::string> lines;
    std::string baseline = describeBaseline();
    if (!baseline.empty())
      lines.push_back(baseline);
    if (!manifest.findResult("classifier_logits"))
      lines.push_back("note: the model's forward function returns no "
                      "classifier_logits: evaluation reports the loss only");
    return lines;
  }
  std::string describeSchedule(int64_t firstStep,
                               int64_t steps) const override {
    if (fixedSteps > 0)
      return formatString(
          "%lld steps, %.2f epochs of %lld steps (steps %lld..%lld)",
          static_cast<long long>(fixedSteps),
          static_cast<double>(fixedSteps) / static_cast<double>(perEpoch),
          static_cast<long long>(perEpoch),
          static_cast<long long>(firstStep + 1), static_cast<long long>(steps));
    return formatString(
        "%lld epochs of %lld steps (steps %lld..%lld)",
        static_cast<long long>(epochs), static_cast<long long>(perEpoch),
        static_cast<long long>(firstStep + 1), static_cast<long long>(steps));
  }

  void bindInputs(const TrainState &state) override {
    makeTaskView([&](std::string_view name) { return state.input(name); },
                 manifest.batch, manifest.sequence, view);
  }
  smxrt_status_t fillBatch(int64_t step) override {
    return batcher->fillTrain(static_cast<uint64_t>(step / perEpoch),
                              static_cast<size_t>(step % perEpoch), view.view);
  }
  void addLoopHooks(LoopHooks &hooks, TrainState &state,
                    MetricsFile &metrics) override;
  void addCheckpointMeta(json::Object &meta, int64_t done) const override {
    meta.emplace_back("epochs", epochs);
    meta.emplace_back("finetune_steps", fixedSteps);
    meta.emplace_back("steps_per_epoch", perEpoch);
    meta.emplace_back("data", source.corpusPath);
    meta.emplace_back("task_file", source.taskPath);
    meta.emplace_back("eval_task_file", source.evalTaskPath);
    meta.emplace_back("label_column", source.labelColumn);
    meta.emplace_back("text_columns", source.textColumns);
    meta.emplace_back("init", initPath);
    meta.emplace_back("data_cursor", json::Object{{"step", done},
                                                  {"epoch", done / perEpoch},
                                                  {"batch", done % perEpoch}});
  }

  smxrt_status_t evaluate(const EvaluationRequest &request,
                          HeldOutEvaluator &evaluator, std::string &text,
                          EvalSummary &summary) override;

protected:
  /// Checks the task against the model (its classes against the
  /// classifier's outputs).
  virtual smxrt_status_t checkTask() const = 0;
  /// "majority baseline: ..." or "" when the label kind has none.
  virtual std::string describeBaseline() const = 0;

  data::Task task;

private:
  void chooseTaskSource(const CommandLine &commandLine, SettingChooser &choose,
                        const std::string &dataPath) {
    source.taskPath =
        choose.string("--task", commandLine.task, "task_file", "", true);
    source.evalTaskPath = choose.string("--eval-task", commandLine.evalTask,
                                        "eval_task_file", "", true);
    source.corpusPath = dataPath;
    source.labelColumn = choose.string(
        "--label-column", commandLine.labelColumn, "label_column", "");
    source.textColumns = choose.string(
        "--text-columns", commandLine.textColumns, "text_columns", "");
  }
  smxrt_status_t runEvaluation(HeldOutEvaluator &evaluator, int64_t step,
                               EvalSummary &summary) const;
  /// The batcher of the job's batches, this process filling its rows.
  smxrt_status_t createBatcher(const data::Tokenizer &tokenizer,
                               uint64_t seed) {
    SMXRT_RETURN_IF_ERROR(data::TaskBatcher::create(
        task, tokenizer, static_cast<int32_t>(manifest.globalBatch()),
        static_cast<int32_t>(manifest.sequence), seed, batcher));
    batcher->takeShare(static_cast<int32_t>(thisJob().rank() * manifest.batch),
                       static_cast<int32_t>(manifest.batch));
    return nullptr;
  }

  data::LabelKind labelKind;
  int64_t epochs = 0, perEpoch = 1;
  /// --steps: the run's length in steps instead of whole epochs (0: epochs).
  int64_t fixedSteps = 0;
  /// The run's last step: evaluated even when it ends inside an epoch.
  int64_t lastStep = 0;
  std::string initPath, taskReport;
  TaskSource source;
  std::unique_ptr<data::TaskBatcher> batcher;
  TaskView view;
  HeldOutEvaluator evaluator;
  double epochLossSum = 0;
  int64_t epochLossCount = 0;
};

smxrt_status_t
FinetuningObjective::chooseSettings(const CommandLine &commandLine,
                                    const ResumePoint &,
                                    SettingChooser &choose) {
  if (commandLine.has("--epochs") && commandLine.has("--steps"))
    return invalidArgument("--epochs and --steps both set the length of the "
                           "run: give one");
  // A length given now replaces the checkpoint's other one.
  fixedSteps = commandLine.has("--epochs")
                   ? 0
                   : choose.integer("--steps", commandLine.steps,
                                    "finetune_steps", 0);
  epochs = commandLine.has("--steps")
               ? 0
               : choose.integer("--epochs", commandLine.epochs, "epochs", 3);
  const std::string dataPath = choose.string("--data", commandLine.data, "data",
                                             data::defaultCorpusPath, true);
  chooseTaskSource(commandLine, choose, dataPath);
  initPath = choose.string("--init", commandLine.init, "init", "", true);
  if (commandLine.has("--steps") && fixedSteps < 1)
    return invalidArgument("--steps must be at least 1");
  if (fixedSteps == 0 && epochs < 1)
    return invalidArgument("--epochs must be at least 1");
  return nullptr;
}

smxrt_status_t FinetuningObjective::prepareBatches(
    const ResumePoint &point, const data::Tokenizer &tokenizer, uint64_t seed,
    SettingChooser &choose, int64_t &steps) {
  SMXRT_RETURN_IF_ERROR(createBatcher(tokenizer, seed));
  perEpoch = static_cast<int64_t>(batcher->trainBatches());
  if (fixedSteps > 0)
    epochs = (fixedSteps + perEpoch - 1) / perEpoch;
  steps = fixedSteps > 0 ? fixedSteps : epochs * perEpoch;
  lastStep = steps;
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
  return nullptr;
}

/// Runs the forward function over the task's evaluation batches.
smxrt_status_t FinetuningObjective::runEvaluation(HeldOutEvaluator &evaluator,
                                                  int64_t step,
                                                  EvalSummary &summary) const {
  evaluator.setTaskClasses(static_cast<int64_t>(task.classNames.size()));
  TaskView evalView;
  makeTaskView([&](std::string_view name) { return evaluator.input(name); },
               manifest.batch, manifest.sequence, evalView);
  evaluator.reset();
  for (size_t index = 0; index < batcher->evalBatches(); ++index) {
    size_t valid = 0;
    SMXRT_RETURN_IF_ERROR(batcher->fillEval(index, evalView.view, valid));
    // Padding rows: a label the classification loss ignores.
    if (task.kind == data::LabelKind::Classification)
      for (auto row = static_cast<int64_t>(valid); row < manifest.batch; ++row)
        static_cast<int32_t *>(evalView.view.labels)[row] = ignoredLabel;
    SMXRT_RETURN_IF_ERROR(evaluator.run(step, static_cast<int64_t>(valid)));
  }
  summary = evaluator.result();
  return nullptr;
}

void FinetuningObjective::addLoopHooks(LoopHooks &hooks, TrainState &state,
                                       MetricsFile &metrics) {
  hooks.annotate = [this](int64_t done, json::Object &line) {
    line.emplace_back("epoch", (done - 1) / perEpoch + 1);
  };
  // At the end of each epoch: the held-out examples, reported and logged.
  hooks.afterStep = [this, &state,
                     &metrics](int64_t done, float loss,
                               Progress &progress) -> smxrt_status_t {
    epochLossSum += loss;
    ++epochLossCount;
    if (done % perEpoch != 0 && done != lastStep)
      return nullptr;
    // A run of --steps may end inside an epoch: that epoch's part counts.
    const int64_t epoch = (done + perEpoch - 1) / perEpoch;
    EvalSummary summary;
    if (batcher->evalBatches() > 0) {
      evaluator.bindParameters(state);
      SMXRT_RETURN_IF_ERROR(runEvaluation(evaluator, done, summary));
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
}

smxrt_status_t FinetuningObjective::evaluate(const EvaluationRequest &request,
                                             HeldOutEvaluator &evaluator,
                                             std::string &text,
                                             EvalSummary &summary) {
  chooseTaskSource(request.commandLine, request.choose, request.dataPath);
  SMXRT_RETURN_IF_ERROR(loadTask(source, labelKind, task, taskReport));
  SMXRT_RETURN_IF_ERROR(checkTask());
  if (task.eval.empty())
    return invalidArgument("the task has no evaluation examples");
  // The batcher insists on a training batch; evaluation needs none.
  while (task.train.size() < static_cast<size_t>(manifest.globalBatch()))
    task.train.push_back(task.eval.front());
  SMXRT_RETURN_IF_ERROR(createBatcher(request.tokenizer, request.seed));
  text += taskReport + "\n";
  std::string baseline = describeBaseline();
  if (!baseline.empty())
    text += baseline + "\n";
  SMXRT_RETURN_IF_ERROR(runEvaluation(evaluator, 0, summary));
  if (!manifest.findResult("classifier_logits"))
    text += "note: the model's forward function returns no "
            "classifier_logits: the loss only\n";
  return nullptr;
}

/// Class-index labels: at most as many classes as the classifier has
/// outputs; the majority class is the baseline.
class ClassificationObjective final : public FinetuningObjective {
public:
  explicit ClassificationObjective(const ModelManifest &manifest)
      : FinetuningObjective(manifest, data::LabelKind::Classification) {}

protected:
  smxrt_status_t checkTask() const override {
    int64_t outputs = classifierOutputs(manifest);
    if (outputs > 0 && static_cast<int64_t>(task.classNames.size()) > outputs)
      return invalidArgument(formatString(
          "the task has %zu classes, but the model's classifier has %lld "
          "outputs; set heads.classifier's outputs to %zu in the spec",
          task.classNames.size(), static_cast<long long>(outputs),
          task.classNames.size()));
    return nullptr;
  }
  std::string describeBaseline() const override {
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
};

/// F32 targets: a single output, reported by Pearson and Spearman
/// correlation; no baseline line.
class RegressionObjective final : public FinetuningObjective {
public:
  explicit RegressionObjective(const ModelManifest &manifest)
      : FinetuningObjective(manifest, data::LabelKind::Regression) {}

protected:
  smxrt_status_t checkTask() const override { return nullptr; }
  std::string describeBaseline() const override { return ""; }
};

} // namespace

std::unique_ptr<TrainingObjective>
createFinetuningObjective(const ModelManifest &manifest,
                          data::LabelKind labelKind) {
  if (labelKind == data::LabelKind::Regression)
    return std::make_unique<RegressionObjective>(manifest);
  return std::make_unique<ClassificationObjective>(manifest);
}

} // namespace smxrt
