//===- Passes.h - smx training passes ---------------------------*- C++ -*-===//

#ifndef SMX_TRAINING_PASSES_H
#define SMX_TRAINING_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/Pass.h"
#include "smx/Dialect/Smx/IR/SmxDialect.h"

namespace mlir::smx {

/// Attaches DifferentiableOpInterface to the upstream ops the model builder
/// emits (arith.addf on tensors, tensor reshapes and slices).
void registerGradientExternalModels(DialectRegistry &registry);

#define GEN_PASS_DECL
#include "smx/Training/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "smx/Training/Passes.h.inc"

} // namespace mlir::smx

#endif // SMX_TRAINING_PASSES_H
