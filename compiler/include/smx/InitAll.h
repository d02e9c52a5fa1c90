//===- InitAll.h - register smx dialects and passes -------------*- C++ -*-===//
//
// One place that knows every dialect and pass of smx and every upstream
// dialect its pipeline uses, so that smx-opt, smxc and tests register the
// same set.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_INITALL_H
#define SMX_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace mlir::smx {

/// Registers the smx, mix and moe dialects, the upstream dialects the smx
/// pipeline lowers through (func, arith, math, tensor, linalg,
/// bufferization, scf, memref, gpu, nvvm, llvm, shard) and the external
/// models those need (bufferization, NVVM target, LLVM IR translation).
void registerAllSmxDialects(DialectRegistry &registry);

/// Registers the passes of the smx dialects and the upstream passes and
/// pipelines smx uses.
void registerAllSmxPasses();

} // namespace mlir::smx

#endif // SMX_INITALL_H
