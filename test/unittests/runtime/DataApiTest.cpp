//===- DataApiTest.cpp - The data pipeline through the C ABI --------------===//
//
// The same pipeline as the Data*Test suites, as a program sees it through
// libsmx_runtime: corpus -> tokenizer -> pre-training and task batches.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/data.h"

#include "RuntimeTestSupport.h"

using smxrt_test::ScratchDirectory;
using smxrt_test::StatusPtr;

namespace {

std::string dataPath(const std::string &name) {
  return std::string(SMXRT_TEST_DATA_DIR) + "/" + name;
}

struct CorpusDeleter {
  void operator()(smxrt_corpus_t *corpus) const { smxrt_corpus_free(corpus); }
};
struct TokenizerDeleter {
  void operator()(smxrt_tokenizer_t *tokenizer) const {
    smxrt_tokenizer_free(tokenizer);
  }
};
struct PretrainerDeleter {
  void operator()(smxrt_pretrainer_t *pretrainer) const {
    smxrt_pretrainer_free(pretrainer);
  }
};
struct TaskDeleter {
  void operator()(smxrt_task_t *task) const { smxrt_task_free(task); }
};
struct BatcherDeleter {
  void operator()(smxrt_task_batcher_t *batcher) const {
    smxrt_task_batcher_free(batcher);
  }
};
using CorpusPtr = std::unique_ptr<smxrt_corpus_t, CorpusDeleter>;
using TokenizerPtr = std::unique_ptr<smxrt_tokenizer_t, TokenizerDeleter>;
using PretrainerPtr = std::unique_ptr<smxrt_pretrainer_t, PretrainerDeleter>;
using TaskPtr = std::unique_ptr<smxrt_task_t, TaskDeleter>;
using BatcherPtr = std::unique_ptr<smxrt_task_batcher_t, BatcherDeleter>;

class DataApi : public ::testing::Test {
protected:
  void SetUp() override {
    smxrt_corpus_t *read = nullptr;
    ASSERT_OK(smxrt_corpus_read(dataPath("small_corpus.txt").c_str(), &read));
    corpus.reset(read);
    smxrt_tokenizer_t *trained = nullptr;
    ASSERT_OK(smxrt_tokenizer_train(corpus.get(), 120,
                                    scratch.file("tok").c_str(), &trained));
    tokenizer.reset(trained);
  }
  ScratchDirectory scratch;
  CorpusPtr corpus;
  TokenizerPtr tokenizer;
};

TEST_F(DataApi, Corpus) {
  smxrt_corpus_t *read = nullptr;
  ASSERT_OK(smxrt_corpus_read(dataPath("fortunes").c_str(), &read));
  CorpusPtr fortunes(read);
  EXPECT_EQ(smxrt_corpus_document_count(fortunes.get()), 10u);
  EXPECT_EQ(smxrt_corpus_category_count(fortunes.get()), 3u);
  EXPECT_STREQ(smxrt_corpus_category_name(fortunes.get(), 2), "science");
  EXPECT_EQ(smxrt_corpus_category_name(fortunes.get(), 3), nullptr);
  EXPECT_STREQ(smxrt_corpus_document_text(fortunes.get(), 3),
               "Never trust a cat with your hat.");
  EXPECT_EQ(smxrt_corpus_document_category(fortunes.get(), 9), 2u);
  EXPECT_EQ(smxrt_corpus_document_text(fortunes.get(), 10), nullptr);
  EXPECT_EQ(smxrt_corpus_document_category(fortunes.get(), 10), SIZE_MAX);

  std::string missing = dataPath("missing");
  StatusPtr status(smxrt_corpus_read(missing.c_str(), &read));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_NOT_FOUND);
  EXPECT_EQ(read, nullptr);
  EXPECT_EQ(smxrt_status_message(status.get()),
            missing + ": cannot read: No such file or directory");
  status.reset(smxrt_corpus_read(missing.c_str(), nullptr));
  EXPECT_EQ(smxrt_status_message(status.get()),
            std::string("smxrt_corpus_read: out_corpus is NULL"));
}

