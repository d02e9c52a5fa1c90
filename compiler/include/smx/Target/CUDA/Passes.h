//===- Passes.h - smx CUDA target passes ------------------------*- C++ -*-===//

#ifndef SMX_TARGET_CUDA_PASSES_H
#define SMX_TARGET_CUDA_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::smx {

/// The `gpu.module` that holds a model's kernels.
inline constexpr StringLiteral kKernelModuleName = "smx_kernels";

#define GEN_PASS_DECL
#include "smx/Target/CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "smx/Target/CUDA/Passes.h.inc"

} // namespace mlir::smx

#endif // SMX_TARGET_CUDA_PASSES_H
