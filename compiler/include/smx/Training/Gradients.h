//===- Gradients.h - reverse mode over a block of smx ops -------*- C++ -*-===//
//
// The reverse sweep shared by smx-build-train-step and smx-build-vjp
// (docs/training.md): ops are asked for their operand gradients through
// DifferentiableOpInterface, last op first, and the gradients of values with
// several uses are added up. Parts of the forward pass can be recomputed in
// the sweep instead of kept (`Recompute`).
//
//===----------------------------------------------------------------------===//

#ifndef SMX_TRAINING_GRADIENTS_H
#define SMX_TRAINING_GRADIENTS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringRef.h"
#include <optional>

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

/// Which forward values the reverse sweep computes again instead of keeping
/// them alive from the forward pass (activation checkpointing). A segment
/// is a run of consecutive forward ops of one part of the model, named by
/// the model path of their locations; the sweep clones a recomputed
/// segment's ops from its inputs right before its gradients, and the
/// gradient rules read the copies. The originals then die in the forward
/// pass: what stays live until the backward pass is the segments' inputs.
enum class Recompute {
  /// Keep every forward value a gradient rule reads.
  None,
  /// The token-mixing sublayers of attention layers ("layers.N.mixing"
  /// with a mix.self_attention): their Q, K, V and attention outputs.
  Attention,
  /// Every encoder layer ("layers.N"): only the layers' inputs are kept.
  Layers,
};

/// Parses "none", "attention" or "layers".
std::optional<Recompute> parseRecompute(StringRef text);

/// Walks `ops` (in program order) backwards and builds, before
/// `insertionPoint`, the gradients of their operands from the gradients of
/// their results already in `gradients`, recomputing the segments
/// `recompute` names. Fails, with an error on the op, at an op whose
/// results carry a gradient but that does not implement
/// DifferentiableOpInterface, or whose rule fails.
LogicalResult backpropagate(ArrayRef<Operation *> ops,
                            Operation *insertionPoint, GradientMap &gradients,
                            Recompute recompute = Recompute::None);

} // namespace mlir::smx

#endif // SMX_TRAINING_GRADIENTS_H
