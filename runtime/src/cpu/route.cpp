//===- route.cpp - Filling expert slots by a routing policy ---------------===//
//
// moe.route on the CPU. Every policy is a deterministic greedy fill whose
// decisions must match the NumPy reference (test/reference/smx_routing.py)
// exactly, so every ordering is total: by probability, descending, then by
// the lower token index, then the lower expert index. Sorts keep it
// O(T log T) per expert instead of repeated scans. capped_experts_choose's
// `lp` method first solves the paper's entropy-regularized program
// (solveCappedAssignment) and fills by its assignment instead.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/cpu_kernels.h"

#include "kernel_contract.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <numeric>
#include <vector>

namespace smxrt {
namespace {

constexpr const char *kernelName = "smxrt_cpu_route";

/// Whether score `x` ranks strictly before `y`: larger first, NaN after
/// every number (so that orderings stay strict weak orders).
template <typename Score> bool ranksBefore(Score x, Score y) {
  if (std::isnan(x))
    return false;
  return std::isnan(y) || x > y;
}

/// One group's view of the arguments: probs [T, E], slots [E, C].
class GroupSlots {
public:
  GroupSlots(const float *probs, int64_t tokens, int64_t experts,
             int64_t capacity, int32_t *indices, float *weights)
      : probs(probs), tokens(tokens), experts(experts), capacity(capacity),
        indices(indices), weights(weights), fillCount(experts, 0) {
    std::fill(indices, indices + experts * capacity, -1);
    std::fill(weights, weights + experts * capacity, 0.0f);
  }

  int64_t tokenCount() const { return tokens; }
  int64_t expertCount() const { return experts; }
  int64_t slotCount() const { return capacity; }
  /// The group's probabilities, [T, E] row-major.
  const float *probabilities() const { return probs; }
  float probability(int64_t token, int64_t expert) const {
    return probs[token * experts + expert];
  }
  bool hasFreeSlot(int64_t expert) const {
    return fillCount[expert] < capacity;
  }

