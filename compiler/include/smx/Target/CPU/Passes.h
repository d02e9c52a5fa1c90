//===- Passes.h - smx CPU target passes -------------------------*- C++ -*-===//

#ifndef SMX_TARGET_CPU_PASSES_H
#define SMX_TARGET_CPU_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::smx {

/// The module attribute that carries the manifest between the two passes.
inline constexpr StringLiteral kManifestAttrName = "smx.manifest";
/// On an entry function, set by smx-build-manifest: how many of its
/// arguments the runtime passes in `arguments` (the ones bufferization
/// appends for results come from `results`).
inline constexpr StringLiteral kEntryArgumentsAttrName =
    "smx.entry_arguments";

/// On a function, set by smx-plan-memory: the bytes of its buffer arena,
/// the most bytes its buffers hold at once, and the model path where.
inline constexpr StringLiteral kArenaBytesAttrName = "smx.arena_bytes";
inline constexpr StringLiteral kPeakLiveBytesAttrName = "smx.peak_live_bytes";
inline constexpr StringLiteral kPeakAtAttrName = "smx.peak_at";

/// On the last argument of an entry function, set by smx-plan-memory: the
/// arena of its buffers, which the caller allocates (docs/abi.md).
inline constexpr StringLiteral kWorkspaceAttrName = "smx.workspace";
/// On an out-parameter of an entry function, set by
/// smx-update-state-in-place: the function writes this result into the
/// argument buffer of the same state and never accesses the out-parameter.
inline constexpr StringLiteral kInPlaceAttrName = "smx.in_place";

/// On the module, set by smx-profile-calls: one dictionary per profile site
/// (the manifest's "profile" list).
inline constexpr StringLiteral kProfileSitesAttrName = "smx.profile_sites";

#define GEN_PASS_DECL
#include "smx/Target/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "smx/Target/CPU/Passes.h.inc"

} // namespace mlir::smx

#endif // SMX_TARGET_CPU_PASSES_H
