//===- DataTaskTest.cpp - Fine-tuning tasks and their batches -------------===//

#include "data/corpus.h"
#include "data/task.h"
#include "data/task_batches.h"
#include "data/text.h"
#include "data/tokenizer.h"

#include "TestSupport.h"

#include <map>
#include <set>

using namespace smxrt::data;
using smxrt_test::dataPath;
using smxrt_test::ScratchDirectory;
using smxrt_test::StatusPtr;

namespace {

class DataTask : public ::testing::Test {
protected:
  std::string write(const std::string &name, const std::string &contents) {
    std::string path = scratch.file(name);
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }
  /// Reads a task that must fail; returns the message.
  std::string failure(const std::string &train,
                      const std::optional<std::string> &eval,
                      const TsvOptions &options = TsvOptions()) {
    Task task;
    StatusPtr status(readTsvTask(train, eval, options, task));
    EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
    return smxrt_status_message(status.get());
  }
  ScratchDirectory scratch;
};

TEST_F(DataTask, ReadsSingleSentencesWithClassIndices) {
  std::string train = write("train.tsv", "sentence\tlabel\n"
                                         "a  fine film\t1\n"
                                         "dull\t0\r\n"
                                         "\n"
                                         "just great\t1\n");
  std::string dev = write("dev.tsv", "label\tsentence\n2\tbad\n");
  Task task;
  ASSERT_OK(readTsvTask(train, dev, TsvOptions(), task));
  EXPECT_EQ(task.kind, LabelKind::Classification);
  EXPECT_FALSE(task.pairs);
  EXPECT_EQ(task.classNames, (std::vector<std::string>{"0", "1", "2"}));
  ASSERT_EQ(task.train.size(), 3u);
  EXPECT_EQ(task.train[0].textA, "a fine film");
  EXPECT_EQ(task.train[1].label, 0);
  EXPECT_EQ(task.train[2].label, 1);
  ASSERT_EQ(task.eval.size(), 1u);
  EXPECT_EQ(task.eval[0].textA, "bad");
  EXPECT_EQ(task.eval[0].label, 2);
}

TEST_F(DataTask, ReadsPairsWithClassNames) {
  std::string train = write("train.tsv", "index\tpremise\thypothesis\tgold\n"
                                         "0\tA man sleeps.\tA man rests.\tyes\n"
                                         "1\tIt rains.\tIt is dry.\tno\n"
                                         "2\tCats purr.\tDogs bark.\tmaybe\n");
  std::string dev = write("dev.tsv", "premise\tgold\thypothesis\tindex\n"
                                     "Snow.\tno\tHeat.\t9\n");
  TsvOptions options;
  options.textAColumn = "premise";
  options.textBColumn = "hypothesis";
  options.labelColumn = "gold";
  Task task;
  ASSERT_OK(readTsvTask(train, dev, options, task));
  EXPECT_TRUE(task.pairs);
  EXPECT_EQ(task.classNames, (std::vector<std::string>{"maybe", "no", "yes"}));
  EXPECT_EQ(task.train[0].label, 2);
  EXPECT_EQ(task.train[0].textB, "A man rests.");
  EXPECT_EQ(task.eval[0].textA, "Snow.");
  EXPECT_EQ(task.eval[0].textB, "Heat.");
  EXPECT_EQ(task.eval[0].label, 1);
  // Without names the two non-label columns are the texts, in order.
  std::string plain = write("plain.tsv", "s1\ts2\tlabel\nx\ty\tpos\n");
  ASSERT_OK(readTsvTask(plain, plain, TsvOptions(), task));
  EXPECT_TRUE(task.pairs);
  EXPECT_EQ(task.train[0].textA, "x");
  EXPECT_EQ(task.train[0].textB, "y");
}

TEST_F(DataTask, InfersRegression) {
  std::string train = write("sts.tsv", "sentence1\tsentence2\tlabel\n"
                                       "a\tb\t4.5\n"
                                       "c\td\t0\n"
                                       "e\tf\t-1e-1\n");
  Task task;
  ASSERT_OK(readTsvTask(train, train, TsvOptions(), task));
  EXPECT_EQ(task.kind, LabelKind::Regression);
  EXPECT_TRUE(task.classNames.empty());
  EXPECT_FLOAT_EQ(task.train[0].value, 4.5f);
  EXPECT_FLOAT_EQ(task.train[2].value, -0.1f);
  // Integers alone are classes unless regression is asked for.
  std::string integers = write("int.tsv", "text\tlabel\na\t3\nb\t1\n");
  ASSERT_OK(readTsvTask(integers, integers, TsvOptions(), task));
  EXPECT_EQ(task.kind, LabelKind::Classification);
  TsvOptions regression;
  regression.kind = LabelKind::Regression;
  ASSERT_OK(readTsvTask(integers, integers, regression, task));
  EXPECT_EQ(task.kind, LabelKind::Regression);
  EXPECT_FLOAT_EQ(task.train[0].value, 3.0f);
  // Numbers read as class names when classification is asked for.
  TsvOptions classification;
  classification.kind = LabelKind::Classification;
  ASSERT_OK(readTsvTask(train, train, classification, task));
  EXPECT_EQ(task.kind, LabelKind::Classification);
  EXPECT_EQ(task.classNames, (std::vector<std::string>{"-1e-1", "0", "4.5"}));
}

TEST_F(DataTask, ErrorsNameFileAndLine) {
  std::string good = write("good.tsv", "text\tlabel\na\tx\nb\ty\n");
  std::string columns =
      write("columns.tsv", "text\tlabel\na\tx\n\nb\ty\textra\n");
  EXPECT_EQ(failure(columns, good),
            columns + ":4: 3 tab-separated columns; the header has 2");
  std::string noLabel = write("nolabel.tsv", "text\tclass\na\tx\n");
  EXPECT_EQ(failure(noLabel, good),
            noLabel + ":1: no column named 'label' in the header (columns: "
                      "'text', 'class')");
  std::string unknown = write("unknown.tsv", "text\tlabel\na\tx\nb\tz\n");
  EXPECT_EQ(failure(good, unknown),
            unknown + ":3: label 'z' is not a class of the training file " +
                good);
  std::string wide = write("wide.tsv", "a\tb\tc\tlabel\n1\t2\t3\tx\n");
  EXPECT_EQ(failure(wide, good),
            wide + ":1: 3 columns besides the label 'label' ('a', 'b', "
                   "'c'); name the text columns (one or two)");
  std::string empty = write("empty.tsv", "");
  EXPECT_EQ(failure(empty, good),
            empty + ": the file is empty; expected a header row");
  std::string headerOnly = write("header.tsv", "text\tlabel\n\n");
  EXPECT_EQ(failure(headerOnly, good),
            headerOnly + ": no examples after the header row");
  std::string blankLabel = write("blank.tsv", "text\tlabel\na\t \n");
  EXPECT_EQ(failure(blankLabel, good), blankLabel + ":2: empty label");
  TsvOptions regression;
  regression.kind = LabelKind::Regression;
  EXPECT_EQ(failure(good, good, regression),
            good + ":2: label 'x' is not a number");
  std::string indices = write("indices.tsv", "text\tlabel\na\t0\nb\t1\n");
  std::string names = write("names.tsv", "text\tlabel\na\t0\nb\tone\n");
  EXPECT_EQ(failure(indices, names),
            names + ":3: label 'one' is not a class index (a non-negative "
                    "integer, as in the training file)");
  std::string huge = write("huge.tsv", "text\tlabel\na\t65536\n");
  EXPECT_EQ(failure(huge, huge),
            huge + ":2: label '65536' is a class index above the limit of "
                   "65535");
  Task task;
  std::string missing = scratch.file("missing.tsv");
  StatusPtr status(readTsvTask(missing, good, TsvOptions(), task));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_NOT_FOUND);
  EXPECT_EQ(smxrt_status_message(status.get()),
            missing + ": cannot read: No such file or directory");
}

