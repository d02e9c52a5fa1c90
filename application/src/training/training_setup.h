//===- training_setup.h - What train, finetune and eval share ---*- C++ -*-===//
//
// The pieces of a training run around the train step: the tokenizer
// (loaded, or trained on the corpus and kept with the checkpoints), the
// corpus split, the task, the checks that the model's inputs are ones the
// data pipeline fills, parameter freezing, and the step loop with its
// checkpoints, metrics and progress.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_MODEL_TRAINING_SETUP_H
#define SMX_RUNTIME_MODEL_TRAINING_SETUP_H

#include "training/checkpoint.h"
#include "commands/command_line.h"
#include "training/held_out_eval.h"
#include "model/manifest.h"
#include "training/train_progress.h"
#include "training/train_state.h"

#include "data/corpus.h"
#include "data/pretrain_batches.h"
#include "data/task.h"
#include "data/task_batches.h"
#include "data/tokenizer.h"

#include "json.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace smxrt {

/// The file name of the tokenizer in a checkpoint directory.
constexpr const char *tokenizerFileName = "tokenizer.model";

/// A corpus and its split: documents whose text data::isHeldOut are for
/// evaluation, the others for training (and for training a tokenizer).
struct CorpusSplit {
  data::Corpus corpus;
  std::vector<std::string_view> train, heldOut;
};
smxrt_status_t readCorpusSplit(const std::string &path, CorpusSplit &split);

/// Where a tokenizer comes from and where it goes.
struct TokenizerRequest {
  /// --tokenizer: loaded if it exists, else trained and saved there.
  std::string explicitPath;
  /// The tokenizer of the checkpoint the parameters come from (--init,
  /// --weights), used when it exists and no explicit path is given.
  std::string sourcePath;
  /// --ckpt: DIR/tokenizer.model is the default path, and receives a copy
  /// of a tokenizer loaded from elsewhere.
  std::string checkpointDirectory;
  /// Texts to train a new tokenizer on (called only when one is trained).
  std::function<std::vector<std::string_view>()> trainingTexts;
  /// The rows of embeddings.word: the most pieces the model can embed.
  int32_t vocabularyLimit = 0;
  /// Whether a missing tokenizer may be trained (not for evaluation).
  bool mayTrain = true;
};
/// Loads or trains the tokenizer; `report` says which and where.
smxrt_status_t setUpTokenizer(const TokenizerRequest &request,
                              std::unique_ptr<data::Tokenizer> &tokenizer,
                              std::string &report);
/// FNV-1a-64 of a tokenizer's serialized model, as 16 hex digits.
std::string tokenizerHash(const data::Tokenizer &tokenizer);

/// The rows of the model's embeddings.word parameter.
smxrt_status_t vocabularyLimit(const ModelManifest &manifest, int32_t &limit);

/// The inputs a task fills, checked against the train step's (and the
/// forward function's) inputs: known names, expected dtypes and shapes.
/// `predictions` receives P of mlm_positions [B, P] for pre-training;
/// `labelKind` the kind the labels' dtype says for fine-tuning.
smxrt_status_t checkPretrainInputs(const ModelManifest &manifest,
                                   int32_t &predictions);
smxrt_status_t checkFinetuneInputs(const ModelManifest &manifest,
                                   data::LabelKind &labelKind);

/// A pre-training batch view over named buffers (`lookup` returns nullptr
/// for an input the model lacks; scratch memory stands in for it).
struct PretrainView {
  data::PretrainBatchView view{};
  std::vector<int32_t> scratchIds, scratchTypes, scratchPositions,
      scratchLabels, scratchOrder;
  std::vector<float> scratchWeights;
};
void makePretrainView(
    const std::function<smxrt_tensor_t *(std::string_view)> &lookup,
    const data::PretrainOptions &options, PretrainView &view);
struct TaskView {
  data::TaskBatchView view{};
  std::vector<int32_t> scratchIds, scratchTypes;
  /// Room for I32 or F32 labels.
  std::vector<int32_t> scratchLabels;
};
void makeTaskView(
    const std::function<smxrt_tensor_t *(std::string_view)> &lookup,
    int64_t batch, int64_t sequence, TaskView &view);

/// Where a fine-tuning task comes from: TSV files (with optional column
/// names: the label's, and "a" or "a,b" for the texts), or the categories
/// of the corpus at `corpusPath`.
struct TaskSource {
  std::string taskPath, evalTaskPath, corpusPath;
  std::string labelColumn, textColumns;
};
/// Reads the task; `description` is one line for the report.
smxrt_status_t loadTask(const TaskSource &source, data::LabelKind labelKind,
                        data::Task &task, std::string &description);
/// The classifier's outputs; 0 when the manifest does not say.
int64_t classifierOutputs(const ModelManifest &manifest);

/// Resolves --freeze (groups and name patterns) to one flag per parameter;
/// `report` lists what was frozen, `notes` groups that match nothing.
smxrt_status_t resolveFreeze(const std::string &list, const TrainState &state,
                             std::vector<bool> &frozen, std::string &report,
                             std::vector<std::string> &notes);

/// The step loop (docs/runtime.md, "Training").
struct LoopSettings {
  int64_t firstStep = 0; ///< Steps already done.
  int64_t totalSteps = 0;
  int64_t warmupSteps = 0;
  float peakLearningRate = 0;
  int64_t stopAt = 0; ///< 0: run to totalSteps.
  int64_t every = 1;
  uint64_t keep = 3;
  int64_t logEvery = 0;
  int64_t tokensPerStep = 0;
  std::string checkpointDirectory;
  /// The last good checkpoint: the one resumed from, then each one written.
  std::string lastCheckpoint;
};
struct LoopHooks {
  /// Fills the train step's batch inputs for step index `step` (0-based).
  std::function<smxrt_status_t(int64_t step)> fillBatch;
  /// Adds fields (the epoch) to the metrics line of `stepsDone`.
  std::function<void(int64_t stepsDone, json::Object &line)> annotate;
  /// Runs after each good step (evaluation at the end of an epoch).
  std::function<smxrt_status_t(int64_t stepsDone, float loss, Progress &)>
      afterStep;
  /// meta.json of the checkpoint after `stepsDone` steps.
  std::function<json::Object(int64_t stepsDone, float loss)> checkpointMeta;
};
struct LoopResult {
  int64_t stepsDone = 0;
  float lastLoss = 0;
  double seconds = 0;
  bool stoppedEarly = false;
};
smxrt_status_t runTrainingLoop(const ModelManifest &manifest,
                               smxrt_model_train_step_fn_t trainStep,
                               TrainState &state, LoopSettings &settings,
                               const LoopHooks &hooks, MetricsFile *metrics,
                               std::FILE *out, LoopResult &result);

/// A tensor as nested JSON arrays (a number for a scalar).
json::Value tensorToJson(const smxrt_tensor_t *tensor);

} // namespace smxrt

#endif // SMX_RUNTIME_MODEL_TRAINING_SETUP_H
