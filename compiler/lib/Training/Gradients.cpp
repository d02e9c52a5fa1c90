//===- Gradients.cpp - reverse mode over a block of smx ops ---------------===//

#include "smx/Training/Gradients.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "smx/Dialect/Mix/IR/MixOps.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "smx/Dialect/Smx/IR/SmxInterfaces.h"

using namespace mlir;
using namespace mlir::smx;

void GradientMap::accumulate(OpBuilder &builder, Location loc, Value value,
                             Value gradient) {
  Value &slot = gradients[value];
  slot = slot ? arith::AddFOp::create(builder, loc, slot, gradient).getResult()
              : gradient;
}

std::optional<Recompute> mlir::smx::parseRecompute(StringRef text) {
  if (text == "none")
    return Recompute::None;
  if (text == "attention")
    return Recompute::Attention;
  if (text == "layers")
    return Recompute::Layers;
  return std::nullopt;
}

namespace {

/// A run of consecutive ops in `ops`, [begin, end), recomputed or not.
struct Segment {
  size_t begin, end;
  bool recompute;
};

/// The first `parts` dot-separated parts of `path`: "layers.3" of
/// "layers.3.mixing.query" for 2; "" when the path has fewer.
StringRef pathPrefix(StringRef path, unsigned parts) {
  SmallVector<StringRef> pieces;
  path.split(pieces, '.', /*MaxSplit=*/parts);
  if (pieces.size() < parts)
    return "";
  size_t length = parts - 1;
  for (StringRef piece : ArrayRef<StringRef>(pieces).take_front(parts))
    length += piece.size();
  return path.take_front(length);
}

/// The segment an op belongs to under `recompute` (its key), or "" when it
/// is in none: "layers.N" for Layers, "layers.N.mixing" for Attention.
StringRef segmentKey(Operation *op, Recompute recompute) {
  StringRef path = getModelPath(op->getLoc());
  if (recompute == Recompute::None || !path.starts_with("layers."))
    return "";
  if (recompute == Recompute::Layers)
    return pathPrefix(path, 2);
  StringRef sublayer = pathPrefix(path, 3);
  return sublayer.ends_with(".mixing") ? sublayer : "";
}

/// `ops` cut into maximal runs of one segment key. A run is recomputed when
/// its key is not empty, all its ops can be executed again with the same
/// result (pure, no regions), and, for Attention, it holds a
/// self-attention.
SmallVector<Segment> findSegments(ArrayRef<Operation *> ops,
                                  Recompute recompute) {
  SmallVector<Segment> segments;
  size_t begin = 0;
  while (begin < ops.size()) {
    StringRef key = segmentKey(ops[begin], recompute);
    size_t end = begin + 1;
    while (end < ops.size() && segmentKey(ops[end], recompute) == key)
      ++end;
    bool recomputed = !key.empty();
    bool hasAttention = false;
    for (Operation *op : ops.slice(begin, end - begin)) {
      recomputed &= isPure(op) && op->getNumRegions() == 0;
      hasAttention |= isa<mix::SelfAttentionOp>(op);
    }
    if (recompute == Recompute::Attention)
      recomputed &= hasAttention;
    segments.push_back({begin, end, recomputed});

    begin = end;
  }
  return segments;
}

/// Adds the operand gradients of `op` from those of its results.
LogicalResult applyGradientRule(OpBuilder &builder, Operation *op,
                                GradientMap &gradients) {
  SmallVector<Value> resultGradients;
  bool reachesLoss = false;
  for (Value result : op->getResults()) {
    resultGradients.push_back(gradients.lookup(result));
    reachesLoss |= static_cast<bool>(resultGradients.back());
  }
  // A gradient stops at ops without float operands (constants, integer
  // arithmetic): no parameter is behind them.
  bool hasFloatOperand = llvm::any_of(op->getOperandTypes(), [](Type type) {
    return isa<FloatType>(getElementTypeOrSelf(type));
  });
  if (!reachesLoss || !hasFloatOperand)
    return success();
  auto differentiable = dyn_cast<DifferentiableOpInterface>(op);
  if (!differentiable)
    return op->emitOpError()
           << "is on the path from the parameters to the loss but has no "
              "gradient (it does not implement DifferentiableOpInterface)";
  SmallVector<Value> operandGradients(op->getNumOperands());
  if (failed(differentiable.buildGradients(builder, resultGradients,
                                           operandGradients)))
    return failure();
  for (auto [operand, gradient] :
       llvm::zip_equal(op->getOperands(), operandGradients))
    if (gradient)
      gradients.accumulate(builder, op->getLoc(), operand, gradient);
  return success();
}

} // namespace

LogicalResult mlir::smx::backpropagate(ArrayRef<Operation *> ops,
                                       Operation *insertionPoint,
                                       GradientMap &gradients,
                                       Recompute recompute) {
  OpBuilder builder(insertionPoint);
  SmallVector<Segment> segments = findSegments(ops, recompute);
  for (const Segment &segment : llvm::reverse(segments)) {
    ArrayRef<Operation *> segmentOps =
        ops.slice(segment.begin, segment.end - segment.begin);
    if (!segment.recompute) {
      for (Operation *op : llvm::reverse(segmentOps))
        if (failed(applyGradientRule(builder, op, gradients)))
          return failure();
      continue;
    }
    // The segment again, from its inputs (the copies read the originals of
    // values defined before it), where its gradients start. Gradients
    // already on its results (from later uses) move to the copies, and the
    // rules run on the copies: the originals' last uses stay in the
    // forward pass. Copies no rule reads are dead and canonicalization
    // drops them.
    IRMapping copies;
    SmallVector<Operation *> recomputed;
    for (Operation *op : segmentOps)
      recomputed.push_back(builder.clone(*op, copies));
    for (Operation *op : segmentOps)
      for (Value result : op->getResults())
        if (Value gradient = gradients.lookup(result))
          gradients.accumulate(builder, op->getLoc(), copies.lookup(result),
                               gradient);
    for (Operation *op : llvm::reverse(recomputed))
      if (failed(applyGradientRule(builder, op, gradients)))
        return failure();
  }
  return success();
}
