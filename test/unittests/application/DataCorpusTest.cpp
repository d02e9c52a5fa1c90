//===- DataCorpusTest.cpp - Reading text corpora --------------------------===//

#include "data/corpus.h"
#include "data/text.h"

#include "TestSupport.h"

#include <set>

using namespace smxrt::data;
using smxrt_test::dataPath;
using smxrt_test::ScratchDirectory;
using smxrt_test::StatusPtr;

namespace {

void writeFile(const std::string &path, const std::string &contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

std::vector<std::string> textsOf(const Corpus &corpus) {
  std::vector<std::string> texts;
  for (const Document &document : corpus.documents)
    texts.push_back(document.text);
  return texts;
}

TEST(DataText, NormalizeCollapsesWhitespace) {
  EXPECT_EQ(normalizeText("  a\tb \n\n c\r\n"), "a b c");
  EXPECT_EQ(normalizeText("\v\f  "), "");
  EXPECT_EQ(normalizeText(""), "");
  EXPECT_EQ(normalizeText("one"), "one");
}

TEST(DataText, NormalizeResolvesOverstrike) {
  EXPECT_EQ(normalizeText("_\bI and ___\b\b\bnot"), "I and not");
  EXPECT_EQ(normalizeText("\bstart"), "start");
  // A backspace removes a whole multi-byte character.
  EXPECT_EQ(normalizeText("caf\xC3\xA9\b\xC3\xA8"), "caf\xC3\xA8");
}

TEST(DataText, NormalizeDropsControlsAndRepairsUtf8) {
  EXPECT_EQ(normalizeText("ring\a\a the\x7F bell\x1B"), "ring the bell");
  EXPECT_EQ(normalizeText("x\xC2\x85y"), "xy"); // C1 control NEL.
  EXPECT_EQ(normalizeText("bad\xFF byte"), "bad\xEF\xBF\xBD byte");
  EXPECT_EQ(normalizeText("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD"); // Overlong.
  EXPECT_EQ(normalizeText("\xED\xA0\x80"), // Surrogate.
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(normalizeText("cut \xE2\x82"), "cut \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(normalizeText("\xF0\x9F\x98\x80 ok"), "\xF0\x9F\x98\x80 ok");
}

TEST(DataText, Fnv1aTestVectors) {
  EXPECT_EQ(fnv1a64(""), 0xCBF29CE484222325ull);
  EXPECT_EQ(fnv1a64("a"), 0xAF63DC4C8601EC8Cull);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171F73967E8ull);
}

TEST(DataCorpus, SplitsFortunesAndParagraphs) {
  EXPECT_TRUE(isFortuneFormat("a\n%\nb\n"));
  EXPECT_TRUE(isFortuneFormat("a\r\n%\r\n"));
  EXPECT_FALSE(isFortuneFormat("100% sure\n%%\n"));
  EXPECT_EQ(splitDocuments("one\ntwo\n%\n\n%\nthree\n"),
            (std::vector<std::string>{"one two", "three"}));
  // Blank lines inside a quote do not split it.
  EXPECT_EQ(splitDocuments("a\n\nb\n%\nc"),
            (std::vector<std::string>{"a b", "c"}));
  EXPECT_EQ(splitDocuments("p one\nstill one\n \t\np two\n\n\n"),
            (std::vector<std::string>{"p one still one", "p two"}));
  EXPECT_TRUE(splitDocuments("\n\n  \n").empty());
}

TEST(DataCorpus, CorpusFileNames) {
  EXPECT_TRUE(isCorpusFileName("art"));
  EXPECT_TRUE(isCorpusFileName("men-women"));
  EXPECT_FALSE(isCorpusFileName("art.dat"));
  EXPECT_FALSE(isCorpusFileName("art.u8"));
  EXPECT_FALSE(isCorpusFileName(".hidden"));
  EXPECT_FALSE(isCorpusFileName(""));
}

TEST(DataCorpus, ReadsFortuneDirectory) {
  Corpus corpus;
  ASSERT_OK(readCorpus(dataPath("fortunes"), corpus));
  // No "animals.u8" (a symbolic link), "animals.dat", ".hidden" or "off/".
  EXPECT_EQ(corpus.categories,
            (std::vector<std::string>{"animals", "notes", "science"}));
  EXPECT_EQ(textsOf(corpus),
            (std::vector<std::string>{
                "The cat sat on the mat.",
                "A dog is a friend who never asks what time it is.",
                "Owls keep late hours. Larks do not.",
                "Never trust a cat with your hat.",
                "The fish said nothing at all.",
                "A plain note about nothing. It has two lines.",
                "A second note.",
                "Energy is conserved.",
                "Entropy is not.",
                "Light is fast; dark is faster.",
            }));
  std::vector<uint32_t> categories;
  for (const Document &document : corpus.documents)
    categories.push_back(document.category);
  EXPECT_EQ(categories, (std::vector<uint32_t>{0, 0, 0, 0, 0, 1, 1, 2, 2, 2}));
}

TEST(DataCorpus, ReadsOneFile) {
  Corpus corpus;
  ASSERT_OK(readCorpus(dataPath("fortunes/science"), corpus));
  EXPECT_EQ(corpus.categories, std::vector<std::string>{"science"});
  EXPECT_EQ(corpus.documents.size(), 3u);
  ASSERT_OK(readCorpus(dataPath("small_corpus.txt"), corpus));
  EXPECT_EQ(corpus.categories, std::vector<std::string>{"small_corpus.txt"});
  EXPECT_EQ(corpus.documents.size(), 9u); // Paragraphs.
  EXPECT_STARTS_WITH(corpus.documents[0].text,
                     "The small river runs past the old mill");
}

TEST(DataCorpus, ErrorsNameThePath) {
  Corpus corpus;
  std::string missing = dataPath("no-such-corpus");
  StatusPtr status(readCorpus(missing, corpus));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_NOT_FOUND);
  EXPECT_EQ(smxrt_status_message(status.get()),
            missing + ": cannot read: No such file or directory");

  ScratchDirectory scratch;
  status.reset(readCorpus(scratch.getPath(), corpus));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(smxrt_status_message(status.get()),
            scratch.getPath() + ": the corpus holds no documents");

  writeFile(scratch.file("blank"), "\n \n%\n%\n");
  writeFile(scratch.file("skipped.dat"), "binary");
  status.reset(readCorpus(scratch.getPath(), corpus));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);

  if (geteuid() != 0) { // Root reads anything.
    writeFile(scratch.file("locked"), "text\n");
    chmod(scratch.file("locked").c_str(), 0);
    status.reset(readCorpus(scratch.getPath(), corpus));
    EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_IO_ERROR);
    EXPECT_EQ(smxrt_status_message(status.get()),
              scratch.file("locked") + ": cannot read: Permission denied");
  }
}

TEST(DataCorpus, ReadsDebianFortunes) {
  const std::string path = "/usr/share/games/fortunes";
  if (!std::filesystem::exists(path + "/fortunes"))
    GTEST_SKIP() << path << " is absent (Debian package 'fortunes')";
  Corpus corpus;
  ASSERT_OK(readCorpus(path, corpus));
  EXPECT_GT(corpus.documents.size(), 10000u);
  EXPECT_GE(corpus.categories.size(), 40u);
  EXPECT_TRUE(
      std::is_sorted(corpus.categories.begin(), corpus.categories.end()));
  std::set<std::string> names(corpus.categories.begin(),
                              corpus.categories.end());
  EXPECT_TRUE(names.count("fortunes"));
  EXPECT_TRUE(names.count("computers"));
  for (const std::string &name : corpus.categories)
    EXPECT_TRUE(isCorpusFileName(name)) << name;
  std::vector<size_t> perCategory(corpus.categories.size());
  for (const Document &document : corpus.documents) {
    ASSERT_FALSE(document.text.empty());
    ASSERT_EQ(document.text, normalizeText(document.text));
    ASSERT_NE(document.text, "%");
    ASSERT_LT(document.category, corpus.categories.size());
    ++perCategory[document.category];
  }
  for (size_t count : perCategory)
    EXPECT_GT(count, 0u);
}

} // namespace
