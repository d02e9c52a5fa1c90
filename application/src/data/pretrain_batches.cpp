//===- pretrain_batches.cpp - Masked-LM and sentence-order batches --------===//
//
// The order of random draws is part of the format (docs/data.md): per row,
// the start document, the start offset (only in a document longer than the
// window), the split point, the swap, the masked positions, then one
// decision per masked position (and a replacement id when it is random).
//
//===----------------------------------------------------------------------===//

#include "data/pretrain_batches.h"

#include "data/counter_rng.h"
#include "data/tokenizer.h"

#include "status_internal.h"

#include <algorithm>
#include <cmath>

namespace smxrt {
namespace data {
namespace {

smxrt_status_t checkOptions(const PretrainOptions &options) {
  if (options.batchSize < 1)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "pre-training batch size %d: must be at least 1",
                       options.batchSize);
  if (options.sequenceLength < 5)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "pre-training sequence length %d: must be at least 5 "
                       "([CLS] a [SEP] b [SEP])",
                       options.sequenceLength);
  if (options.maxPredictions < 1)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "max predictions %d: must be at least 1",
                       options.maxPredictions);
  if (options.vocabSize <= firstPieceId)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "vocabulary size %d: must exceed the %d special ids",
                       options.vocabSize, firstPieceId);
  if (!(options.maskProbability > 0.0 && options.maskProbability <= 1.0))
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "mask probability %g: must be in (0, 1]",
                       options.maskProbability);
  return nullptr;
}

/// How many of `candidates` maskable tokens a row masks.
size_t maskCount(size_t candidates, const PretrainOptions &options) {
  if (candidates == 0)
    return 0;
  auto wanted = static_cast<size_t>(std::floor(
      options.maskProbability * static_cast<double>(candidates) + 0.5));
  wanted = std::max<size_t>(wanted, 1);
  return std::min(wanted, static_cast<size_t>(options.maxPredictions));
}

} // namespace

void PretrainBatch::resize(const PretrainOptions &options) {
  auto rows = static_cast<size_t>(options.batchSize);
  size_t tokensPerBatch = rows * static_cast<size_t>(options.sequenceLength);
  size_t slots = rows * static_cast<size_t>(options.maxPredictions);
  inputIds.resize(tokensPerBatch);
  typeIds.resize(tokensPerBatch);
  mlmPositions.resize(slots);
  mlmLabels.resize(slots);
  mlmWeights.resize(slots);
  orderLabels.resize(rows);
}

PretrainBatchView PretrainBatch::view() {
  return {inputIds.data(),  typeIds.data(),    mlmPositions.data(),
          mlmLabels.data(), mlmWeights.data(), orderLabels.data()};
}

smxrt_status_t
PretrainBatcher::create(const std::vector<std::vector<int32_t>> &documents,
                        const PretrainOptions &options,
                        std::unique_ptr<PretrainBatcher> &batcher) {
  SMXRT_RETURN_IF_ERROR(checkOptions(options));
  std::unique_ptr<PretrainBatcher> created(new PretrainBatcher(options));
  for (size_t document = 0; document < documents.size(); ++document) {
    const std::vector<int32_t> &ids = documents[document];
    for (size_t index = 0; index < ids.size(); ++index)
      if (ids[index] < 0 || ids[index] >= options.vocabSize)
        return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                           "document %zu: token %zu is id %d, outside the "
                           "vocabulary of %d",
                           document, index, ids[index], options.vocabSize);
    if (ids.empty())
      continue;
    created->tokens.insert(created->tokens.end(), ids.begin(), ids.end());
    created->offsets.push_back(created->tokens.size());
  }
  if (created->tokens.size() < 2)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "the documents hold %zu tokens; a pre-training row "
                       "needs at least 2",
                       created->tokens.size());
  batcher = std::move(created);
  return nullptr;
}

void PretrainBatcher::drawWindow(CounterRng &rng,
                                 std::vector<int32_t> &window) const {
  size_t capacity = static_cast<size_t>(options.sequenceLength) - 3;
  size_t documents = documentCount();
  size_t first = rng.below(documents);
  size_t length = documentLength(first);
  // A document longer than the window contributes a random slice of itself;
  // shorter ones start at their beginning and are followed by the next
  // documents (in corpus order, wrapping around, each at most once).
  size_t offset = length > capacity ? rng.below(length - capacity + 1) : 0;
  window.clear();
  for (size_t step = 0; step < documents && window.size() < capacity; ++step) {
    size_t document = (first + step) % documents;
    size_t begin = offsets[document] + (step == 0 ? offset : 0);
    size_t take =
        std::min(offsets[document + 1] - begin, capacity - window.size());
    window.insert(window.end(), tokens.begin() + begin,
                  tokens.begin() + begin + take);
  }
}