  /// Puts `token` in the next slot of `expert`, which must have one.
  void place(int64_t token, int64_t expert) {
    int64_t slot = expert * capacity + fillCount[expert]++;
    indices[slot] = static_cast<int32_t>(token);
    weights[slot] = probability(token, expert);
  }

private:
  const float *probs;
  int64_t tokens;
  int64_t experts;
  int64_t capacity;
  int32_t *indices;
  float *weights;
  std::vector<int64_t> fillCount;
};

/// Orders candidates (tokens, experts or pairs) by `probabilityOf`, ties to
/// the lower candidate number: a total order, so sorts are deterministic.
template <typename ProbabilityOf>
auto byProbability(ProbabilityOf probabilityOf) {
  return [probabilityOf](int64_t lhs, int64_t rhs) {
    float lhsProbability = probabilityOf(lhs);
    float rhsProbability = probabilityOf(rhs);
    if (ranksBefore(lhsProbability, rhsProbability))
      return true;
    if (ranksBefore(rhsProbability, lhsProbability))
      return false;
    return lhs < rhs;
  };
}

std::vector<int64_t> iota(int64_t count) {
  std::vector<int64_t> values(static_cast<size_t>(count));
  std::iota(values.begin(), values.end(), int64_t{0});
  return values;
}

/// Each expert takes its top-C tokens.
void routeExpertsChoose(GroupSlots &group) {
  int64_t taken = std::min(group.slotCount(), group.tokenCount());
  std::vector<int64_t> tokens = iota(group.tokenCount());
  for (int64_t expert = 0; expert < group.expertCount(); ++expert) {
    std::iota(tokens.begin(), tokens.end(), int64_t{0});
    std::partial_sort(tokens.begin(), tokens.begin() + taken, tokens.end(),
                      byProbability([&](int64_t token) {
                        return group.probability(token, expert);
                      }));
    for (int64_t rank = 0; rank < taken; ++rank)
      group.place(tokens[rank], expert);
  }
}

/// Top-k token choice: every token's rank-r choice is placed (or dropped)
/// before any rank r+1 choice; with batch prioritization, tokens go in order
/// of their top-1 probability.
void routeTokensChoose(GroupSlots &group, int64_t k, bool batchPrioritized) {
  int64_t tokens = group.tokenCount();
  int64_t experts = group.expertCount();
  std::vector<int64_t> choices(static_cast<size_t>(tokens * k));
  std::vector<int64_t> expertOrder = iota(experts);
  for (int64_t token = 0; token < tokens; ++token) {
    std::iota(expertOrder.begin(), expertOrder.end(), int64_t{0});
    std::partial_sort(expertOrder.begin(), expertOrder.begin() + k,
                      expertOrder.end(), byProbability([&](int64_t expert) {
                        return group.probability(token, expert);
                      }));
    std::copy(expertOrder.begin(), expertOrder.begin() + k,
              choices.begin() + token * k);
  }

  std::vector<int64_t> priority = iota(tokens);
  if (batchPrioritized)
    std::sort(priority.begin(), priority.end(),
              byProbability([&](int64_t token) {
                return group.probability(token, choices[token * k]);
              }));
  for (int64_t rank = 0; rank < k; ++rank)
    for (int64_t token : priority) {
      int64_t expert = choices[token * k + rank];
      if (group.hasFreeSlot(expert))
        group.place(token, expert);
    }
}

/// Greedy over all (token, expert) pairs in decreasing order of `scoreOf`
/// (then of probability, then lower pair number token·E + expert); a token
/// joins at most k experts.
template <typename ScoreOf>
void fillCappedGreedy(GroupSlots &group, int64_t k, ScoreOf scoreOf) {
  int64_t experts = group.expertCount();
  auto probabilityOf = [&](int64_t pair) {
    return group.probability(pair / experts, pair % experts);
  };
  std::vector<int64_t> pairs = iota(group.tokenCount() * experts);
  std::sort(pairs.begin(), pairs.end(), [&](int64_t lhs, int64_t rhs) {
    auto lhsScore = scoreOf(lhs), rhsScore = scoreOf(rhs);
    if (ranksBefore(lhsScore, rhsScore))
      return true;
    if (ranksBefore(rhsScore, lhsScore))
      return false;
    return byProbability(probabilityOf)(lhs, rhs);
  });
  std::vector<int64_t> expertsOfToken(static_cast<size_t>(group.tokenCount()),
                                      0);
  int64_t freeSlots = experts * group.slotCount();
  for (int64_t pair : pairs) {
    if (freeSlots == 0)
      break;
    int64_t token = pair / experts;
    int64_t expert = pair % experts;
    if (group.hasFreeSlot(expert) && expertsOfToken[token] < k) {
      group.place(token, expert);
      ++expertsOfToken[token];
      --freeSlots;
    }
  }
}

/// Greedy over all (token, expert) pairs, most probable first.
void routeCappedExpertsChoose(GroupSlots &group, int64_t k) {
  int64_t experts = group.expertCount();
  fillCappedGreedy(group, k, [&](int64_t pair) {
    return group.probability(pair / experts, pair % experts);
  });
}

/// log(Σ exp(x_i)) over `count` values at stride `stride`; -inf when every
/// value is -inf.
double logSumExp(const double *values, int64_t count, int64_t stride) {
  double largest = -HUGE_VAL;
  for (int64_t i = 0; i < count; ++i)
    largest = std::max(largest, values[i * stride]);
  if (largest == -HUGE_VAL)
    return -HUGE_VAL;
  double sum = 0.0;
  for (int64_t i = 0; i < count; ++i)
    sum += std::exp(values[i * stride] - largest);
  return largest + std::log(sum);
}

/// The entropy-regularized program of capped expert choice (Zhou et al.
/// 2022, section 4.5 and appendix C), over one group's probabilities S:
///
///   max_A  Σ S·A + λ·H(A),   H(A) = −Σ (A·log A − A)
///   s.t.   Σ_t A[t, e] ≤ C   (an expert's slots)
///          Σ_e A[t, e] ≤ k   (a token's cap)
///          0 ≤ A ≤ 1
///
/// Its optimum is A = exp((S − α_e − β_t − γ_te) / λ) for dual variables
/// α, β, γ ≥ 0. Rounds of block coordinate ascent on the dual find them:
/// each block's step is closed form, a scaling of the columns (rows,
/// entries) above their bound down onto it, as in Sinkhorn's algorithm.
/// Small λ makes those steps slow to agree, so λ starts at 1 (about uniform
/// over probabilities) and shrinks geometrically to `entropy` by half of
/// `iterations`, each round warm-started from the last (ε-scaling); the
/// rest run at `entropy`. Writes log A, [T, E].
void solveCappedAssignment(const float *probs, int64_t tokens, int64_t experts,
                           int64_t capacity, int64_t k, int64_t iterations,
                           double entropy, double *logAssignment) {
  int64_t pairs = tokens * experts;
  // A NaN probability can never be assigned.
  std::vector<double> scores(static_cast<size_t>(pairs));
  for (int64_t pair = 0; pair < pairs; ++pair)
    scores[pair] =
        std::isnan(probs[pair]) ? -HUGE_VAL : static_cast<double>(probs[pair]);
  // The dual variables of each expert's slots (alpha), each token's cap
  // (beta) and each entry's bound A ≤ 1 (gamma), all from 0.
  std::vector<double> alpha(static_cast<size_t>(experts), 0.0);
  std::vector<double> beta(static_cast<size_t>(tokens), 0.0);
  std::vector<double> gamma(static_cast<size_t>(pairs), 0.0);
  double *logA = logAssignment;
  double lambda = std::min(1.0, entropy);
  // log A with the dual variables of one block left out (`without`), each
  // subtracted in the order S − α − β − γ, as the reference does: an entry
  // at its bound then has log A = 0 exactly.
  enum class Block { None, Alpha, Beta, Gamma };
  auto refresh = [&](Block without) {
    for (int64_t token = 0; token < tokens; ++token)
      for (int64_t expert = 0; expert < experts; ++expert) {
        int64_t pair = token * experts + expert;
        double value = scores[pair];
        if (without != Block::Alpha)
          value -= alpha[expert];
        if (without != Block::Beta)
          value -= beta[token];
        if (without != Block::Gamma)
          value -= gamma[pair];
        logA[pair] = value / lambda;
      }
  };
  double logCapacity = std::log(static_cast<double>(capacity));
  double logCap = std::log(static_cast<double>(k));
  int64_t annealing = iterations / 2;
  double start = std::max(1.0, entropy);
  for (int64_t iteration = 0; iteration < iterations; ++iteration) {
    lambda = iteration < annealing
                 ? start * std::pow(entropy / start,
                                    static_cast<double>(iteration) / annealing)
                 : entropy;
    // Each step maximizes the dual over one block exactly.
    refresh(Block::Alpha);
    for (int64_t expert = 0; expert < experts; ++expert)
      alpha[expert] =
          std::max(0.0, lambda * (logSumExp(logA + expert, tokens, experts) -
                                  logCapacity));
    refresh(Block::Beta);
    for (int64_t token = 0; token < tokens; ++token)
      beta[token] = std::max(
          0.0,
          lambda * (logSumExp(logA + token * experts, experts, 1) - logCap));
    for (int64_t token = 0; token < tokens; ++token)
      for (int64_t expert = 0; expert < experts; ++expert) {
        int64_t pair = token * experts + expert;
        gamma[pair] = std::max(0.0, scores[pair] - alpha[expert] - beta[token]);
      }
  }
  lambda = entropy;
  refresh(Block::None);
}

/// The resolution, in units of log A, at which the `lp` method ranks pairs.
constexpr double kLpRankingScale = 1e9;

/// The paper's capped expert choice: slots filled greedily in order of the
/// entropy-regularized program's assignment instead of the probabilities.
void routeCappedExpertsChooseLp(GroupSlots &group, int64_t k,
                                int64_t iterations, double entropy,
                                std::vector<double> &logAssignment) {
  if (group.slotCount() == 0)
    return;
  logAssignment.resize(
      static_cast<size_t>(group.tokenCount() * group.expertCount()));
  solveCappedAssignment(group.probabilities(), group.tokenCount(),
                        group.expertCount(), group.slotCount(), k, iterations,
                        entropy, logAssignment.data());
  // Ranked by log A in units of 1e-9: values that differ only by rounding
  // (another summation order, as the reference's) tie and fall back to the
  // probability, so decisions do not hang on the last bits.
  for (double &value : logAssignment)
    value = std::nearbyint(value * kLpRankingScale);
  fillCappedGreedy(group, k, [&](int64_t pair) { return logAssignment[pair]; });
}

/// Expert = token id mod E (floor modulo, as NumPy's %); tokens in index
/// order until the expert is full.
void routeHash(GroupSlots &group, const int32_t *tokenIds) {
  int64_t experts = group.expertCount();
  for (int64_t token = 0; token < group.tokenCount(); ++token) {
    int64_t expert = tokenIds[token] % experts;
    if (expert < 0)
      expert += experts;
    if (group.hasFreeSlot(expert))
      group.place(token, expert);
  }
}

void checkGroupShape(const char *kernel, int64_t groups, int64_t tokensPerGroup,
                     int64_t experts, int64_t capacity) {
  for (auto [name, value] : {std::pair{"groups", groups},
                             {"tokens_per_group", tokensPerGroup},
                             {"capacity", capacity}})
    if (value < 0)
      reportKernelContractViolation(kernel, "%s = %lld is negative", name,
                                    static_cast<long long>(value));
  if (experts < 1)
    reportKernelContractViolation(kernel, "experts = %lld is not positive",
                                  static_cast<long long>(experts));
  if (tokensPerGroup > INT32_MAX)
    reportKernelContractViolation(
        kernel, "tokens_per_group = %lld does not fit in an i32 index",
        static_cast<long long>(tokensPerGroup));
}

void checkArguments(int32_t policy, int64_t k, int64_t groups,
                    int64_t tokensPerGroup, int64_t experts, int64_t capacity,
                    const float *probs, const int32_t *tokenIds,
                    const int32_t *dispatchIndices,
                    const float *combineWeights) {
  if (policy < 0 || policy >= SMXRT_ROUTING_POLICY_COUNT)
    reportKernelContractViolation(kernelName, "unknown policy %d", policy);
  checkGroupShape(kernelName, groups, tokensPerGroup, experts, capacity);
  bool takesK = policy == SMXRT_ROUTING_TOKENS_CHOOSE ||
                policy == SMXRT_ROUTING_CAPPED_EXPERTS_CHOOSE;
  if (takesK && k < 1)
    reportKernelContractViolation(kernelName, "k = %lld is less than 1",
                                  static_cast<long long>(k));
  if (groups == 0)
    return;
  if (tokensPerGroup > 0 && !probs)
    reportKernelContractViolation(kernelName, "probs is NULL");
  if (tokensPerGroup > 0 && policy == SMXRT_ROUTING_HASH && !tokenIds)
    reportKernelContractViolation(kernelName, "token_ids is NULL for hash");
  if (capacity > 0 && (!dispatchIndices || !combineWeights))
    reportKernelContractViolation(kernelName, "an output buffer is NULL");
}

/// The arguments of the capped expert choice program's kernels.
void checkSolverArguments(const char *kernel, int64_t k, int64_t iterations,
                          double entropy) {
  if (k < 1)
    reportKernelContractViolation(kernel, "k = %lld is less than 1",
                                  static_cast<long long>(k));
  if (iterations < 0)
    reportKernelContractViolation(kernel, "iterations = %lld is negative",
                                  static_cast<long long>(iterations));
  if (!(entropy > 0.0) || !std::isfinite(entropy))
    reportKernelContractViolation(
        kernel, "entropy = %g is not a positive number", entropy);
}

/// Runs `body`. A kernel has no status to return, so an allocation failure
/// of its scratch vectors (its only allocations) is reported as the
/// kernel's failure.
template <typename Body>
void runWithScratch(const char *kernel, int64_t tokens, int64_t experts,
                    Body body) {
#if defined(__cpp_exceptions)
  try {
#endif
    body();
#if defined(__cpp_exceptions)
  } catch (const std::bad_alloc &) {
    reportKernelFailure(kernel,
                        "out of memory for the scratch buffers of %lld tokens "
                        "x %lld experts",
                        static_cast<long long>(tokens),
                        static_cast<long long>(experts));
  }
#endif
}

/// Calls `route(group, g)` on the slots of each group g.
template <typename Route>
void forEachGroup(int64_t groups, int64_t tokensPerGroup, int64_t experts,
                  int64_t capacity, const float *probs,
                  int32_t *dispatchIndices, float *combineWeights,
                  Route route) {
  for (int64_t g = 0; g < groups; ++g) {
    GroupSlots group(probs + g * tokensPerGroup * experts, tokensPerGroup,
                     experts, capacity,
                     dispatchIndices + g * experts * capacity,
                     combineWeights + g * experts * capacity);
    route(group, g);
  }
}

} // namespace
} // namespace smxrt

