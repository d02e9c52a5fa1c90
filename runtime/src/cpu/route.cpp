//===- route.cpp - Filling expert slots by a routing policy ---------------===//
//
// moe.route on the CPU. Every policy is a deterministic greedy fill whose
// decisions must match the NumPy reference (test/reference/smx_routing.py)
// exactly, so every ordering is total: by probability, descending, then by
// the lower token index, then the lower expert index. Sorts keep it
// O(T log T) per expert instead of repeated scans.
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

/// Whether probability `x` ranks strictly before `y`: larger first, NaN after
/// every number (so that orderings stay strict weak orders).
bool ranksBefore(float x, float y) {
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

/// Greedy over all (token, expert) pairs, most probable first; a token joins
/// at most k experts.
void routeCappedExpertsChoose(GroupSlots &group, int64_t k) {
  int64_t experts = group.expertCount();
  // Pair number token·E + expert, so that ties on probability go to the
  // lower token, then the lower expert.
  std::vector<int64_t> pairs = iota(group.tokenCount() * experts);
  std::sort(pairs.begin(), pairs.end(), byProbability([&](int64_t pair) {
              return group.probability(pair / experts, pair % experts);
            }));
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

void checkArguments(int32_t policy, int64_t k, int64_t groups,
                    int64_t tokensPerGroup, int64_t experts, int64_t capacity,
                    const float *probs, const int32_t *tokenIds,
                    const int32_t *dispatchIndices,
                    const float *combineWeights) {
  if (policy < 0 || policy >= SMXRT_ROUTING_POLICY_COUNT)
    reportKernelContractViolation(kernelName, "unknown policy %d", policy);
  for (auto [name, value] : {std::pair{"groups", groups},
                             {"tokens_per_group", tokensPerGroup},
                             {"capacity", capacity}})
    if (value < 0)
      reportKernelContractViolation(kernelName, "%s = %lld is negative", name,
                                    static_cast<long long>(value));
  if (experts < 1)
    reportKernelContractViolation(kernelName, "experts = %lld is not positive",
                                  static_cast<long long>(experts));
  if (tokensPerGroup > INT32_MAX)
    reportKernelContractViolation(
        kernelName, "tokens_per_group = %lld does not fit in an i32 index",
        static_cast<long long>(tokensPerGroup));
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
#if defined(__cpp_exceptions)
  try {
#endif
    for (int64_t g = 0; g < groups; ++g) {
      GroupSlots group(probs + g * tokens_per_group * experts, tokens_per_group,
                       experts, capacity,
                       dispatch_indices + g * experts * capacity,
                       combine_weights + g * experts * capacity);
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
    }
#if defined(__cpp_exceptions)
  } catch (const std::bad_alloc &) {
    // No status to return: the scratch vectors are the only allocations.
    reportKernelFailure(kernelName,
                        "out of memory for the sort buffers of %lld tokens "
                        "x %lld experts",
                        static_cast<long long>(tokens_per_group),
                        static_cast<long long>(experts));
  }
#endif
}