void PretrainBatcher::fillRow(uint64_t step, int32_t row,
                              const PretrainBatchView &batch) const {
  const auto sequence = static_cast<size_t>(options.sequenceLength);
  const auto slots = static_cast<size_t>(options.maxPredictions);
  const auto at = static_cast<size_t>(row);
  CounterRng rng(options.seed, RngPurpose::PretrainRow, step,
                 static_cast<uint64_t>(options.firstRow + row));

  // The window splits into two non-empty spans: A (text first) and B.
  std::vector<int32_t> window;
  drawWindow(rng, window);
  size_t split = 1 + rng.below(window.size() - 1);
  bool swapped = rng.below(2) == 1;
  batch.orderLabels[row] = swapped ? 1 : 0;
  size_t used =
      layoutRow(window, split, swapped, batch.inputIds + at * sequence,
                batch.typeIds + at * sequence);
  maskRow(rng, batch.inputIds + at * sequence, used,
          batch.mlmPositions + at * slots, batch.mlmLabels + at * slots,
          batch.mlmWeights + at * slots);
}

size_t PretrainBatcher::layoutRow(const std::vector<int32_t> &window,
                                  size_t split, bool swapped, int32_t *ids,
                                  int32_t *types) const {
  auto a = window.begin(), b = window.begin() + split, end = window.end();
  auto firstBegin = swapped ? b : a, firstEnd = swapped ? end : b;
  auto secondBegin = swapped ? a : b, secondEnd = swapped ? b : end;
  size_t at = 0;
  auto put = [&](int32_t id, int32_t type) {
    ids[at] = id;
    types[at] = type;
    ++at;
  };
  put(clsId, 0);
  for (auto token = firstBegin; token != firstEnd; ++token)
    put(*token, 0);
  put(sepId, 0);
  for (auto token = secondBegin; token != secondEnd; ++token)
    put(*token, 1);
  put(sepId, 1);
  size_t used = at;
  while (at < static_cast<size_t>(options.sequenceLength))
    put(padId, 0);
  return used;
}

void PretrainBatcher::maskRow(CounterRng &rng, int32_t *ids, size_t used,
                              int32_t *positions, int32_t *labels,
                              float *weights) const {
  // A random subset of the text tokens (special ids never), reported in
  // position order.
  std::vector<int32_t> candidates;
  for (size_t position = 0; position < used; ++position)
    if (ids[position] >= firstPieceId)
      candidates.push_back(static_cast<int32_t>(position));
  size_t masked = maskCount(candidates.size(), options);
  for (size_t index = 0; index < masked; ++index)
    std::swap(candidates[index],
              candidates[index + rng.below(candidates.size() - index)]);
  std::sort(candidates.begin(), candidates.begin() + masked);

  auto replacements = static_cast<uint64_t>(options.vocabSize - firstPieceId);
  for (size_t slot = 0; slot < static_cast<size_t>(options.maxPredictions);
       ++slot) {
    bool real = slot < masked;
    int32_t position = real ? candidates[slot] : 0;
    positions[slot] = position;
    labels[slot] = real ? ids[position] : 0;
    weights[slot] = real ? 1.0f : 0.0f;
    if (!real)
      continue;
    // 80% [MASK], 10% a random piece, 10% unchanged.
    uint64_t decision = rng.below(10);
    if (decision < 8)
      ids[position] = maskId;
    else if (decision == 8)
      ids[position] =
          firstPieceId + static_cast<int32_t>(rng.below(replacements));
  }
}

void PretrainBatcher::fill(uint64_t step,
                           const PretrainBatchView &batch) const {
  for (int32_t row = 0; row < options.batchSize; ++row)
    fillRow(step, row, batch);
}

PretrainBatch PretrainBatcher::make(uint64_t step) const {
  PretrainBatch batch;
  batch.resize(options);
  fill(step, batch.view());
  return batch;
}

} // namespace data
} // namespace smxrt