TEST_F(DataApi, DefaultCorpus) {
  if (!std::filesystem::exists(SMXRT_DEFAULT_CORPUS_PATH "/fortunes"))
    GTEST_SKIP() << SMXRT_DEFAULT_CORPUS_PATH << " is absent";
  smxrt_corpus_t *read = nullptr;
  ASSERT_OK(smxrt_corpus_read(nullptr, &read));
  CorpusPtr fortunes(read);
  EXPECT_GT(smxrt_corpus_document_count(fortunes.get()), 10000u);
  smxrt_task_t *made = nullptr;
  ASSERT_OK(smxrt_task_from_corpus(fortunes.get(), &made));
  TaskPtr task(made);
  EXPECT_EQ(smxrt_task_class_count(task.get()),
            smxrt_corpus_category_count(fortunes.get()));
  int32_t majority = -1;
  double fraction = 0;
  ASSERT_OK(smxrt_task_majority_baseline(task.get(), &majority, &fraction));
  EXPECT_GT(fraction, 0.0);
  EXPECT_LT(fraction, 1.0);
}

TEST_F(DataApi, Tokenizer) {
  EXPECT_EQ(scratch.list(), std::vector<std::string>{"tok.model"});
  int32_t vocab = smxrt_tokenizer_vocab_size(tokenizer.get());
  EXPECT_EQ(vocab, 120);
  EXPECT_STREQ(smxrt_tokenizer_piece(tokenizer.get(), SMXRT_TOKEN_MASK),
               "[MASK]");
  EXPECT_EQ(smxrt_tokenizer_piece(tokenizer.get(), vocab), nullptr);
  EXPECT_EQ(smxrt_tokenizer_piece(tokenizer.get(), -1), nullptr);

  const char *text = "The cat watches the rain.";
  size_t count = 0;
  StatusPtr status(
      smxrt_tokenizer_encode(tokenizer.get(), text, nullptr, 0, &count));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_OUT_OF_RANGE);
  ASSERT_GT(count, 0u);
  std::vector<int32_t> ids(count);
  ASSERT_OK(smxrt_tokenizer_encode(tokenizer.get(), text, ids.data(),
                                   ids.size(), &count));
  char decoded[64];
  size_t length = 0;
  ASSERT_OK(smxrt_tokenizer_decode(tokenizer.get(), ids.data(), ids.size(),
                                   decoded, sizeof(decoded), &length));
  EXPECT_STREQ(decoded, text);
  EXPECT_EQ(length, std::strlen(text));
  status.reset(smxrt_tokenizer_decode(tokenizer.get(), ids.data(), ids.size(),
                                      decoded, length, &length));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_OUT_OF_RANGE);

  smxrt_tokenizer_t *loaded = nullptr;
  ASSERT_OK(smxrt_tokenizer_load(scratch.file("tok.model").c_str(), &loaded));
  TokenizerPtr reloaded(loaded);
  std::vector<int32_t> again(count);
  ASSERT_OK(smxrt_tokenizer_encode(reloaded.get(), text, again.data(),
                                   again.size(), &count));
  EXPECT_EQ(again, ids);
}

TEST_F(DataApi, PretrainBatches) {
  smxrt_pretrain_options_t options;
  smxrt_pretrain_options_init(&options);
  EXPECT_EQ(options.max_predictions, 80);
  EXPECT_DOUBLE_EQ(options.mask_probability, 0.15);
  options.batch_size = 3;
  options.sequence_length = 32;
  options.max_predictions = 0; // The default.
  options.seed = 42;
  smxrt_pretrainer_t *created = nullptr;
  ASSERT_OK(smxrt_pretrainer_create(corpus.get(), tokenizer.get(), &options,
                                    &created));
  PretrainerPtr pretrainer(created);
  smxrt_pretrain_options_t effective =
      smxrt_pretrainer_options(pretrainer.get());
  EXPECT_EQ(effective.max_predictions, 80);
  EXPECT_EQ(effective.vocab_size, 120);

  struct Buffers {
    std::vector<int32_t> ids = std::vector<int32_t>(3 * 32);
    std::vector<int32_t> types = std::vector<int32_t>(3 * 32);
    std::vector<int32_t> positions = std::vector<int32_t>(3 * 80);
    std::vector<int32_t> labels = std::vector<int32_t>(3 * 80);
    std::vector<float> weights = std::vector<float>(3 * 80);
    std::vector<int32_t> order = std::vector<int32_t>(3);
    smxrt_pretrain_batch_t batch() {
      return {ids.data(),    types.data(),   positions.data(),
              labels.data(), weights.data(), order.data()};
    }
  } first, second, third;
  smxrt_pretrain_batch_t batch = first.batch();
  ASSERT_OK(smxrt_pretrainer_batch(pretrainer.get(), 10, &batch));
  batch = second.batch();
  ASSERT_OK(smxrt_pretrainer_batch(pretrainer.get(), 10, &batch));
  batch = third.batch();
  ASSERT_OK(smxrt_pretrainer_batch(pretrainer.get(), 11, &batch));
  EXPECT_EQ(first.ids, second.ids);
  EXPECT_EQ(first.weights, second.weights);
  EXPECT_NE(first.ids, third.ids);
  for (int row = 0; row < 3; ++row)
    EXPECT_EQ(first.ids[row * 32], SMXRT_TOKEN_CLS);

  batch.order_labels = nullptr;
  StatusPtr status(smxrt_pretrainer_batch(pretrainer.get(), 0, &batch));
  EXPECT_EQ(smxrt_status_message(status.get()),
            std::string("smxrt_pretrainer_batch: batch->order_labels is NULL"));
  options.sequence_length = 4;
  status.reset(smxrt_pretrainer_create(corpus.get(), tokenizer.get(), &options,
                                       &created));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(created, nullptr);
}

