//===- DataTokenizerTest.cpp - The SentencePiece tokenizer ----------------===//

#include "data/corpus.h"
#include "data/tokenizer.h"

#include "TestSupport.h"

#include <sentencepiece_trainer.h>

using namespace smxrt::data;
using smxrt_test::dataPath;
using smxrt_test::ScratchDirectory;
using smxrt_test::StatusPtr;

namespace {

std::vector<std::string_view> textsOf(const Corpus &corpus) {
  std::vector<std::string_view> texts;
  for (const Document &document : corpus.documents)
    texts.push_back(document.text);
  return texts;
}

class DataTokenizer : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_OK(readCorpus(dataPath("small_corpus.txt"), corpus));
  }
  Corpus corpus;
  ScratchDirectory scratch;
};

TEST_F(DataTokenizer, TrainsWithSpecialIds) {
  std::unique_ptr<Tokenizer> tokenizer;
  std::string path = scratch.file("small.model");
  ASSERT_OK(Tokenizer::train(textsOf(corpus), 150, path, tokenizer));
  EXPECT_EQ(tokenizer->vocabSize(), 150);
  for (int32_t id = 0; id < firstPieceId; ++id)
    EXPECT_EQ(tokenizer->piece(id), specialPieces[id]);
  // Written atomically: the model and nothing else.
  EXPECT_EQ(scratch.list(), std::vector<std::string>{"small.model"});
  EXPECT_EQ(smxrt_test::readFileBytes(path), tokenizer->serialized());
}

TEST_F(DataTokenizer, EncodesAndDecodes) {
  std::unique_ptr<Tokenizer> tokenizer;
  ASSERT_OK(Tokenizer::train(textsOf(corpus), 150, scratch.file("t.model"),
                             tokenizer));
  for (const Document &document : corpus.documents) {
    std::vector<int32_t> ids;
    ASSERT_OK(tokenizer->encode(document.text, ids));
    ASSERT_FALSE(ids.empty());
    for (int32_t id : ids) {
      // Text never encodes to [PAD], [CLS], [SEP] or [MASK].
      ASSERT_TRUE(id == unkId || id >= firstPieceId) << id;
      ASSERT_LT(id, tokenizer->vocabSize());
    }
    std::string decoded;
    ASSERT_OK(tokenizer->decode(ids, decoded));
    EXPECT_EQ(decoded, document.text);
  }
  // Special pieces in text are ordinary characters.
  std::vector<int32_t> ids;
  ASSERT_OK(tokenizer->encode("[CLS] [MASK]", ids));
  for (int32_t id : ids)
    EXPECT_TRUE(id == unkId || id >= firstPieceId) << id;
  // Control ids decode to nothing.
  std::vector<int32_t> withSpecials{clsId};
  ASSERT_OK(tokenizer->encode("the river", ids));
  withSpecials.insert(withSpecials.end(), ids.begin(), ids.end());
  withSpecials.push_back(sepId);
  withSpecials.push_back(padId);
  std::string decoded;
  ASSERT_OK(tokenizer->decode(withSpecials, decoded));
  EXPECT_EQ(decoded, "the river");
  StatusPtr status(tokenizer->decode({150}, decoded));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_OUT_OF_RANGE);
}

TEST_F(DataTokenizer, EncodeAllMatchesEncode) {
  std::unique_ptr<Tokenizer> tokenizer;
  ASSERT_OK(Tokenizer::train(textsOf(corpus), 150, scratch.file("t.model"),
                             tokenizer));
  std::vector<std::vector<int32_t>> all;
  ASSERT_OK(tokenizer->encodeAll(textsOf(corpus), all));
  ASSERT_EQ(all.size(), corpus.documents.size());
  for (size_t index = 0; index < all.size(); ++index) {
    std::vector<int32_t> ids;
    ASSERT_OK(tokenizer->encode(corpus.documents[index].text, ids));
    EXPECT_EQ(all[index], ids);
  }
}

TEST_F(DataTokenizer, TrainingIsReproducible) {
  std::unique_ptr<Tokenizer> first, second;
  ASSERT_OK(
      Tokenizer::train(textsOf(corpus), 120, scratch.file("a.model"), first));
  ASSERT_OK(
      Tokenizer::train(textsOf(corpus), 120, scratch.file("b.model"), second));
  EXPECT_EQ(smxrt_test::readFileBytes(scratch.file("a.model")),
            smxrt_test::readFileBytes(scratch.file("b.model")));
}

