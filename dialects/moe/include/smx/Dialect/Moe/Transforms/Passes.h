//===- Passes.h - moe dialect passes ----------------------------*- C++ -*-===//

#ifndef SMX_DIALECT_MOE_TRANSFORMS_PASSES_H
#define SMX_DIALECT_MOE_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::moe {

#define GEN_PASS_DECL
#include "smx/Dialect/Moe/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "smx/Dialect/Moe/Transforms/Passes.h.inc"

} // namespace mlir::moe

#endif // SMX_DIALECT_MOE_TRANSFORMS_PASSES_H
