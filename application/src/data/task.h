//===- task.h - Fine-tuning tasks -------------------------------*- C++ -*-===//
//
// A task is a set of labelled training examples and a held-out evaluation
// set. It comes from GLUE-style TSV files or from a corpus (the default
// task: a document's label is its category). docs/data.md, "Fine-tuning
// tasks", is the specification.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_DATA_TASK_H
#define SMX_RUNTIME_DATA_TASK_H

#include "data/corpus.h"

#include "smx_runtime/status.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace smxrt {
namespace data {

enum class LabelKind { Classification, Regression };

struct Example {
  std::string textA;
  std::string textB; ///< Empty unless the task has pairs.
  int32_t label = 0; ///< The class index (classification).
  float value = 0;   ///< The target (regression).
};

struct Task {
  LabelKind kind = LabelKind::Classification;
  bool pairs = false; ///< Whether examples have a second text.
  /// Class names by index (classification only).
  std::vector<std::string> classNames;
  std::vector<Example> train;
  std::vector<Example> eval;
};

struct TsvOptions {
  /// Header names; empty text columns are inferred (every column but the
  /// label's, when there are one or two).
  std::string textAColumn;
  std::string textBColumn; ///< Only read when textAColumn is set.
  std::string labelColumn = "label";
  /// Classification or regression; unset: inferred from the labels.
  std::optional<LabelKind> kind;
};

/// Reads a task from TSV files; without `evalPath`, the training file's
/// held-out examples (isHeldOut of the example's text) become the
/// evaluation set. Errors name "<path>:<line>:".
smxrt_status_t readTsvTask(const std::string &trainPath,
                           const std::optional<std::string> &evalPath,
                           const TsvOptions &options, Task &task);

/// The default task: one example per document, labelled with its category;
/// documents whose text isHeldOut form the evaluation set.
void taskFromCorpus(const Corpus &corpus, Task &task);

/// The most frequent evaluation class (the lowest on a tie) and its share
/// of the evaluation set. INVALID_ARGUMENT for a regression task or an empty
/// evaluation set.
smxrt_status_t majorityBaseline(const Task &task, int32_t &majorityClass,
                                double &fraction);

} // namespace data
} // namespace smxrt

#endif // SMX_RUNTIME_DATA_TASK_H
