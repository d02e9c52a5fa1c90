//===- SmxAttributes.h - smx enums and attributes ---------------*- C++ -*-===//

#ifndef SMX_DIALECT_SMX_IR_SMXATTRIBUTES_H
#define SMX_DIALECT_SMX_IR_SMXATTRIBUTES_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"

#include "smx/Dialect/Smx/IR/SmxEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "smx/Dialect/Smx/IR/SmxAttributes.h.inc"

#endif // SMX_DIALECT_SMX_IR_SMXATTRIBUTES_H
