//===- Reductions.h - the reductions GPU kernels combine --------*- C++ -*-===//
//
// The floating-point reductions a row kernel's threads combine with
// `gpu.all_reduce` (smx-outline-gpu-kernels), and the same combination on
// the CPU (smx-emulate-gpu-kernels).
//
//===----------------------------------------------------------------------===//

#ifndef SMX_LIB_TARGET_CUDA_REDUCTIONS_H
#define SMX_LIB_TARGET_CUDA_REDUCTIONS_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/Builders.h"

#include <optional>

namespace mlir::smx {

/// The `gpu.all_reduce` kind of `combiner` (arith.addf, maximumf, minimumf,
/// maxnumf, minnumf), or none.
std::optional<gpu::AllReduceOperation> getAllReduceKind(Operation *combiner);

/// The identity of `kind` on `type`: 0, -inf or +inf.
Value createReductionIdentity(OpBuilder &builder, Location loc,
                              gpu::AllReduceOperation kind, FloatType type);

/// `lhs` and `rhs` combined as `kind` combines them, or null for a kind
/// getAllReduceKind never returns.
Value createReductionCombine(OpBuilder &builder, Location loc,
                             gpu::AllReduceOperation kind, Value lhs,
                             Value rhs);

} // namespace mlir::smx

#endif // SMX_LIB_TARGET_CUDA_REDUCTIONS_H
