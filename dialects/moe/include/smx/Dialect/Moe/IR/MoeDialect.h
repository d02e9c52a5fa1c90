//===- MoeDialect.h - moe dialect -------------------------------*- C++ -*-===//

#ifndef SMX_DIALECT_MOE_IR_MOEDIALECT_H
#define SMX_DIALECT_MOE_IR_MOEDIALECT_H

#include "mlir/IR/Dialect.h"
#include "smx/Dialect/Smx/IR/SmxDialect.h"

#include "smx/Dialect/Moe/IR/MoeOpsDialect.h.inc"

#endif // SMX_DIALECT_MOE_IR_MOEDIALECT_H
