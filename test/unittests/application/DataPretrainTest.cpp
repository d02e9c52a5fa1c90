//===- DataPretrainTest.cpp - Masked-LM and sentence-order batches --------===//
//
// Runs on synthetic token ids, so that every statistic is exact: document d
// holds ids that encode (d, position), which lets a test find where any
// token of a row came from.
//
//===----------------------------------------------------------------------===//

#include "data/counter_rng.h"
#include "data/pretrain_batches.h"
#include "data/tokenizer.h"

#include "TestSupport.h"

#include <cmath>
#include <map>
#include <set>

using namespace smxrt::data;
using smxrt_test::StatusPtr;

namespace {

constexpr int32_t vocab = 100000;

/// Token t of document d is 1000 * (d + 1) + t: unique and >= firstPieceId.
std::vector<std::vector<int32_t>>
syntheticDocuments(const std::vector<size_t> &lengths) {
  std::vector<std::vector<int32_t>> documents;
  for (size_t d = 0; d < lengths.size(); ++d) {
    std::vector<int32_t> ids;
    for (size_t t = 0; t < lengths[d]; ++t)
      ids.push_back(static_cast<int32_t>(1000 * (d + 1) + t));
    documents.push_back(ids);
  }
  return documents;
}

PretrainOptions smallOptions() {
  PretrainOptions options;
  options.batchSize = 4;
  options.sequenceLength = 64;
  options.maxPredictions = 20;
  options.vocabSize = vocab;
  options.seed = 1234;
  return options;
}

std::unique_ptr<PretrainBatcher>
makeBatcher(const std::vector<std::vector<int32_t>> &documents,
            const PretrainOptions &options) {
  std::unique_ptr<PretrainBatcher> batcher;
  smxrt_test::StatusPtr status(
      PretrainBatcher::create(documents, options, batcher));
  EXPECT_EQ(status, nullptr) << smxrt_status_message(status.get());
  return batcher;
}

bool sameBatch(const PretrainBatch &a, const PretrainBatch &b) {
  return a.inputIds == b.inputIds && a.typeIds == b.typeIds &&
         a.mlmPositions == b.mlmPositions && a.mlmLabels == b.mlmLabels &&
         a.mlmWeights == b.mlmWeights && a.orderLabels == b.orderLabels;
}

/// The row's ids with the masked positions restored to their labels.
std::vector<int32_t> unmaskedRow(const PretrainBatch &batch,
                                 const PretrainOptions &options, int32_t row) {
  std::vector<int32_t> ids(
      batch.inputIds.begin() + row * options.sequenceLength,
      batch.inputIds.begin() + (row + 1) * options.sequenceLength);
  for (int32_t slot = 0; slot < options.maxPredictions; ++slot) {
    size_t at = static_cast<size_t>(row * options.maxPredictions + slot);
    if (batch.mlmWeights[at] != 0)
      ids[batch.mlmPositions[at]] = batch.mlmLabels[at];
  }
  return ids;
}

TEST(DataCounterRng, StreamsAreKeyed) {
  CounterRng a(1, RngPurpose::PretrainRow, 2, 3);
  CounterRng same(1, RngPurpose::PretrainRow, 2, 3);
  CounterRng otherRow(1, RngPurpose::PretrainRow, 2, 4);
  CounterRng otherPurpose(1, RngPurpose::TrainShuffle, 2, 3);
  uint64_t first = a.next();
  EXPECT_EQ(first, same.next());
  EXPECT_NE(first, otherRow.next());
  EXPECT_NE(first, otherPurpose.next());
  // below() is uniform: chi-square over 10 buckets.
  CounterRng rng(7, RngPurpose::PretrainRow, 0, 0);
  std::vector<int> counts(10);
  for (int draw = 0; draw < 100000; ++draw) {
    uint64_t value = rng.below(10);
    ASSERT_LT(value, 10u);
    ++counts[value];
  }
  double chiSquare = 0;
  for (int count : counts)
    chiSquare += (count - 10000.0) * (count - 10000.0) / 10000.0;
  EXPECT_LT(chiSquare, 27.9); // p = 0.001 with 9 degrees of freedom.
  EXPECT_EQ(rng.below(1), 0u);
}

TEST(DataPretrain, SameStepSameBatch) {
  auto documents = syntheticDocuments({30, 5, 200, 17, 8, 60, 2, 44});
  PretrainOptions options = smallOptions();
  auto batcher = makeBatcher(documents, options);
  auto again = makeBatcher(documents, options);
  ASSERT_TRUE(batcher && again);
  EXPECT_TRUE(sameBatch(batcher->make(7), again->make(7)));
  EXPECT_TRUE(sameBatch(batcher->make(0), batcher->make(0)));
  EXPECT_FALSE(sameBatch(batcher->make(7), batcher->make(8)));
  options.seed = 1235;
  auto reseeded = makeBatcher(documents, options);
  EXPECT_FALSE(sameBatch(batcher->make(7), reseeded->make(7)));
}

TEST(DataPretrain, RowsDependOnlyOnSeedStepAndRow) {
  auto documents = syntheticDocuments({30, 5, 200, 17, 8, 60, 2, 44});
  PretrainOptions options = smallOptions();
  auto four = makeBatcher(documents, options);
  options.batchSize = 9;
  auto nine = makeBatcher(documents, options);
  PretrainBatch small = four->make(3), large = nine->make(3);
  size_t tokens = 4 * 64, slots = 4 * 20;
  EXPECT_TRUE(std::equal(small.inputIds.begin(), small.inputIds.end(),
                         large.inputIds.begin()));
  EXPECT_TRUE(std::equal(small.mlmLabels.begin(), small.mlmLabels.end(),
                         large.mlmLabels.begin()));
  EXPECT_EQ(large.inputIds.size(), 9 * 64u);
  EXPECT_EQ(small.inputIds.size(), tokens);
  EXPECT_EQ(small.mlmPositions.size(), slots);
  // fillRow alone gives the same row.
  PretrainBatch single;
  single.resize(nine->getOptions());
  nine->fillRow(3, 6, single.view());
  EXPECT_TRUE(std::equal(single.inputIds.begin() + 6 * 64,
                         single.inputIds.begin() + 7 * 64,
                         large.inputIds.begin() + 6 * 64));
}

TEST(DataPretrain, LayoutInvariants) {
  auto documents = syntheticDocuments({3, 5, 200, 17, 1, 60, 2, 44, 9});
  PretrainOptions options = smallOptions();
  options.batchSize = 16;
  auto batcher = makeBatcher(documents, options);
  const int32_t S = options.sequenceLength, P = options.maxPredictions;
  for (uint64_t step = 0; step < 50; ++step) {
    PretrainBatch batch = batcher->make(step);
    for (int32_t row = 0; row < options.batchSize; ++row) {
      const int32_t *ids = &batch.inputIds[row * S];
      const int32_t *types = &batch.typeIds[row * S];
      ASSERT_EQ(ids[0], clsId);
      std::vector<int32_t> seps;
      for (int32_t at = 0; at < S; ++at)
        if (ids[at] == sepId)
          seps.push_back(at);
      ASSERT_EQ(seps.size(), 2u);
      ASSERT_GE(seps[0], 2);           // A is not empty.
      ASSERT_GE(seps[1], seps[0] + 2); // Neither is B.
      for (int32_t at = 0; at < S; ++at) {
        int32_t expectedType = at > seps[0] && at <= seps[1] ? 1 : 0;
        ASSERT_EQ(types[at], expectedType) << "row " << row << " at " << at;
        if (at > seps[1]) {
          ASSERT_EQ(ids[at], padId);
        } else if (at != 0 && at != seps[0] && at != seps[1]) {
          ASSERT_NE(ids[at], padId);
        }
      }
      // Masked slots: ascending positions of text tokens, then padding.
      int32_t previous = -1;
      bool padding = false;
      for (int32_t slot = 0; slot < P; ++slot) {
        int32_t position = batch.mlmPositions[row * P + slot];
        int32_t label = batch.mlmLabels[row * P + slot];
        float weight = batch.mlmWeights[row * P + slot];
        if (weight == 0) {
          padding = true;
          ASSERT_EQ(position, 0);
          ASSERT_EQ(label, 0);
          continue;
        }
        ASSERT_FALSE(padding) << "a real slot after padding";
        ASSERT_EQ(weight, 1.0f);
        ASSERT_GT(position, previous);
        previous = position;
        ASSERT_NE(position, 0);
        ASSERT_NE(position, seps[0]);
        ASSERT_NE(position, seps[1]);
        ASSERT_LT(position, seps[1]);
        ASSERT_GE(label, firstPieceId);
      }
      ASSERT_TRUE(batch.orderLabels[row] == 0 || batch.orderLabels[row] == 1);
    }
  }
}

/// Token id -> (document, position) of syntheticDocuments.
std::pair<int32_t, int32_t> origin(int32_t id) {
  return {id / 1000 - 1, id % 1000};
}

TEST(DataPretrain, SegmentsAreConsecutiveSpansOfTheDocumentStream) {
  std::vector<size_t> lengths{3, 5, 200, 17, 1, 60, 2, 44, 9};
  auto documents = syntheticDocuments(lengths);
  PretrainOptions options = smallOptions();
  options.batchSize = 32;
  auto batcher = makeBatcher(documents, options);
  const int32_t S = options.sequenceLength;
  int swapped = 0, rows = 0;
  for (uint64_t step = 0; step < 20; ++step) {
    PretrainBatch batch = batcher->make(step);
    for (int32_t row = 0; row < options.batchSize; ++row, ++rows) {
      std::vector<int32_t> ids = unmaskedRow(batch, options, row);
      std::vector<int32_t> first, second;
      size_t at = 1;
      for (; ids[at] != sepId; ++at)
        first.push_back(ids[at]);
      for (++at; ids[at] != sepId; ++at)
        second.push_back(ids[at]);
      bool isSwapped = batch.orderLabels[row] == 1;
      swapped += isSwapped;
      std::vector<int32_t> window = isSwapped ? second : first;
      const std::vector<int32_t> &tail = isSwapped ? first : second;
      window.insert(window.end(), tail.begin(), tail.end());
      // The window fills the row unless the whole corpus is shorter.
      ASSERT_EQ(window.size(), static_cast<size_t>(S - 3));
      // Each token follows the previous one in the stream of documents:
      // the next position, or the start of the next document (wrapping).
      for (size_t index = 1; index < window.size(); ++index) {
        auto [document, position] = origin(window[index - 1]);
        auto [nextDocument, nextPosition] = origin(window[index]);
        bool sameDocument =
            nextDocument == document && nextPosition == position + 1;
        bool nextDocumentStart =
            position + 1 == static_cast<int32_t>(lengths[document]) &&
            nextDocument ==
                (document + 1) % static_cast<int32_t>(lengths.size()) &&
            nextPosition == 0;
        ASSERT_TRUE(sameDocument || nextDocumentStart)
            << "step " << step << " row " << row << " index " << index;
      }
      // A window starts at a document's beginning unless that document is
      // longer than the window.
      auto [startDocument, startPosition] = origin(window[0]);
      if (lengths[startDocument] <= static_cast<size_t>(S - 3)) {
        ASSERT_EQ(startPosition, 0);
      }
    }
  }
  // About half the rows are swapped.
  EXPECT_NEAR(static_cast<double>(swapped) / rows, 0.5, 0.06);
}

TEST(DataPretrain, ShortCorpusGivesShortRows) {
  auto documents = syntheticDocuments({2, 0, 1});
  PretrainOptions options = smallOptions();
  auto batcher = makeBatcher(documents, options);
  ASSERT_TRUE(batcher);
  EXPECT_EQ(batcher->documentCount(), 2u); // The empty one is dropped.
  PretrainBatch batch = batcher->make(0);
  for (int32_t row = 0; row < options.batchSize; ++row) {
    std::vector<int32_t> ids = unmaskedRow(batch, options, row);
    // [CLS] + 3 tokens + 2 [SEP], then padding.
    EXPECT_EQ(ids[6], padId);
    EXPECT_NE(ids[4], padId);
    std::multiset<int32_t> text;
    for (int32_t at = 1; at < 6; ++at)
      if (ids[at] != sepId)
        text.insert(ids[at]);
    EXPECT_EQ(text, (std::multiset<int32_t>{1000, 1001, 3000}));
  }
}

TEST(DataPretrain, MaskingStatistics) {
  // Documents of text ids with a sprinkling of [UNK], which is never masked.
  std::vector<std::vector<int32_t>> documents;
  for (int d = 0; d < 50; ++d) {
    std::vector<int32_t> ids;
    for (int t = 0; t < 37 + 11 * d; ++t)
      ids.push_back(t % 13 == 5 ? unkId : 5 + (d * 131 + t * 17) % 5000);
    documents.push_back(ids);
  }
  PretrainOptions options = smallOptions();
  options.sequenceLength = 128;
  options.maxPredictions = 80;
  options.vocabSize = 5005;
  options.batchSize = 64;
  auto batcher = makeBatcher(documents, options);
  const int32_t S = options.sequenceLength, P = options.maxPredictions;
  size_t candidates = 0, masked = 0, toMask = 0, kept = 0, randomized = 0;
  for (uint64_t step = 0; step < 40; ++step) {
    PretrainBatch batch = batcher->make(step);
    for (int32_t row = 0; row < options.batchSize; ++row) {
      std::vector<int32_t> original = unmaskedRow(batch, options, row);
      size_t rowCandidates = 0, rowMasked = 0;
      for (int32_t at = 0; at < S; ++at)
        rowCandidates += original[at] >= firstPieceId;
      for (int32_t slot = 0; slot < P; ++slot) {
        size_t index = static_cast<size_t>(row * P + slot);
        if (batch.mlmWeights[index] == 0)
          continue;
        ++rowMasked;
        int32_t now = batch.inputIds[row * S + batch.mlmPositions[index]];
        int32_t label = batch.mlmLabels[index];
        ASSERT_GE(label, firstPieceId); // Never [UNK] or a special id.
        if (now == maskId)
          ++toMask;
        else if (now == label)
          ++kept;
        else {
          ++randomized;
          ASSERT_GE(now, firstPieceId);
          ASSERT_LT(now, options.vocabSize);
        }
      }
      // Exactly round(15%) of the row's maskable tokens, at most P.
      size_t expected = std::min<size_t>(
          P, std::max<size_t>(1, static_cast<size_t>(
                                     std::floor(0.15 * rowCandidates + 0.5))));
      ASSERT_EQ(rowMasked, expected);
      // Nothing else changed.
      for (int32_t at = 0; at < S; ++at) {
        bool isMasked = false;
        for (int32_t slot = 0; slot < P; ++slot)
          isMasked |= batch.mlmWeights[row * P + slot] != 0 &&
                      batch.mlmPositions[row * P + slot] == at;
        if (!isMasked) {
          ASSERT_EQ(batch.inputIds[row * S + at], original[at]);
        }
      }
      candidates += rowCandidates;
      masked += rowMasked;
    }
  }
  double rate = static_cast<double>(masked) / candidates;
  EXPECT_NEAR(rate, 0.15, 0.005);
  // 80/10/10 within 2 points (n is about 38000; the standard deviation of
  // the 10% shares is about 0.15 points). A random id equal to the label
  // counts as kept, which moves 1/5000 of the random share.
  EXPECT_NEAR(static_cast<double>(toMask) / masked, 0.8, 0.02);
  EXPECT_NEAR(static_cast<double>(kept) / masked, 0.1, 0.02);
  EXPECT_NEAR(static_cast<double>(randomized) / masked, 0.1, 0.02);
}

TEST(DataPretrain, AtMostMaxPredictions) {
  auto documents = syntheticDocuments({500, 500});
  PretrainOptions options = smallOptions();
  options.sequenceLength = 256;
  options.maxPredictions = 10; // 15% of 253 would be 38.
  auto batcher = makeBatcher(documents, options);
  PretrainBatch batch = batcher->make(5);
  for (int32_t row = 0; row < options.batchSize; ++row)
    for (int32_t slot = 0; slot < 10; ++slot)
      EXPECT_EQ(batch.mlmWeights[row * 10 + slot], 1.0f);
  // A high mask probability is capped too.
  options.maskProbability = 1.0;
  options.maxPredictions = 300;
  batcher = makeBatcher(documents, options);
  batch = batcher->make(0);
  int32_t real = 0;
  for (int32_t slot = 0; slot < 300; ++slot)
    real += batch.mlmWeights[slot] != 0;
  EXPECT_EQ(real, 253);
}

TEST(DataPretrain, RejectsBadInput) {
  auto documents = syntheticDocuments({10, 10});
  std::unique_ptr<PretrainBatcher> batcher;
  auto expectInvalid = [&](const std::vector<std::vector<int32_t>> &docs,
                           const PretrainOptions &options,
                           const std::string &message) {
    StatusPtr status(PretrainBatcher::create(docs, options, batcher));
    EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
    EXPECT_EQ(smxrt_status_message(status.get()), message);
  };
  PretrainOptions options = smallOptions();
  options.batchSize = 0;
  expectInvalid(documents, options,
                "pre-training batch size 0: must be at least 1");
  options = smallOptions();
  options.sequenceLength = 4;
  expectInvalid(documents, options,
                "pre-training sequence length 4: must be at least 5 ([CLS] a "
                "[SEP] b [SEP])");
  options = smallOptions();
  options.vocabSize = 5;
  expectInvalid(documents, options,
                "vocabulary size 5: must exceed the 5 special ids");
  options = smallOptions();
  options.maskProbability = 0;
  expectInvalid(documents, options, "mask probability 0: must be in (0, 1]");
  options = smallOptions();
  options.maxPredictions = 0;
  expectInvalid(documents, options, "max predictions 0: must be at least 1");
  options = smallOptions();
  options.vocabSize = 1005;
  expectInvalid(documents, options,
                "document 0: token 5 is id 1005, outside the vocabulary of "
                "1005");
  expectInvalid(syntheticDocuments({1, 0}), smallOptions(),
                "the documents hold 1 tokens; a pre-training row needs at "
                "least 2");
}

} // namespace