TEST_F(DataTask, HeldOutSplitIsStable) {
  // Without an evaluation file, examples whose FNV-1a hash is 0 mod 10 are
  // held out: the same ones whatever else the file holds.
  std::string contents = "text\tlabel\n";
  std::set<std::string> expected;
  for (int index = 0; index < 300; ++index) {
    std::string text = "example number " + std::to_string(index);
    contents += text + "\t" + std::to_string(index % 3) + "\n";
    if (fnv1a64(text) % 10 == 0)
      expected.insert(text);
  }
  Task task;
  ASSERT_OK(readTsvTask(write("all.tsv", contents), std::nullopt, TsvOptions(),
                        task));
  std::set<std::string> heldOut;
  for (const Example &example : task.eval)
    heldOut.insert(example.textA);
  EXPECT_EQ(heldOut, expected);
  EXPECT_EQ(task.train.size() + task.eval.size(), 300u);
  EXPECT_GT(heldOut.size(), 10u);
  EXPECT_LT(heldOut.size(), 60u);
  // Known values, so that the rule cannot drift.
  EXPECT_TRUE(isHeldOut("example number 6")); // fnv1a64 % 10 == 0
  EXPECT_TRUE(isHeldOut("example number 11"));
  EXPECT_FALSE(isHeldOut("example number 0"));
}

