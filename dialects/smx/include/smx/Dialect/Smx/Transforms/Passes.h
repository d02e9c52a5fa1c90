//===- Passes.h - smx dialect passes ----------------------------*- C++ -*-===//

#ifndef SMX_DIALECT_SMX_TRANSFORMS_PASSES_H
#define SMX_DIALECT_SMX_TRANSFORMS_PASSES_H

#include "mlir/Pass/Pass.h"

namespace mlir::smx {

#define GEN_PASS_DECL
#include "smx/Dialect/Smx/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "smx/Dialect/Smx/Transforms/Passes.h.inc"

} // namespace mlir::smx

#endif // SMX_DIALECT_SMX_TRANSFORMS_PASSES_H
