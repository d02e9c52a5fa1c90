//===- MixOps.h - mix dialect ops -------------------------------*- C++ -*-===//

#ifndef SMX_DIALECT_MIX_IR_MIXOPS_H
#define SMX_DIALECT_MIX_IR_MIXOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "smx/Dialect/Mix/IR/MixDialect.h"
#include "smx/Dialect/Smx/IR/SmxInterfaces.h"

#define GET_OP_CLASSES
#include "smx/Dialect/Mix/IR/MixOps.h.inc"

#endif // SMX_DIALECT_MIX_IR_MIXOPS_H
