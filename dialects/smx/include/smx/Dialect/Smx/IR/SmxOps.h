//===- SmxOps.h - smx dialect ops -------------------------------*- C++ -*-===//

#ifndef SMX_DIALECT_SMX_IR_SMXOPS_H
#define SMX_DIALECT_SMX_IR_SMXOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "smx/Dialect/Smx/IR/SmxAttributes.h"
#include "smx/Dialect/Smx/IR/SmxDialect.h"
#include "smx/Dialect/Smx/IR/SmxInterfaces.h"

#define GET_OP_CLASSES
#include "smx/Dialect/Smx/IR/SmxOps.h.inc"

#endif // SMX_DIALECT_SMX_IR_SMXOPS_H
