//===- Gradients.h - reverse mode over a block of smx ops -------*- C++ -*-===//
//
// The reverse sweep shared by smx-build-train-step and smx-build-vjp
// (docs/training.md): ops are asked for their operand gradients through
// DifferentiableOpInterface, last op first, and the gradients of values with
// several uses are added up.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_TRAINING_GRADIENTS_H
#define SMX_TRAINING_GRADIENTS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::smx {

/// The gradients of the values of one function, summed over their uses.
class GradientMap {
public:
  /// The gradient of `value`, or null when none has reached it.
  Value lookup(Value value) const { return gradients.lookup(value); }

  /// Adds `gradient` to the gradient of `value` (`arith.addf` on tensors).
  void accumulate(OpBuilder &builder, Location loc, Value value,
                  Value gradient);

private:
  DenseMap<Value, Value> gradients;
};

/// Walks `ops` (in program order) backwards and builds, before
/// `insertionPoint`, the gradients of their operands from the gradients of
/// their results already in `gradients`. Fails, with an error on the op, at
/// an op whose results carry a gradient but that does not implement
/// DifferentiableOpInterface, or whose rule fails.
LogicalResult backpropagate(ArrayRef<Operation *> ops,
                            Operation *insertionPoint, GradientMap &gradients);

} // namespace mlir::smx

#endif // SMX_TRAINING_GRADIENTS_H
