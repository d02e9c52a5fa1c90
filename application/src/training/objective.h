//===- objective.h - Training objectives ------------------------*- C++ -*-===//
//
// A training object is compiled for one objective (the manifest's `task`):
// pre-training (masked LM and sentence order on a corpus) or fine-tuning (a
// classification or a regression task). The objective owns what differs
// between them: the data, the batches, what the run reports and saves, and
// how the held-out split is evaluated. Everything else (resuming,
// parameters, the tokenizer, the step loop, checkpoints, metrics) is one
// training run (training_run.h) shared by all of them.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_APPLICATION_TRAINING_OBJECTIVE_H
#define SMX_APPLICATION_TRAINING_OBJECTIVE_H

#include "training/held_out_eval.h"
#include "training/run_settings.h"
#include "training/training_data.h"
#include "training/training_loop.h"

#include "data/tokenizer.h"

#include "smx_application/model_main.h"

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smxrt {

/// What an objective's `evaluate` reads besides the evaluator.
struct EvaluationRequest {
  const CommandLine &commandLine;
  SettingChooser &choose;
  const data::Tokenizer &tokenizer;
  /// The corpus (--data, or the checkpoint's).
  std::string dataPath;
  uint64_t seed = 0;
};

class TrainingObjective {
public:
  explicit TrainingObjective(const ModelManifest &manifest)
      : manifest(manifest) {}
  virtual ~TrainingObjective() = default;

  /// The command line option that sets the run's length ("--steps").
  virtual const char *lengthOption() const = 0;

  //===--- a training run, in order ---------------------------------------===//

  /// Chooses the objective's settings (data, task files, length) from the
  /// command line or the checkpoint `point` resumes; reads nothing yet.
  virtual smxrt_status_t chooseSettings(const CommandLine &commandLine,
                                        const ResumePoint &point,
                                        SettingChooser &choose) = 0;
  /// The run's total steps when the settings alone give them (pre-training:
  /// --steps), so that the schedule is checked before any data is read.
  virtual std::optional<int64_t> plannedSteps() const { return std::nullopt; }
  /// Reads the objective's data (the corpus, the task).
  virtual smxrt_status_t loadData() = 0;
  /// The weights a fresh run starts from (--weights, --init; "" for the
  /// seeded init), and whether parameters missing there keep their init.
  virtual std::string startingWeights() const = 0;
  virtual bool allowsPartialWeights() const = 0;
  /// The texts a tokenizer trained for the run learns from.
  virtual std::vector<std::string_view> tokenizerTexts() const = 0;
  /// Builds the batches; `steps` receives the run's total steps.
  virtual smxrt_status_t prepareBatches(const ResumePoint &point,
                                        const data::Tokenizer &tokenizer,
                                        uint64_t seed, SettingChooser &choose,
                                        int64_t &steps) = 0;
  /// Prepares evaluation during training, once the parameters exist.
  virtual smxrt_status_t
  prepareEvaluation(smxrt_model_forward_fn_t forward) = 0;

  /// The run's report: the model line, the data lines, where the
  /// parameters of a fresh run came from, lines after the notes, and the
  /// schedule ("steps A..B" or "E epochs of N steps (steps A..B)").
  virtual std::string describeModel() const = 0;
  virtual std::string describeData() const = 0;
  virtual std::string describeFreshParameters(std::string report) const {
    return report;
  }
  virtual std::vector<std::string> describeTask() const { return {}; }
  virtual std::string describeSchedule(int64_t firstStep,
                                       int64_t steps) const = 0;

  /// Points the batches at the train step's input buffers, then fills them
  /// for step index `step` (0-based).
  virtual void bindInputs(const TrainState &state) = 0;
  virtual smxrt_status_t fillBatch(int64_t step) = 0;
  /// Adds what the objective does between steps (evaluation at the end of
  /// an epoch) to the loop's hooks.
  virtual void addLoopHooks(LoopHooks &hooks, TrainState &state,
                            MetricsFile &metrics) {
    (void)hooks, (void)state, (void)metrics;
  }
  /// The objective's members of a checkpoint's meta.json.
  virtual void addCheckpointMeta(json::Object &meta, int64_t done) const = 0;

  //===--- eval of a training object --------------------------------------===//

  /// Evaluates the held-out split; `text` receives the report's lines
  /// before the summary.
  virtual smxrt_status_t evaluate(const EvaluationRequest &request,
                                  HeldOutEvaluator &evaluator,
                                  std::string &text, EvalSummary &summary) = 0;

protected:
  const ModelManifest &manifest;
};

/// The objective of a training object: pre-training for task "pretrain",
/// classification or regression (by the labels' dtype) for "finetune".
/// Checks that the model's inputs are the ones the objective fills.
smxrt_status_t
createTrainingObjective(const ModelManifest &manifest,
                        std::unique_ptr<TrainingObjective> &objective);

/// The objectives (pretraining_objective.cpp, finetuning_objective.cpp).
std::unique_ptr<TrainingObjective>
createPretrainingObjective(const ModelManifest &manifest, int32_t predictions);
std::unique_ptr<TrainingObjective>
createFinetuningObjective(const ModelManifest &manifest,
                          data::LabelKind labelKind);

} // namespace smxrt

#endif // SMX_APPLICATION_TRAINING_OBJECTIVE_H
