//===- StaticSizes.h - sizes known at compile time --------------*- C++ -*-===//
//
// Byte sizes of static buffers and trip counts of loops with constant
// bounds: what the CPU passes (smx-profile-calls, smx-fuse-row-loops,
// smx-prepare-parallel-loops) and smxc's memory budget compute from the IR.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_TARGET_CPU_STATICSIZES_H
#define SMX_TARGET_CPU_STATICSIZES_H

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinTypes.h"

#include <optional>

namespace mlir::smx {

/// Bytes of a memref of static shape and integer or float elements (each
/// element rounded up to whole bytes), or nullopt.
std::optional<int64_t> getStaticByteSize(MemRefType type);

/// Iterations of one loop dimension with constant bounds and a positive
/// constant step, or nullopt.
std::optional<int64_t> getStaticTripCount(Value lower, Value upper,
                                          Value step);

/// Iterations of the first `dims` dimensions of `loop` (all of them by
/// default), or nullopt when one is not static.
std::optional<int64_t>
getStaticIterationCount(scf::ParallelOp loop,
                        std::optional<unsigned> dims = std::nullopt);

} // namespace mlir::smx

#endif // SMX_TARGET_CPU_STATICSIZES_H