using namespace smxrt;

extern "C" void
smxrt_cpu_route(int32_t policy, int64_t k, int32_t batch_prioritized,
                int64_t groups, int64_t tokens_per_group, int64_t experts,
                int64_t capacity, const float *probs, const int32_t *token_ids,
                int32_t *dispatch_indices, float *combine_weights) {
  checkArguments(policy, k, groups, tokens_per_group, experts, capacity, probs,
                 token_ids, dispatch_indices, combine_weights);
  // A token has only E choices: a larger k means all of them.
  int64_t choices = std::min(k, experts);
  runWithScratch(kernelName, tokens_per_group, experts, [&] {
    forEachGroup(groups, tokens_per_group, experts, capacity, probs,
                 dispatch_indices, combine_weights,
                 [&](GroupSlots &group, int64_t g) {
                   switch (policy) {
                   case SMXRT_ROUTING_EXPERTS_CHOOSE:
                     routeExpertsChoose(group);
                     break;
                   case SMXRT_ROUTING_TOKENS_CHOOSE:
                     routeTokensChoose(group, choices, batch_prioritized != 0);
                     break;
                   case SMXRT_ROUTING_CAPPED_EXPERTS_CHOOSE:
                     routeCappedExpertsChoose(group, choices);
                     break;
                   case SMXRT_ROUTING_HASH:
                     routeHash(group, token_ids + g * tokens_per_group);
                     break;
                   }
                 });
  });
}

