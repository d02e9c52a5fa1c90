//===- pretrain_batches.h - Masked-LM and sentence-order rows ---*- C++ -*-===//
//
// BERT-style pre-training batches over tokenized documents. A batch is a
// pure function of (documents, options, step): each row draws from its own
// counter-based generator keyed by (seed, step, row), so training resumed at
// step N needs no saved cursor, and epochs do not exist (documents are
// sampled). A process of a job fills its rows of the job's batch
// (firstRow). docs/data.md, "Pre-training batches", is the specification.
//
// Row layout, S = sequence length, P = max predictions:
//   input_ids  [CLS] first [SEP] second [SEP] [PAD]...
//   type_ids   0 for [CLS] first [SEP], 1 for second [SEP], 0 for padding
//   order      0 if first/second are the window's spans in text order, 1 if
//              swapped
//   mlm_*      P slots: masked positions ascending, their original ids and
//              weight 1; then position 0, label 0, weight 0
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_DATA_PRETRAIN_BATCHES_H
#define SMX_RUNTIME_DATA_PRETRAIN_BATCHES_H

#include "smx_runtime/status.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace smxrt {
namespace data {

class CounterRng;

struct PretrainOptions {
  int32_t batchSize = 8;
  int32_t sequenceLength = 128;
  int32_t maxPredictions = 80;
  /// Every token id is below it; random replacements are drawn from
  /// [firstPieceId, vocabSize). Required.
  int32_t vocabSize = 0;
  uint64_t seed = 0;
  double maskProbability = 0.15;
  /// Row r of a batch is row firstRow + r of the step's global batch, whose
  /// rows are keyed by their global index: a process of a job fills its
  /// share [firstRow, firstRow + batchSize) and all of them together the
  /// batch one process would fill.
  int64_t firstRow = 0;
};

/// Caller memory for one batch (shapes in the file comment).
struct PretrainBatchView {
  int32_t *inputIds;
  int32_t *typeIds;
  int32_t *mlmPositions;
  int32_t *mlmLabels;
  float *mlmWeights;
  int32_t *orderLabels;
};

/// One batch in owned memory.
struct PretrainBatch {
  std::vector<int32_t> inputIds, typeIds, mlmPositions, mlmLabels;
  std::vector<float> mlmWeights;
  std::vector<int32_t> orderLabels;

  void resize(const PretrainOptions &options);
  PretrainBatchView view();
};

class PretrainBatcher {
public:
  /// Keeps the non-empty documents. Fails with INVALID_ARGUMENT for bad
  /// options, an id outside [0, vocabSize) or fewer than 2 tokens in all.
  static smxrt_status_t
  create(const std::vector<std::vector<int32_t>> &documents,
         const PretrainOptions &options,
         std::unique_ptr<PretrainBatcher> &batcher);

  const PretrainOptions &getOptions() const { return options; }
  size_t documentCount() const { return offsets.size() - 1; }
  size_t tokenCount() const { return tokens.size(); }

  /// Fills every element of the batch of `step`.
  void fill(uint64_t step, const PretrainBatchView &batch) const;
  /// Fills one row of the batch of `step` (row < batchSize).
  void fillRow(uint64_t step, int32_t row,
               const PretrainBatchView &batch) const;
  /// The batch of `step` in owned memory.
  PretrainBatch make(uint64_t step) const;

private:
  PretrainBatcher(const PretrainOptions &options) : options(options) {}
  size_t documentLength(size_t document) const {
    return offsets[document + 1] - offsets[document];
  }
  /// The row's text: at most S - 3 tokens of consecutive documents.
  void drawWindow(CounterRng &rng, std::vector<int32_t> &window) const;
  /// Writes "[CLS] first [SEP] second [SEP]" and padding; returns the
  /// number of tokens before the padding.
  size_t layoutRow(const std::vector<int32_t> &window, size_t split,
                   bool swapped, int32_t *ids, int32_t *types) const;
  /// Masks the text tokens among the first `used` of `ids` and fills the
  /// row's P prediction slots.
  void maskRow(CounterRng &rng, int32_t *ids, size_t used, int32_t *positions,
               int32_t *labels, float *weights) const;

  PretrainOptions options;
  std::vector<int32_t> tokens;    ///< The documents, concatenated.
  std::vector<size_t> offsets{0}; ///< Document d: [offsets[d], offsets[d+1]).
};

} // namespace data
} // namespace smxrt

#endif // SMX_RUNTIME_DATA_PRETRAIN_BATCHES_H
