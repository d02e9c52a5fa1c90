//===- held_out_eval.cpp - Evaluating a training object -------------------===//

#include "training/held_out_eval.h"

#include "distributed/job.h"

#include "status_internal.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace smxrt {

smxrt_status_t HeldOutEvaluator::prepare(const ModelManifest &manifest,
                                         smxrt_model_forward_fn_t forward,
                                         bool ownParameters) {
  this->manifest = &manifest;
  this->forward = forward;
  buffers.arguments.clear();
  buffers.results.clear();
  argumentPointers.clear();
  for (const ArgumentSpec &spec : manifest.arguments) {
    buffers.arguments.emplace_back();
    if (spec.role == ArgumentRole::Input || ownParameters)
      SMXRT_RETURN_IF_ERROR(
          createTensor(spec.dtype, spec.shape, buffers.arguments.back()));
    argumentPointers.push_back(
        buffers.arguments.back()
            ? smxrt_tensor_data(buffers.arguments.back().get())
            : nullptr);
  }
  for (const ResultSpec &spec : manifest.results) {
    buffers.results.emplace_back();
    SMXRT_RETURN_IF_ERROR(
        createTensor(spec.dtype, spec.shape, buffers.results.back()));
  }
  SMXRT_RETURN_IF_ERROR(buffers.workspace.allocate(
      manifest.memoryPlan, "forward function", manifest.forwardBufferBytes()));
  lossTerms.clear();
  logitsResult = -1;
  for (size_t index = 0; index < manifest.results.size(); ++index) {
    const ResultSpec &result = manifest.results[index];
    if (result.name == "classifier_logits" && result.dtype == SMXRT_DTYPE_F32 &&
        !result.shape.empty() && result.shape[0] == manifest.batch &&
        result.shape.size() <= 2)
      logitsResult = static_cast<long>(index);
    if (result.dtype != SMXRT_DTYPE_F32 || !result.shape.empty() ||
        result.isMetric)
      continue;
    // The train step's outputs carry the weights when the forward
    // function's results do not.
    const ResultSpec *trained = manifest.hasTrainStep
                                    ? manifest.trainStep.findResult(result.name)
                                    : nullptr;
    if (result.isLossTerm)
      lossTerms.emplace_back(index, result.lossWeight);
    else if (trained && trained->isLossTerm)
      lossTerms.emplace_back(index, trained->lossWeight);
    else if (result.name.size() > 5 &&
             result.name.compare(result.name.size() - 5, 5, "_loss") == 0)
      lossTerms.emplace_back(index, NAN);
  }
  reset();
  return nullptr;
}

void HeldOutEvaluator::bindParameters(const TrainState &state) {
  for (size_t index = 0; index < manifest->arguments.size(); ++index) {
    const ArgumentSpec &argument = manifest->arguments[index];
    if (argument.role != ArgumentRole::Parameter)
      continue;
    // The manifest reader checked that the train step has every one.
    long parameter = state.findParameter(argument.name);
    argumentPointers[index] = smxrt_tensor_data(state.parameter(parameter));
  }
}

void HeldOutEvaluator::reset() {
  summary = EvalSummary();
  termSums.assign(lossTerms.size(), 0.0);
}

smxrt_tensor_t *HeldOutEvaluator::input(std::string_view name) const {
  for (size_t index = 0; index < manifest->arguments.size(); ++index)
    if (manifest->arguments[index].role == ArgumentRole::Input &&
        manifest->arguments[index].name == name)
      return buffers.arguments[index].get();
  return nullptr;
}

smxrt_status_t HeldOutEvaluator::run(int64_t step, int64_t validRows) {
  if (smxrt_tensor_t *stepInput = input(stepInputName))
    *static_cast<int64_t *>(smxrt_tensor_data(stepInput)) = step;
  std::vector<void *> resultPointers;
  for (TensorPtr &result : buffers.results)
    resultPointers.push_back(smxrt_tensor_data(result.get()));
  forward(argumentPointers.data(), resultPointers.data(),
          buffers.workspace.data());

  // On a grid, each loss term is this process's share of the job batch's
  // mean (smx-shard-batch): their sum is the job's.
  const Job &job = thisJob();
  std::vector<float> terms;
  for (const auto &[result, weight] : lossTerms)
    terms.push_back(*static_cast<const float *>(
        smxrt_tensor_const_data(buffers.results[result].get())));
  SMXRT_RETURN_IF_ERROR(
      job.sum(terms.data(), static_cast<int64_t>(terms.size())));
  int64_t jobRows = validRows;
  SMXRT_RETURN_IF_ERROR(job.sum(&jobRows, 1));
  ++summary.batches;
  summary.rows += jobRows;
  for (size_t term = 0; term < lossTerms.size(); ++term)
    termSums[term] += static_cast<double>(terms[term]) * jobRows;

  if (logitsResult < 0)
    return nullptr;
  const smxrt_tensor_t *labels = input("labels");
  if (!labels)
    return nullptr;
  const ResultSpec &spec = manifest->results[logitsResult];
  int64_t classes = spec.shape.size() == 2 ? spec.shape[1] : 1;
  const auto *logits = static_cast<const float *>(
      smxrt_tensor_const_data(buffers.results[logitsResult].get()));
  if (smxrt_tensor_dtype(labels) == SMXRT_DTYPE_I32 && classes >= 2) {
    summary.hasClassification = true;
    summary.classes = taskClasses > 0 ? taskClasses : classes;
    const auto *values =
        static_cast<const int32_t *>(smxrt_tensor_const_data(labels));
    // correct, true positives, false positives, false negatives.
    int64_t counts[4] = {0, 0, 0, 0};
    for (int64_t row = 0; row < validRows; ++row) {
      const float *rowLogits = logits + row * classes;
      // The first maximum wins ties, as numpy.argmax.
      int64_t predicted = 0;
      for (int64_t column = 1; column < classes; ++column)
        if (rowLogits[column] > rowLogits[predicted])
          predicted = column;
      counts[0] += predicted == values[row];
      counts[1] += predicted == 1 && values[row] == 1;
      counts[2] += predicted == 1 && values[row] != 1;
      counts[3] += predicted != 1 && values[row] == 1;
    }
    SMXRT_RETURN_IF_ERROR(job.sum(counts, 4));
    summary.correct += counts[0];
    summary.truePositives += counts[1];
    summary.falsePositives += counts[2];
    summary.falseNegatives += counts[3];
  } else if (smxrt_tensor_dtype(labels) == SMXRT_DTYPE_F32 && classes == 1) {
    summary.hasRegression = true;
    const auto *values =
        static_cast<const float *>(smxrt_tensor_const_data(labels));
    // Each process's [valid rows, predictions..., targets...], gathered in
    // rank order: the job batch's rows in order.
    const int64_t batch = manifest->batch;
    std::vector<float> mine(static_cast<size_t>(1 + 2 * batch), 0.0f);
    mine[0] = static_cast<float>(validRows);
    std::copy(logits, logits + validRows, mine.begin() + 1);
    std::copy(values, values + validRows, mine.begin() + 1 + batch);
    std::vector<float> all(mine.size() * static_cast<size_t>(job.size()));
    SMXRT_RETURN_IF_ERROR(job.gather(
        mine.data(), all.data(),
        static_cast<int64_t>(mine.size() * sizeof(float))));
    for (int64_t process = 0; process < job.size(); ++process) {
      const float *block = all.data() + process * (1 + 2 * batch);
      for (int64_t row = 0; row < static_cast<int64_t>(block[0]); ++row) {
        summary.predictions.push_back(block[1 + row]);
        summary.targets.push_back(block[1 + batch + row]);
      }
    }
  }
  return nullptr;
}