extern "C" void
smxrt_cpu_route_capped_lp(int64_t k, int64_t iterations, double entropy,
                          int64_t groups, int64_t tokens_per_group,
                          int64_t experts, int64_t capacity, const float *probs,
                          int32_t *dispatch_indices, float *combine_weights) {
  constexpr const char *kernel = "smxrt_cpu_route_capped_lp";
  checkGroupShape(kernel, groups, tokens_per_group, experts, capacity);
  checkSolverArguments(kernel, k, iterations, entropy);
  if (groups > 0 && tokens_per_group > 0 && !probs)
    reportKernelContractViolation(kernel, "probs is NULL");
  if (groups > 0 && capacity > 0 && (!dispatch_indices || !combine_weights))
    reportKernelContractViolation(kernel, "an output buffer is NULL");
  int64_t choices = std::min(k, experts);
  runWithScratch(kernel, tokens_per_group, experts, [&] {
    std::vector<double> logAssignment;
    forEachGroup(groups, tokens_per_group, experts, capacity, probs,
                 dispatch_indices, combine_weights,
                 [&](GroupSlots &group, int64_t) {
                   routeCappedExpertsChooseLp(group, choices, iterations,
                                              entropy, logAssignment);
                 });
  });
}

extern "C" void smxrt_cpu_solve_capped_assignment(
    int64_t k, int64_t iterations, double entropy, int64_t tokens,
    int64_t experts, int64_t capacity, const float *probs, double *assignment) {
  constexpr const char *kernel = "smxrt_cpu_solve_capped_assignment";
  checkGroupShape(kernel, 1, tokens, experts, capacity);
  checkSolverArguments(kernel, k, iterations, entropy);
  if (tokens > 0 && (!probs || !assignment))
    reportKernelContractViolation(kernel, "a buffer is NULL");
  if (capacity == 0) {
    std::fill(assignment, assignment + tokens * experts, 0.0);
    return;
  }
  runWithScratch(kernel, tokens, experts, [&] {
    solveCappedAssignment(probs, tokens, experts, capacity,
                          std::min(k, experts), iterations, entropy,
                          assignment);
  });
  for (int64_t pair = 0; pair < tokens * experts; ++pair)
    assignment[pair] = std::exp(assignment[pair]);
}
