//===- task_batches.cpp - Fine-tuning batches -----------------------------===//

#include "data/task_batches.h"

#include "data/counter_rng.h"

#include "status_internal.h"

#include <algorithm>
#include <string_view>

namespace smxrt {
namespace data {
namespace {

/// Encodes the a (and b) texts of `examples` and packs them into rows.
template <typename Row>
smxrt_status_t encodeExamples(const std::vector<Example> &examples, bool pairs,
                              const Tokenizer &tokenizer,
                              int32_t sequenceLength, std::vector<Row> &rows) {
  std::vector<std::string_view> textsA, textsB;
  for (const Example &example : examples) {
    textsA.push_back(example.textA);
    if (pairs)
      textsB.push_back(example.textB);
  }
  std::vector<std::vector<int32_t>> idsA, idsB;
  SMXRT_RETURN_IF_ERROR(tokenizer.encodeAll(textsA, idsA));
  SMXRT_RETURN_IF_ERROR(tokenizer.encodeAll(textsB, idsB));
  rows.clear();
  rows.reserve(examples.size());
  for (size_t index = 0; index < examples.size(); ++index)
    rows.push_back(Row{packExample(idsA[index], pairs ? &idsB[index] : nullptr,
                                   sequenceLength),
                       examples[index].label, examples[index].value});
  return nullptr;
}

} // namespace

PackedExample packExample(const std::vector<int32_t> &a,
                          const std::vector<int32_t> *b,
                          int32_t sequenceLength) {
  size_t special = b ? 3 : 2;
  size_t budget = static_cast<size_t>(sequenceLength) - special;
  size_t lengthA = a.size(), lengthB = b ? b->size() : 0;
  while (lengthA + lengthB > budget) {
    if (lengthA > lengthB)
      --lengthA;
    else
      --lengthB;
  }
  PackedExample packed;
  packed.ids.reserve(lengthA + lengthB + special);
  packed.ids.push_back(clsId);
  packed.ids.insert(packed.ids.end(), a.begin(), a.begin() + lengthA);
  packed.ids.push_back(sepId);
  packed.secondStart = packed.ids.size();
  if (b) {
    packed.ids.insert(packed.ids.end(), b->begin(), b->begin() + lengthB);
    packed.ids.push_back(sepId);
  }
  return packed;
}

smxrt_status_t TaskBatcher::create(const Task &task, const Tokenizer &tokenizer,
                                   int32_t batchSize, int32_t sequenceLength,
                                   uint64_t seed,
                                   std::unique_ptr<TaskBatcher> &batcher) {
  if (batchSize < 1)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "fine-tuning batch size %d: must be at least 1",
                       batchSize);
  int32_t minimum = task.pairs ? 5 : 3;
  if (sequenceLength < minimum)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "fine-tuning sequence length %d: must be at least %d "
                       "(%s)",
                       sequenceLength, minimum,
                       task.pairs ? "[CLS] a [SEP] b [SEP]" : "[CLS] a [SEP]");
  if (task.train.size() < static_cast<size_t>(batchSize))
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "the training set has %zu examples, fewer than one "
                       "batch of %d",
                       task.train.size(), batchSize);
  if (task.train.size() > UINT32_MAX)
    return makeStatusf(SMXRT_STATUS_RESOURCE_EXHAUSTED,
                       "the training set has %zu examples; at most %u are "
                       "supported",
                       task.train.size(), UINT32_MAX);
  std::unique_ptr<TaskBatcher> created(new TaskBatcher());
  created->kind = task.kind;
  created->rows = batchSize;
  created->sequence = sequenceLength;
  created->seed = seed;
  SMXRT_RETURN_IF_ERROR(encodeExamples(task.train, task.pairs, tokenizer,
                                       sequenceLength, created->train));
  SMXRT_RETURN_IF_ERROR(encodeExamples(task.eval, task.pairs, tokenizer,
                                       sequenceLength, created->eval));
  batcher = std::move(created);
  return nullptr;
}

std::vector<uint32_t> TaskBatcher::epochOrder(uint64_t epoch) const {
  // Fisher-Yates from the back, one draw per position.
  std::vector<uint32_t> permutation(train.size());
  for (size_t index = 0; index < permutation.size(); ++index)
    permutation[index] = static_cast<uint32_t>(index);
  CounterRng rng(seed, RngPurpose::TrainShuffle, epoch, 0);
  for (size_t index = permutation.size(); index > 1; --index)
    std::swap(permutation[index - 1], permutation[rng.below(index)]);
  return permutation;
}

void TaskBatcher::fillRow(size_t row, const Row *example,
                          const TaskBatchView &batch) const {
  auto length = static_cast<size_t>(sequence);
  int32_t *ids = batch.inputIds + row * length;
  int32_t *types = batch.typeIds + row * length;
  std::fill(ids, ids + length, padId);
  std::fill(types, types + length, 0);
  if (kind == LabelKind::Regression)
    static_cast<float *>(batch.labels)[row] = example ? example->value : 0.0f;
  else
    static_cast<int32_t *>(batch.labels)[row] = example ? example->label : 0;
  if (!example)
    return;
  const PackedExample &packed = example->packed;
  std::copy(packed.ids.begin(), packed.ids.end(), ids);
  std::fill(types + packed.secondStart, types + packed.ids.size(), 1);
}

smxrt_status_t TaskBatcher::fillTrain(uint64_t epoch, size_t index,
                                      const TaskBatchView &batch) const {
  if (index >= trainBatches())
    return makeStatusf(SMXRT_STATUS_OUT_OF_RANGE,
                       "training batch %zu: an epoch has %zu batches", index,
                       trainBatches());
  std::lock_guard<std::mutex> lock(orderMutex);
  if (orderEpoch != epoch) {
    order = epochOrder(epoch);
    orderEpoch = epoch;
  }
  for (size_t row = 0; row < static_cast<size_t>(viewRows()); ++row)
    fillRow(row, &train[order[index * rows + shareFirst + row]], batch);
  return nullptr;
}

smxrt_status_t TaskBatcher::fillEval(size_t index, const TaskBatchView &batch,
                                     size_t &validRows) const {
  if (index >= evalBatches())
    return makeStatusf(SMXRT_STATUS_OUT_OF_RANGE,
                       "evaluation batch %zu: the evaluation set has %zu "
                       "batches",
                       index, evalBatches());
  size_t first = index * rows + static_cast<size_t>(shareFirst);
  size_t available = eval.size() > first ? eval.size() - first : 0;
  validRows = std::min(static_cast<size_t>(viewRows()), available);
  for (size_t row = 0; row < static_cast<size_t>(viewRows()); ++row)
    fillRow(row, row < validRows ? &eval[first + row] : nullptr, batch);
  return nullptr;
}

} // namespace data
} // namespace smxrt