TEST_F(DataTokenizer, LoadsWhatItSaved) {
  std::unique_ptr<Tokenizer> trained, loaded;
  std::string path = scratch.file("t.model");
  ASSERT_OK(Tokenizer::train(textsOf(corpus), 130, path, trained));
  ASSERT_OK(Tokenizer::load(path, loaded));
  EXPECT_EQ(loaded->vocabSize(), trained->vocabSize());
  std::vector<int32_t> fromTrained, fromLoaded;
  ASSERT_OK(trained->encode(corpus.documents[3].text, fromTrained));
  ASSERT_OK(loaded->encode(corpus.documents[3].text, fromLoaded));
  EXPECT_EQ(fromTrained, fromLoaded);
}

TEST_F(DataTokenizer, SmallCorpusGivesFewerPieces) {
  Corpus tiny;
  ASSERT_OK(readCorpus(dataPath("fortunes"), tiny));
  std::unique_ptr<Tokenizer> tokenizer;
  ASSERT_OK(Tokenizer::train(textsOf(tiny), 8000, scratch.file("t.model"),
                             tokenizer));
  EXPECT_GT(tokenizer->vocabSize(), firstPieceId);
  EXPECT_LT(tokenizer->vocabSize(), 8000);
}

TEST_F(DataTokenizer, TrainingErrors) {
  std::unique_ptr<Tokenizer> tokenizer;
  std::string path = scratch.file("t.model");
  StatusPtr status(Tokenizer::train(textsOf(corpus), 5, path, tokenizer));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_STARTS_WITH(smxrt_status_message(status.get()), path + ": ");
  // Fewer pieces than the corpus has characters.
  status.reset(Tokenizer::train(textsOf(corpus), 20, path, tokenizer));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(smxrt_status_message(status.get()),
                  "cannot train a tokenizer of 20 pieces");
  EXPECT_CONTAINS(smxrt_status_message(status.get()), "Vocabulary size");
  status.reset(Tokenizer::train({}, 100, path, tokenizer));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  // Unwritable destination: nothing left behind.
  std::string unwritable = scratch.file("no-such-dir/t.model");
  status.reset(Tokenizer::train(textsOf(corpus), 100, unwritable, tokenizer));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_NOT_FOUND);
  EXPECT_STARTS_WITH(smxrt_status_message(status.get()), unwritable + ": ");
  EXPECT_TRUE(scratch.list().empty());
}

TEST_F(DataTokenizer, LoadErrors) {
  std::unique_ptr<Tokenizer> tokenizer;
  std::string missing = scratch.file("missing.model");
  StatusPtr status(Tokenizer::load(missing, tokenizer));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_NOT_FOUND);
  EXPECT_STARTS_WITH(smxrt_status_message(status.get()), missing + ": ");

  std::string garbage = scratch.file("garbage.model");
  std::ofstream(garbage) << "this is not a protocol buffer";
  status.reset(Tokenizer::load(garbage, tokenizer));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_DATA_LOSS);
  EXPECT_STARTS_WITH(smxrt_status_message(status.get()),
                     garbage + ": not a SentencePiece model");

  // A SentencePiece model with the library's default special pieces.
  std::vector<std::string> texts;
  for (const Document &document : corpus.documents)
    texts.push_back(document.text);
  std::string serialized;
  struct Iterator : sentencepiece::SentenceIterator {
    std::vector<std::string> *texts;
    size_t index = 0;
    bool done() const override { return index >= texts->size(); }
    void Next() override { ++index; }
    const std::string &value() const override { return (*texts)[index]; }
    sentencepiece::util::Status status() const override { return {}; }
  } iterator;
  iterator.texts = &texts;
  ASSERT_TRUE(
      sentencepiece::SentencePieceTrainer::Train(
          {{"vocab_size", "100"}, {"minloglevel", "1"}}, &iterator, &serialized)
          .ok());
  std::string foreign = scratch.file("foreign.model");
  std::ofstream(foreign, std::ios::binary) << serialized;
  status.reset(Tokenizer::load(foreign, tokenizer));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(smxrt_status_message(status.get()),
            foreign + ": id 0 of the tokenizer is '<unk>', not the special "
                      "piece '[PAD]'");
}

} // namespace
