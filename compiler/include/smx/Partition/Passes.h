//===- Passes.h - smx partitioning passes -----------------------*- C++ -*-===//

#ifndef SMX_PARTITION_PASSES_H
#define SMX_PARTITION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "smx/Dialect/Moe/IR/MoeDialect.h"

namespace mlir::shard {
class GridOp;
} // namespace mlir::shard

namespace mlir::smx {

/// The name of the grid smx-shard-batch declares.
inline constexpr llvm::StringLiteral kGridName = "grid";
/// The grid's axes: data parallelism splits the batch over both, expert
/// parallelism the experts over the second.
inline constexpr int16_t kDataParallelAxis = 0;
inline constexpr int16_t kExpertParallelAxis = 1;

/// The module's grid, or null for a model of one device.
shard::GridOp getModelGrid(ModuleOp module);

#define GEN_PASS_DECL
#include "smx/Partition/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "smx/Partition/Passes.h.inc"

} // namespace mlir::smx

#endif // SMX_PARTITION_PASSES_H
