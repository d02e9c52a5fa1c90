//===- task.cpp - Fine-tuning tasks ---------------------------------------===//
//
// TSV files are read as GLUE's own readers read them: tab-separated fields,
// no quoting, a header row naming the columns. Every error names the file
// and the 1-based line.
//
//===----------------------------------------------------------------------===//

#include "data/task.h"

#include "data/text.h"

#include "status_internal.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>

namespace smxrt {
namespace data {
namespace {

struct TsvRow {
  size_t line;
  std::vector<std::string> fields;
};

struct TsvFile {
  std::string path;
  std::vector<std::string> header;
  std::vector<TsvRow> rows;
};

std::vector<std::string> splitFields(std::string_view line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    fields.emplace_back(line.substr(start, tab - start));
    if (tab == std::string_view::npos)
      return fields;
    start = tab + 1;
  }
}

smxrt_status_t readTsvFile(const std::string &path, TsvFile &file) {
  std::string contents;
  SMXRT_RETURN_IF_ERROR(readWholeFile(path, contents));
  file.path = path;
  std::string_view rest = contents;
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") // A UTF-8 byte order mark.
    rest.remove_prefix(3);
  for (size_t line = 1; !rest.empty(); ++line) {
    size_t end = std::min(rest.find('\n'), rest.size());
    std::string_view text = rest.substr(0, end);
    rest.remove_prefix(std::min(end + 1, rest.size()));
    if (!text.empty() && text.back() == '\r')
      text.remove_suffix(1);
    if (line == 1) {
      if (text.empty())
        return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                           "%s:1: the header row is empty", path.c_str());
      file.header = splitFields(text);
      continue;
    }
    if (text.empty())
      continue;
    std::vector<std::string> fields = splitFields(text);
    if (fields.size() != file.header.size())
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "%s:%zu: %zu tab-separated columns; the header has "
                         "%zu",
                         path.c_str(), line, fields.size(), file.header.size());
    file.rows.push_back(TsvRow{line, std::move(fields)});
  }
  if (file.header.empty())
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: the file is empty; expected a header row",
                       path.c_str());
  if (file.rows.empty())
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: no examples after the header row", path.c_str());
  return nullptr;
}

std::string joinNames(const std::vector<std::string> &names) {
  std::string joined;
  for (const std::string &name : names)
    joined += (joined.empty() ? "'" : ", '") + name + "'";
  return joined;
}

smxrt_status_t findColumn(const TsvFile &file, const std::string &name,
                          size_t &column) {
  auto found = std::find(file.header.begin(), file.header.end(), name);
  if (found == file.header.end())
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s:1: no column named '%s' in the header (columns: "
                       "%s)",
                       file.path.c_str(), name.c_str(),
                       joinNames(file.header).c_str());
  column = static_cast<size_t>(found - file.header.begin());
  return nullptr;
}

/// The names of the label and text columns.
struct ColumnNames {
  std::string label, textA, textB; // textB empty: single texts.
};

smxrt_status_t chooseColumns(const TsvFile &file, const TsvOptions &options,
                             ColumnNames &names) {
  names.label = options.labelColumn.empty() ? "label" : options.labelColumn;
  size_t ignored;
  SMXRT_RETURN_IF_ERROR(findColumn(file, names.label, ignored));
  if (!options.textAColumn.empty()) {
    names.textA = options.textAColumn;
    names.textB = options.textBColumn;
    return nullptr;
  }
  std::vector<std::string> others;
  for (const std::string &column : file.header)
    if (column != names.label)
      others.push_back(column);
  if (others.empty() || others.size() > 2)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s:1: %zu columns besides the label '%s' (%s); name "
                       "the text columns (one or two)",
                       file.path.c_str(), others.size(), names.label.c_str(),
                       joinNames(others).c_str());
  names.textA = others[0];
  names.textB = others.size() == 2 ? others[1] : std::string();
  return nullptr;
}

/// A TSV row with its columns picked out, label still raw.
struct RawExample {
  const TsvFile *file;
  size_t line;
  Example example;
  std::string label;
};

smxrt_status_t collectExamples(const TsvFile &file, const ColumnNames &names,
                               std::vector<RawExample> &examples) {
  size_t label, textA, textB = 0;
  SMXRT_RETURN_IF_ERROR(findColumn(file, names.label, label));
  SMXRT_RETURN_IF_ERROR(findColumn(file, names.textA, textA));
  if (!names.textB.empty())
    SMXRT_RETURN_IF_ERROR(findColumn(file, names.textB, textB));
  for (const TsvRow &row : file.rows) {
    RawExample raw{&file, row.line, {}, normalizeText(row.fields[label])};
    raw.example.textA = normalizeText(row.fields[textA]);
    if (!names.textB.empty())
      raw.example.textB = normalizeText(row.fields[textB]);
    if (raw.label.empty())
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT, "%s:%zu: empty label",
                         file.path.c_str(), row.line);
    examples.push_back(std::move(raw));
  }
  return nullptr;
}

bool parseClassIndex(const std::string &text, int32_t &index) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  auto [end, error] =
      std::from_chars(text.data(), text.data() + text.size(), index);
  return error == std::errc() && end == text.data() + text.size();
}

bool parseNumber(const std::string &text, float &value) {
  char *end = nullptr;
  double parsed = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(parsed) ||
      std::fabs(parsed) > 3.4e38)
    return false;
  value = static_cast<float>(parsed);
  return true;
}

smxrt_status_t badLabel(const RawExample &raw, const char *expected) {
  return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT, "%s:%zu: label '%s' is %s",
                     raw.file->path.c_str(), raw.line, raw.label.c_str(),
                     expected);
}

