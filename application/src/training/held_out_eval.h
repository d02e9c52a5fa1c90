//===- held_out_eval.h - Evaluating a training object -----------*- C++ -*-===//
//
// The forward function of a training object is the evaluation form of its
// objective (docs/abi.md): it takes the task's inputs, labels included, and
// returns the loss terms (and, when the object has them, the classifier's
// logits). The evaluator runs it batch by batch on inputs the caller fills
// and accumulates the loss terms (weighted by the rows that count, so that
// the padding rows of a last batch, whose labels are ignored, change
// nothing) and the classifier's predictions.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_MODEL_HELD_OUT_EVAL_H
#define SMX_RUNTIME_MODEL_HELD_OUT_EVAL_H

#include "model/forward_runner.h"
#include "model/manifest.h"
#include "training/train_state.h"

#include "smx_application/model_main.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smxrt {

/// The label that classification losses ignore: padding rows carry it.
constexpr int32_t ignoredLabel = -100;

struct EvalSummary {
  int64_t batches = 0;
  int64_t rows = 0;
  /// Loss terms: name, mean over the rows, weight in the loss (NaN if the
  /// manifest gives none).
  struct Term {
    std::string name;
    double mean;
    double weight;
  };
  std::vector<Term> terms;
  /// The weighted sum of the terms; NaN when a weight is unknown.
  double loss = 0;

  /// Classification (classifier_logits with C >= 2 and I32 labels).
  bool hasClassification = false;
  int64_t correct = 0;
  /// The task's classes (else the classifier's outputs).
  int64_t classes = 0;
  /// For two classes, the counts for class 1 (the positive class).
  int64_t truePositives = 0, falsePositives = 0, falseNegatives = 0;

  /// Regression (one output and F32 labels).
  bool hasRegression = false;
  std::vector<double> predictions, targets;
};

/// The report's lines for a summary: loss terms, loss, and accuracy, F1
/// (two classes) or Pearson and Spearman correlations (regression).
std::vector<std::string> describeEvalSummary(const EvalSummary &summary);
double pearsonCorrelation(const std::vector<double> &x,
                          const std::vector<double> &y);
double spearmanCorrelation(const std::vector<double> &x,
                           const std::vector<double> &y);

class HeldOutEvaluator {
public:
  /// Allocates the forward function's input and result buffers, and with
  /// `ownParameters` its parameter buffers (else bindParameters supplies
  /// them). Loss weights that the forward results do not carry come from
  /// the train step's outputs of the same names.
  smxrt_status_t prepare(const ModelManifest &manifest,
                         smxrt_model_forward_fn_t forward, bool ownParameters);
  /// Evaluates the current parameters of `state` (no copy).
  void bindParameters(const TrainState &state);
  /// The parameters of its own (aligned with manifest.arguments, null for
  /// inputs), for the caller to fill.
  std::vector<TensorPtr> &ownArguments() { return buffers.arguments; }

  /// The forward input `name`; nullptr when the function has none.
  smxrt_tensor_t *input(std::string_view name) const;

  /// Forgets the batches run so far.
  void reset();
  /// The task's classes (F1 is reported for two), when the classifier has
  /// more outputs than the task uses.
  void setTaskClasses(int64_t classes) { taskClasses = classes; }
  /// Runs the forward pass on the filled inputs; rows >= validRows are
  /// padding (their labels should be ignoredLabel). On a job of several
  /// processes (a model compiled for a grid), every process runs each batch
  /// on its rows of the job's batch, and the summary is the job's: loss
  /// shares and counts summed, regression predictions gathered in rank
  /// order.
  smxrt_status_t run(int64_t step, int64_t validRows);
  EvalSummary result() const;

private:
  const ModelManifest *manifest = nullptr;
  smxrt_model_forward_fn_t forward = nullptr;
  ForwardBuffers buffers;
  std::vector<void *> argumentPointers;
  /// Indices of the forward results that are loss terms, with weights.
  std::vector<std::pair<size_t, double>> lossTerms;
  std::vector<double> termSums;
  long logitsResult = -1;
  int64_t taskClasses = 0;
  EvalSummary summary;
};

} // namespace smxrt

#endif // SMX_RUNTIME_MODEL_HELD_OUT_EVAL_H