TEST_F(DataTask, DefaultTaskFromCorpus) {
  Corpus corpus;
  ASSERT_OK(readCorpus(dataPath("fortunes"), corpus));
  Task task;
  taskFromCorpus(corpus, task);
  EXPECT_EQ(task.kind, LabelKind::Classification);
  EXPECT_EQ(task.classNames, corpus.categories);
  EXPECT_EQ(task.train.size() + task.eval.size(), corpus.documents.size());
  for (const Example &example : task.eval)
    EXPECT_TRUE(isHeldOut(example.textA));
  for (const Example &example : task.train)
    EXPECT_FALSE(isHeldOut(example.textA));
}

TEST_F(DataTask, MajorityBaseline) {
  Task task;
  task.classNames = {"a", "b", "c"};
  for (int32_t label : {2, 1, 2, 0, 1, 2}) {
    Example example;
    example.label = label;
    task.eval.push_back(example);
  }
  int32_t majority = -1;
  double fraction = 0;
  ASSERT_OK(majorityBaseline(task, majority, fraction));
  EXPECT_EQ(majority, 2);
  EXPECT_DOUBLE_EQ(fraction, 0.5);
  task.eval.pop_back(); // Tie between 1 and 2: the lower wins.
  ASSERT_OK(majorityBaseline(task, majority, fraction));
  EXPECT_EQ(majority, 1);
  EXPECT_DOUBLE_EQ(fraction, 0.4);
  task.eval.clear();
  StatusPtr status(majorityBaseline(task, majority, fraction));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  task.kind = LabelKind::Regression;
  status.reset(majorityBaseline(task, majority, fraction));
  EXPECT_EQ(smxrt_status_message(status.get()),
            std::string("a regression task has no majority class"));
}

TEST_F(DataTask, MajorityBaselineOfDebianFortunes) {
  const std::string path = "/usr/share/games/fortunes";
  if (!std::filesystem::exists(path + "/fortunes"))
    GTEST_SKIP() << path << " is absent (Debian package 'fortunes')";
  Corpus corpus;
  ASSERT_OK(readCorpus(path, corpus));
  Task task;
  taskFromCorpus(corpus, task);
  // About a tenth is held out.
  double share = static_cast<double>(task.eval.size()) /
                 static_cast<double>(corpus.documents.size());
  EXPECT_NEAR(share, 0.1, 0.01);
  std::map<int32_t, size_t> counts;
  for (const Example &example : task.eval)
    ++counts[example.label];
  size_t most = 0;
  for (auto &[label, count] : counts)
    most = std::max(most, count);
  int32_t majority;
  double fraction;
  ASSERT_OK(majorityBaseline(task, majority, fraction));
  EXPECT_EQ(counts[majority], most);
  EXPECT_DOUBLE_EQ(fraction, static_cast<double>(most) / task.eval.size());
  EXPECT_LT(fraction, 0.2); // 43 categories, none dominant.
}

