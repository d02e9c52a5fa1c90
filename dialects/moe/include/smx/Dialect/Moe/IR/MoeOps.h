//===- MoeOps.h - moe dialect ops -------------------------------*- C++ -*-===//

#ifndef SMX_DIALECT_MOE_IR_MOEOPS_H
#define SMX_DIALECT_MOE_IR_MOEOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "smx/Dialect/Moe/IR/MoeAttributes.h"
#include "smx/Dialect/Moe/IR/MoeDialect.h"
#include "smx/Dialect/Smx/IR/SmxAttributes.h"
#include "smx/Dialect/Smx/IR/SmxInterfaces.h"

#define GET_OP_CLASSES
#include "smx/Dialect/Moe/IR/MoeOps.h.inc"

#endif // SMX_DIALECT_MOE_IR_MOEOPS_H