TEST_F(DataApi, TaskBatches) {
  std::string train = scratch.file("train.tsv");
  std::ofstream(train) << "sentence\tlabel\n"
                          "the river runs\tgood\n"
                          "the bread is warm\tgood\n"
                          "rain falls\tbad\n"
                          "the cat waits\tbad\n"
                          "the stars are bright\tgood\n";
  std::string dev = scratch.file("dev.tsv");
  std::ofstream(dev) << "sentence\tlabel\nthe train leaves\tbad\n"
                        "apples\tgood\nsnow\tgood\n";
  smxrt_task_t *read = nullptr;
  ASSERT_OK(smxrt_task_read_tsv(train.c_str(), dev.c_str(), nullptr, &read));
  TaskPtr task(read);
  EXPECT_EQ(smxrt_task_label_kind(task.get()), SMXRT_LABEL_CLASSIFICATION);
  EXPECT_EQ(smxrt_task_label_dtype(task.get()), SMXRT_DTYPE_I32);
  EXPECT_EQ(smxrt_task_class_count(task.get()), 2u);
  EXPECT_STREQ(smxrt_task_class_name(task.get(), 0), "bad");
  EXPECT_EQ(smxrt_task_train_count(task.get()), 5u);
  EXPECT_EQ(smxrt_task_eval_count(task.get()), 3u);
  int32_t majority = -1;
  double fraction = 0;
  ASSERT_OK(smxrt_task_majority_baseline(task.get(), &majority, &fraction));
  EXPECT_EQ(majority, 1);
  EXPECT_DOUBLE_EQ(fraction, 2.0 / 3.0);

  smxrt_task_batcher_t *created = nullptr;
  ASSERT_OK(smxrt_task_batcher_create(task.get(), tokenizer.get(), 2, 16, 7,
                                      &created));
  BatcherPtr batcher(created);
  EXPECT_EQ(smxrt_task_batcher_train_batches(batcher.get()), 2u);
  EXPECT_EQ(smxrt_task_batcher_eval_batches(batcher.get()), 2u);
  std::vector<int32_t> ids(2 * 16), types(2 * 16), labels(2);
  smxrt_task_batch_t batch{ids.data(), types.data(), labels.data()};
  ASSERT_OK(smxrt_task_batcher_train_batch(batcher.get(), 3, 1, &batch));
  size_t valid = 0;
  ASSERT_OK(smxrt_task_batcher_eval_batch(batcher.get(), 1, &batch, &valid));
  EXPECT_EQ(valid, 1u);
  EXPECT_EQ(labels, (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(ids[16], SMXRT_TOKEN_PAD);

  // Errors carry file:line.
  std::string bad = scratch.file("bad.tsv");
  std::ofstream(bad) << "sentence\tlabel\nfine\t1\nbroken\n";
  StatusPtr status(smxrt_task_read_tsv(bad.c_str(), nullptr, nullptr, &read));
  EXPECT_EQ(smxrt_status_message(status.get()),
            bad + ":3: 1 tab-separated columns; the header has 2");
  smxrt_tsv_options_t options{nullptr, nullptr, "score", SMXRT_LABEL_AUTO};
  status.reset(smxrt_task_read_tsv(train.c_str(), nullptr, &options, &read));
  EXPECT_EQ(smxrt_status_message(status.get()),
            train + ":1: no column named 'score' in the header (columns: "
                    "'sentence', 'label')");
}

} // namespace