TEST(DataTaskBatches, PacksAndTruncatesLikeBert) {
  std::vector<int32_t> a{10, 11, 12, 13, 14}, b{20, 21};
  PackedExample single = packExample(a, nullptr, 5);
  EXPECT_EQ(single.ids, (std::vector<int32_t>{clsId, 10, 11, 12, sepId}));
  EXPECT_EQ(single.secondStart, 5u);
  PackedExample pair = packExample(a, &b, 8);
  EXPECT_EQ(pair.ids,
            (std::vector<int32_t>{clsId, 10, 11, 12, sepId, 20, 21, sepId}));
  EXPECT_EQ(pair.secondStart, 5u);
  // On a tie the second text loses a token.
  std::vector<int32_t> c{30, 31};
  PackedExample tie = packExample(c, &b, 6);
  EXPECT_EQ(tie.ids, (std::vector<int32_t>{clsId, 30, 31, sepId, 20, sepId}));
  PackedExample roomy = packExample(c, &b, 100);
  EXPECT_EQ(roomy.ids.size(), 7u);
}

class DataTaskBatcher : public ::testing::Test {
protected:
  void SetUp() override {
    Corpus corpus;
    ASSERT_OK(readCorpus(dataPath("small_corpus.txt"), corpus));
    std::vector<std::string_view> texts;
    for (const Document &document : corpus.documents)
      texts.push_back(document.text);
    ASSERT_OK(Tokenizer::train(texts, 120, scratch.file("t.model"), tokenizer));
    for (int index = 0; index < 23; ++index) {
      Example example;
      example.textA = "the river and the bread number " + std::to_string(index);
      example.label = index % 4;
      example.value = 0.5f * index;
      task.train.push_back(example);
      if (index < 7)
        task.eval.push_back(example);
    }
    task.classNames = {"a", "b", "c", "d"};
  }
  ScratchDirectory scratch;
  std::unique_ptr<Tokenizer> tokenizer;
  Task task;
};

TEST_F(DataTaskBatcher, EpochsShuffleDeterministically) {
  std::unique_ptr<TaskBatcher> batcher;
  ASSERT_OK(TaskBatcher::create(task, *tokenizer, 5, 16, 99, batcher));
  EXPECT_EQ(batcher->trainBatches(), 4u); // 23 / 5, remainder skipped.
  EXPECT_EQ(batcher->evalBatches(), 2u);
  std::vector<uint32_t> order = batcher->epochOrder(0);
  std::vector<uint32_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (uint32_t index = 0; index < 23; ++index)
    EXPECT_EQ(sorted[index], index);
  EXPECT_EQ(order, batcher->epochOrder(0));
  EXPECT_NE(order, batcher->epochOrder(1));
  std::unique_ptr<TaskBatcher> reseeded;
  ASSERT_OK(TaskBatcher::create(task, *tokenizer, 5, 16, 100, reseeded));
  EXPECT_NE(order, reseeded->epochOrder(0));

  // Batch 2 of epoch 1 holds the examples order[10..14] of that epoch.
  std::vector<int32_t> ids(5 * 16), types(5 * 16), labels(5);
  TaskBatchView view{ids.data(), types.data(), labels.data()};
  ASSERT_OK(batcher->fillTrain(1, 2, view));
  std::vector<uint32_t> epochOne = batcher->epochOrder(1);
  for (int row = 0; row < 5; ++row) {
    const Example &example = task.train[epochOne[10 + row]];
    EXPECT_EQ(labels[row], example.label);
    std::vector<int32_t> text;
    ASSERT_OK(tokenizer->encode(example.textA, text));
    PackedExample packed = packExample(text, nullptr, 16);
    for (int at = 0; at < 16; ++at) {
      int32_t expected =
          at < static_cast<int>(packed.ids.size()) ? packed.ids[at] : padId;
      EXPECT_EQ(ids[row * 16 + at], expected);
      EXPECT_EQ(types[row * 16 + at], 0);
    }
  }
  StatusPtr status(batcher->fillTrain(1, 4, view));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_OUT_OF_RANGE);
}

