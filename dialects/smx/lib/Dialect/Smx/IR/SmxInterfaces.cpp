//===- SmxInterfaces.cpp - interfaces shared by smx dialects --------------===//

#include "smx/Dialect/Smx/IR/SmxInterfaces.h"

#include "smx/Dialect/Smx/IR/SmxInterfaces.cpp.inc"
