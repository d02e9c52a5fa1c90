//===- SmxDialect.cpp - smx dialect ---------------------------------------===//

#include "smx/Dialect/Smx/IR/SmxDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "smx/Dialect/Smx/IR/SmxAttributes.h"
#include "smx/Dialect/Smx/IR/SmxOps.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::smx;

#include "smx/Dialect/Smx/IR/SmxEnums.cpp.inc"
#include "smx/Dialect/Smx/IR/SmxOpsDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "smx/Dialect/Smx/IR/SmxAttributes.cpp.inc"

void SmxDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "smx/Dialect/Smx/IR/SmxAttributes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "smx/Dialect/Smx/IR/SmxOps.cpp.inc"
      >();
}
