//===- Passes.h - mix dialect passes ----------------------------*- C++ -*-===//

#ifndef SMX_DIALECT_MIX_TRANSFORMS_PASSES_H
#define SMX_DIALECT_MIX_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::mix {

#define GEN_PASS_DECL
#include "smx/Dialect/Mix/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "smx/Dialect/Mix/Transforms/Passes.h.inc"

} // namespace mlir::mix

#endif // SMX_DIALECT_MIX_TRANSFORMS_PASSES_H