TEST_F(DataTaskBatcher, EvaluationPadsTheLastBatch) {
  std::unique_ptr<TaskBatcher> batcher;
  ASSERT_OK(TaskBatcher::create(task, *tokenizer, 5, 16, 0, batcher));
  std::vector<int32_t> ids(5 * 16, -1), types(5 * 16, -1), labels(5, -1);
  TaskBatchView view{ids.data(), types.data(), labels.data()};
  size_t valid = 0;
  ASSERT_OK(batcher->fillEval(0, view, valid));
  EXPECT_EQ(valid, 5u);
  EXPECT_EQ(labels, (std::vector<int32_t>{0, 1, 2, 3, 0}));
  ASSERT_OK(batcher->fillEval(1, view, valid));
  EXPECT_EQ(valid, 2u);
  EXPECT_EQ(labels, (std::vector<int32_t>{1, 2, 0, 0, 0}));
  EXPECT_EQ(ids[0], clsId);
  EXPECT_EQ(ids[16], clsId);
  for (int at = 2 * 16; at < 5 * 16; ++at) {
    EXPECT_EQ(ids[at], padId);
    EXPECT_EQ(types[at], 0);
  }
  StatusPtr status(batcher->fillEval(2, view, valid));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_OUT_OF_RANGE);
}

TEST_F(DataTaskBatcher, PairsAndRegression) {
  task.pairs = true;
  task.kind = LabelKind::Regression;
  for (Example &example : task.train)
    example.textB = "the bread";
  std::unique_ptr<TaskBatcher> batcher;
  ASSERT_OK(TaskBatcher::create(task, *tokenizer, 4, 12, 5, batcher));
  std::vector<int32_t> ids(4 * 12), types(4 * 12);
  std::vector<float> values(4);
  TaskBatchView view{ids.data(), types.data(), values.data()};
  ASSERT_OK(batcher->fillTrain(0, 0, view));
  std::vector<uint32_t> order = batcher->epochOrder(0);
  for (int row = 0; row < 4; ++row) {
    EXPECT_FLOAT_EQ(values[row], task.train[order[row]].value);
    const int32_t *rowIds = &ids[row * 12];
    const int32_t *rowTypes = &types[row * 12];
    std::vector<int> seps;
    for (int at = 0; at < 12; ++at)
      if (rowIds[at] == sepId)
        seps.push_back(at);
    ASSERT_EQ(seps.size(), 2u);
    for (int at = 0; at < 12; ++at)
      EXPECT_EQ(rowTypes[at], at > seps[0] && at <= seps[1] ? 1 : 0);
  }
}

TEST_F(DataTaskBatcher, RejectsBadShapes) {
  std::unique_ptr<TaskBatcher> batcher;
  StatusPtr status(TaskBatcher::create(task, *tokenizer, 24, 16, 0, batcher));
  EXPECT_EQ(smxrt_status_message(status.get()),
            std::string("the training set has 23 examples, fewer than one "
                        "batch of 24"));
  status.reset(TaskBatcher::create(task, *tokenizer, 0, 16, 0, batcher));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  status.reset(TaskBatcher::create(task, *tokenizer, 4, 2, 0, batcher));
  EXPECT_EQ(smxrt_status_message(status.get()),
            std::string("fine-tuning sequence length 2: must be at least 3 "
                        "([CLS] a [SEP])"));
}

} // namespace