/// How labels are read: as numbers, as class indices or as class names.
enum class LabelReading { Regression, ClassIndices, ClassNames };

LabelReading chooseReading(const std::vector<RawExample> &train,
                           const std::optional<LabelKind> &kind) {
  if (kind == LabelKind::Regression)
    return LabelReading::Regression;
  int32_t index;
  float value;
  bool allIndices = std::all_of(train.begin(), train.end(), [&](auto &raw) {
    return parseClassIndex(raw.label, index);
  });
  if (allIndices)
    return LabelReading::ClassIndices;
  bool allNumbers = std::all_of(train.begin(), train.end(), [&](auto &raw) {
    return parseNumber(raw.label, value);
  });
  return allNumbers && !kind ? LabelReading::Regression
                             : LabelReading::ClassNames;
}

/// Class indices above this are refused: they would make as many classes.
constexpr int32_t maxClassIndex = 65535;

smxrt_status_t readLabels(LabelReading reading, const TsvFile &trainFile,
                          const std::vector<RawExample *> &examples,
                          Task &task) {
  std::map<std::string, int32_t> classes;
  int32_t maxIndex = -1;
  if (reading == LabelReading::ClassNames) {
    for (RawExample *raw : examples)
      if (raw->file == &trainFile)
        classes.emplace(raw->label, 0);
    int32_t next = 0;
    for (auto &entry : classes) {
      entry.second = next++;
      task.classNames.push_back(entry.first);
    }
  }
  for (RawExample *raw : examples) {
    Example &example = raw->example;
    if (reading == LabelReading::Regression) {
      if (!parseNumber(raw->label, example.value))
        return badLabel(*raw, "not a number");
    } else if (reading == LabelReading::ClassIndices) {
      if (!parseClassIndex(raw->label, example.label))
        return badLabel(*raw, "not a class index (a non-negative integer, as "
                              "in the training file)");
      if (example.label > maxClassIndex)
        return badLabel(*raw, "a class index above the limit of 65535");
      maxIndex = std::max(maxIndex, example.label);
    } else {
      auto found = classes.find(raw->label);
      if (found == classes.end())
        return badLabel(
            *raw,
            ("not a class of the training file " + trainFile.path).c_str());
      example.label = found->second;
    }
  }
  for (int32_t index = 0; index <= maxIndex; ++index)
    task.classNames.push_back(std::to_string(index));
  task.kind = reading == LabelReading::Regression ? LabelKind::Regression
                                                  : LabelKind::Classification;
  return nullptr;
}

std::string splitKey(const Example &example, bool pairs) {
  return pairs ? example.textA + "\t" + example.textB : example.textA;
}

} // namespace

smxrt_status_t readTsvTask(const std::string &trainPath,
                           const std::optional<std::string> &evalPath,
                           const TsvOptions &options, Task &task) {
  task = Task();
  TsvFile trainFile, evalFile;
  SMXRT_RETURN_IF_ERROR(readTsvFile(trainPath, trainFile));
  ColumnNames names;
  SMXRT_RETURN_IF_ERROR(chooseColumns(trainFile, options, names));
  std::vector<RawExample> train, eval;
  SMXRT_RETURN_IF_ERROR(collectExamples(trainFile, names, train));
  if (evalPath) {
    SMXRT_RETURN_IF_ERROR(readTsvFile(*evalPath, evalFile));
    SMXRT_RETURN_IF_ERROR(collectExamples(evalFile, names, eval));
  }
  task.pairs = !names.textB.empty();

  // Without an evaluation file, the training file's held-out examples are
  // the evaluation set (the default task's rule).
  std::vector<RawExample *> trainPart, evalPart;
  for (RawExample &raw : train)
    (!evalPath && isHeldOut(splitKey(raw.example, task.pairs)) ? evalPart
                                                               : trainPart)
        .push_back(&raw);
  for (RawExample &raw : eval)
    evalPart.push_back(&raw);

  std::vector<RawExample *> all(trainPart);
  all.insert(all.end(), evalPart.begin(), evalPart.end());
  LabelReading reading = chooseReading(train, options.kind);
  SMXRT_RETURN_IF_ERROR(readLabels(reading, trainFile, all, task));
  for (RawExample *raw : trainPart)
    task.train.push_back(std::move(raw->example));
  for (RawExample *raw : evalPart)
    task.eval.push_back(std::move(raw->example));
  return nullptr;
}

void taskFromCorpus(const Corpus &corpus, Task &task) {
  task = Task();
  task.kind = LabelKind::Classification;
  task.classNames = corpus.categories;
  for (const Document &document : corpus.documents) {
    Example example;
    example.textA = document.text;
    example.label = static_cast<int32_t>(document.category);
    (isHeldOut(document.text) ? task.eval : task.train)
        .push_back(std::move(example));
  }
}

smxrt_status_t majorityBaseline(const Task &task, int32_t &majorityClass,
                                double &fraction) {
  if (task.kind != LabelKind::Classification)
    return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT,
                      "a regression task has no majority class");
  if (task.eval.empty())
    return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT,
                      "the evaluation set is empty");
  std::vector<size_t> counts(task.classNames.size(), 0);
  for (const Example &example : task.eval)
    ++counts[static_cast<size_t>(example.label)];
  auto most = std::max_element(counts.begin(), counts.end());
  majorityClass = static_cast<int32_t>(most - counts.begin());
  fraction = static_cast<double>(*most) / static_cast<double>(task.eval.size());
  return nullptr;
}

} // namespace data
} // namespace smxrt
