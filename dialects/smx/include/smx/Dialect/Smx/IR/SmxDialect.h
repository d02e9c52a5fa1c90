//===- SmxDialect.h - smx dialect -------------------------------*- C++ -*-===//

#ifndef SMX_DIALECT_SMX_IR_SMXDIALECT_H
#define SMX_DIALECT_SMX_IR_SMXDIALECT_H

#include "mlir/IR/Dialect.h"

#include "smx/Dialect/Smx/IR/SmxOpsDialect.h.inc"

#endif // SMX_DIALECT_SMX_IR_SMXDIALECT_H
