//===- SmxInterfaces.h - interfaces shared by smx dialects ------*- C++ -*-===//

#ifndef SMX_DIALECT_SMX_IR_SMXINTERFACES_H
#define SMX_DIALECT_SMX_IR_SMXINTERFACES_H

#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/PatternMatch.h"

#include "smx/Dialect/Smx/IR/SmxInterfaces.h.inc"

#endif // SMX_DIALECT_SMX_IR_SMXINTERFACES_H
