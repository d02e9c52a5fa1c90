//===- MoeAttributes.h - moe routing policy attributes ----------*- C++ -*-===//

#ifndef SMX_DIALECT_MOE_IR_MOEATTRIBUTES_H
#define SMX_DIALECT_MOE_IR_MOEATTRIBUTES_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include <optional>

#include "smx/Dialect/Moe/IR/MoeAttrInterfaces.h.inc"

#define GET_ATTRDEF_CLASSES
#include "smx/Dialect/Moe/IR/MoeAttributes.h.inc"

#endif // SMX_DIALECT_MOE_IR_MOEATTRIBUTES_H
