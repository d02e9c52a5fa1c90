//===- MixDialect.h - mix dialect -------------------------------*- C++ -*-===//

#ifndef SMX_DIALECT_MIX_IR_MIXDIALECT_H
#define SMX_DIALECT_MIX_IR_MIXDIALECT_H

#include "mlir/IR/Dialect.h"

#include "smx/Dialect/Mix/IR/MixOpsDialect.h.inc"

#endif // SMX_DIALECT_MIX_IR_MIXDIALECT_H
