//===- MoeLowering.h - What the moe lowerings share -------------*- C++ -*-===//
//
// Helpers of convert-moe-to-linalg shared by the forward ops'
// (MoeToLinalg.cpp) and the gradient ops' (MoeGradientsToLinalg.cpp)
// patterns: the slot grid of a routing, walks over its filled slots, and
// per-group top-k counts.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_LIB_CONVERSION_MOETOLINALG_MOELOWERING_H
#define SMX_LIB_CONVERSION_MOETOLINALG_MOELOWERING_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "smx/Dialect/Smx/IR/SmxAttributes.h"

#include <optional>

namespace mlir::smx::moe_lowering {

/// The `[G, E, C]` slot grid of a routing and the tokens it routes.
struct SlotGrid {
  int64_t groups, experts, capacity, tokensPerGroup;
  SlotGrid(RankedTensorType slots, int64_t numTokens)
      : groups(slots.getDimSize(0)), experts(slots.getDimSize(1)),
        capacity(slots.getDimSize(2)), tokensPerGroup(numTokens / groups) {}
};

/// The global token index of a slot holding in-group index `inGroup`.
Value globalTokenIndex(OpBuilder &builder, Location loc, Value group,
                       Value inGroup, int64_t tokensPerGroup);

/// Threads `initial` through every filled slot of `indices`: `update` gets
/// (group, expert, slot, token) and the running value, and returns the new
/// value. Empty slots (index -1) are skipped.
using SlotUpdate = function_ref<Value(OpBuilder &, Location, ValueRange slot,
                                      Value token, Value running)>;
Value foldFilledSlots(OpBuilder &builder, Location loc, Value indices,
                      SlotGrid grid, Value initial, SlotUpdate update);

/// `[T, E]` as `[groups, T / groups, E]`.
Value expandToGroups(OpBuilder &builder, Location loc, Value tensor,
                     int64_t groups);

/// Per group of `T / groups` tokens and expert: how many of the group's
/// tokens have the expert among their `k` most probable (ties go to the
/// lower expert index), as `[groups, E]` f32.
Value emitTopKCounts(OpBuilder &rewriter, Location loc, Value probs, int64_t k,
                     int64_t groups);

/// One expert layer: `act(X[g, e] · W[e] + bias[e])` for all (g, e), the
/// GEMM batched over (group, expert) with the weights broadcast over groups.
Value emitExpertLayer(OpBuilder &builder, Location loc, Value input,
                      Value weight, Value bias,
                      std::optional<smx::Activation> activation);

/// The counter strides of expert dropout on the activations `[G, E, C, F]`
/// of `op` (moe.expert_ffn or its gradient): row-major over
/// `[G, E', C, F]`, `E'` its `counter_experts`; empty (plain row-major)
/// without it.
template <typename ExpertOp>
SmallVector<int64_t> getExpertDropoutStrides(ExpertOp op) {
  std::optional<uint64_t> counterExperts = op.getCounterExperts();
  if (!counterExperts)
    return {};
  int64_t capacity = op.getInput().getType().getDimSize(2);
  int64_t hidden = op.getInWeight().getType().getDimSize(2);
  int64_t experts = static_cast<int64_t>(*counterExperts);
  return {experts * capacity * hidden, capacity * hidden, hidden, 1};
}

} // namespace mlir::smx::moe_lowering

#endif // SMX_LIB_CONVERSION_MOETOLINALG_MOELOWERING_H