EvalSummary HeldOutEvaluator::result() const {
  EvalSummary result = summary;
  double loss = 0;
  for (size_t term = 0; term < lossTerms.size(); ++term) {
    double mean = result.rows > 0 && term < termSums.size()
                      ? termSums[term] / result.rows
                      : NAN;
    double weight = lossTerms[term].second;
    result.terms.push_back(
        {manifest->results[lossTerms[term].first].name, mean, weight});
    loss += weight * mean;
  }
  result.loss = lossTerms.empty() ? NAN : loss;
  return result;
}

double pearsonCorrelation(const std::vector<double> &x,
                          const std::vector<double> &y) {
  size_t n = std::min(x.size(), y.size());
  if (n < 2)
    return NAN;
  double meanX = std::accumulate(x.begin(), x.begin() + n, 0.0) / n;
  double meanY = std::accumulate(y.begin(), y.begin() + n, 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t index = 0; index < n; ++index) {
    double dx = x[index] - meanX, dy = y[index] - meanY;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : NAN;
}

namespace {
/// Ranks from 1, ties getting the mean of their ranks.
std::vector<double> ranksOf(const std::vector<double> &values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t lhs, size_t rhs) {
    return values[lhs] != values[rhs] ? values[lhs] < values[rhs] : lhs < rhs;
  });
  std::vector<double> ranks(values.size());
  for (size_t begin = 0; begin < order.size();) {
    size_t end = begin + 1;
    while (end < order.size() && values[order[end]] == values[order[begin]])
      ++end;
    double rank = (begin + end + 1) / 2.0; // mean of begin+1 .. end
    for (size_t index = begin; index < end; ++index)
      ranks[order[index]] = rank;
    begin = end;
  }
  return ranks;
}
} // namespace

double spearmanCorrelation(const std::vector<double> &x,
                           const std::vector<double> &y) {
  return pearsonCorrelation(ranksOf(x), ranksOf(y));
}

std::vector<std::string> describeEvalSummary(const EvalSummary &summary) {
  std::vector<std::string> lines;
  for (const EvalSummary::Term &term : summary.terms)
    lines.push_back(std::isnan(term.weight)
                        ? formatString("%s: %.6f", term.name.c_str(), term.mean)
                        : formatString("%s: %.6f (weight %g)",
                                       term.name.c_str(), term.mean,
                                       term.weight));
  if (!summary.terms.empty() && !std::isnan(summary.loss))
    lines.push_back(formatString("loss: %.6f", summary.loss));
  if (summary.hasClassification && summary.rows > 0) {
    lines.push_back(
        formatString("accuracy: %.6f (%lld of %lld)",
                     static_cast<double>(summary.correct) / summary.rows,
                     static_cast<long long>(summary.correct),
                     static_cast<long long>(summary.rows)));
    if (summary.classes == 2) {
      int64_t tp = summary.truePositives;
      int64_t denominator =
          2 * tp + summary.falsePositives + summary.falseNegatives;
      lines.push_back(formatString(
          "f1: %.6f (class 1; precision %lld/%lld, recall %lld/%lld)",
          denominator > 0 ? 2.0 * tp / denominator : 0.0,
          static_cast<long long>(tp),
          static_cast<long long>(tp + summary.falsePositives),
          static_cast<long long>(tp),
          static_cast<long long>(tp + summary.falseNegatives)));
    }
  }
  if (summary.hasRegression)
    lines.push_back(formatString(
        "pearson: %.6f, spearman: %.6f",
        pearsonCorrelation(summary.predictions, summary.targets),
        spearmanCorrelation(summary.predictions, summary.targets)));
  return lines;
}

} // namespace smxrt
