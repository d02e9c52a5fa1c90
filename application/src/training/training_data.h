//===- training_data.h - Data, tokenizer and inputs of a run ----*- C++ -*-===//
//
// What a training run reads: the tokenizer (loaded, or trained on the
// corpus and kept with the checkpoints), the corpus split, the task, and
// the checks that the model's inputs are ones the data pipeline fills.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_APPLICATION_TRAINING_TRAINING_DATA_H
#define SMX_APPLICATION_TRAINING_TRAINING_DATA_H

#include "model/manifest.h"

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

} // namespace smxrt

#endif // SMX_APPLICATION_TRAINING_TRAINING_DATA_H
