//===- MoeDialect.cpp - moe dialect ---------------------------------------===//

#include "smx/Dialect/Moe/IR/MoeDialect.h"

#include "smx/Dialect/Moe/IR/MoeAttributes.h"
#include "smx/Dialect/Moe/IR/MoeOps.h"

using namespace mlir;
using namespace mlir::moe;

#include "smx/Dialect/Moe/IR/MoeOpsDialect.cpp.inc"

void MoeDialect::initialize() {
  registerAttributes();
  addOperations<
#define GET_OP_LIST
#include "smx/Dialect/Moe/IR/MoeOps.cpp.inc"
      >();
}
