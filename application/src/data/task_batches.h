//===- task_batches.h - Fine-tuning batches ---------------------*- C++ -*-===//
//
// Batches of a task's examples, tokenized once when the batcher is made:
// training batches of epoch e follow a permutation drawn from (seed, e);
// evaluation batches follow the evaluation set's order, the last one padded.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_DATA_TASK_BATCHES_H
#define SMX_RUNTIME_DATA_TASK_BATCHES_H

#include "data/task.h"
#include "data/tokenizer.h"

#include "smx_runtime/status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace smxrt {
namespace data {

/// Caller memory for one batch: [B, S] ids and types, [B] labels (int32_t
/// for classification, float for regression).
struct TaskBatchView {
  int32_t *inputIds;
  int32_t *typeIds;
  void *labels;
};

/// An example's row before padding.
struct PackedExample {
  std::vector<int32_t> ids; ///< [CLS] a [SEP] (b [SEP]), at most S tokens.
  size_t secondStart;       ///< Where type 1 starts; ids.size() if never.
};

/// Packs token ids into a row of at most `sequenceLength` tokens. Too long,
/// the longer text loses its last token (b on a tie) until it fits, as in
/// BERT's reference code. `b` NULL: a single text.
PackedExample packExample(const std::vector<int32_t> &a,
                          const std::vector<int32_t> *b,
                          int32_t sequenceLength);

class TaskBatcher {
public:
  /// Fails with INVALID_ARGUMENT when batchSize < 1, sequenceLength < 3 (5
  /// for pairs) or the training set is smaller than one batch.
  static smxrt_status_t create(const Task &task, const Tokenizer &tokenizer,
                               int32_t batchSize, int32_t sequenceLength,
                               uint64_t seed,
                               std::unique_ptr<TaskBatcher> &batcher);

  /// Makes this process fill rows [firstRow, firstRow + rowCount) of each
  /// batch of `batchSize` rows, its share of a job's batch (the batch
  /// views then hold `rowCount` rows); the whole batch by default.
  void takeShare(int32_t firstRow, int32_t rowCount) {
    shareFirst = firstRow;
    shareRows = rowCount;
  }
  LabelKind labelKind() const { return kind; }
  int32_t batchSize() const { return rows; }
  int32_t sequenceLength() const { return sequence; }
  size_t trainBatches() const { return train.size() / rows; }
  size_t evalBatches() const { return (eval.size() + rows - 1) / rows; }

  /// The order of the training set in epoch `epoch`.
  std::vector<uint32_t> epochOrder(uint64_t epoch) const;

  /// OUT_OF_RANGE for an index past the epoch.
  smxrt_status_t fillTrain(uint64_t epoch, size_t index,
                           const TaskBatchView &batch) const;
  /// OUT_OF_RANGE for an index past the last batch. `validRows` counts
  /// this process's rows that hold an example (the last batch is padded).
  smxrt_status_t fillEval(size_t index, const TaskBatchView &batch,
                          size_t &validRows) const;

private:
  struct Row {
    PackedExample packed;
    int32_t label;
    float value;
  };
  TaskBatcher() = default;
  /// Writes row `row` of the batch: `example`, or padding when NULL.
  void fillRow(size_t row, const Row *example,
               const TaskBatchView &batch) const;

  LabelKind kind = LabelKind::Classification;
  int32_t rows = 0, sequence = 0;
  /// This process's rows of each batch (takeShare).
  int32_t shareFirst = 0, shareRows = -1;
  int32_t viewRows() const { return shareRows < 0 ? rows : shareRows; }
  uint64_t seed = 0;
  std::vector<Row> train, eval;

  /// The order of the last epoch asked for.
  mutable std::mutex orderMutex;
  mutable std::optional<uint64_t> orderEpoch;
  mutable std::vector<uint32_t> order;
};

} // namespace data
} // namespace smxrt

#endif // SMX_RUNTIME_DATA_TASK_BATCHES_H
