//===- MixDialect.cpp - mix dialect ---------------------------------------===//

#include "smx/Dialect/Mix/IR/MixDialect.h"

#include "smx/Dialect/Mix/IR/MixOps.h"

using namespace mlir;
using namespace mlir::mix;

#include "smx/Dialect/Mix/IR/MixOpsDialect.cpp.inc"

void MixDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "smx/Dialect/Mix/IR/MixOps.cpp.inc"
      >();
}
