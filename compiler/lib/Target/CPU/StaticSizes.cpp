//===- StaticSizes.cpp - sizes known at compile time ----------------------===//

#include "smx/Target/CPU/StaticSizes.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;

std::optional<int64_t> mlir::smx::getStaticByteSize(MemRefType type) {
  if (!type.hasStaticShape() || !type.getElementType().isIntOrFloat())
    return std::nullopt;
  return type.getNumElements() * static_cast<int64_t>(llvm::divideCeil(
                                     type.getElementTypeBitWidth(), 8));
}

std::optional<int64_t> mlir::smx::getStaticTripCount(Value lower, Value upper,
                                                     Value step) {
  std::optional<int64_t> lb = getConstantIntValue(lower);
  std::optional<int64_t> ub = getConstantIntValue(upper);
  std::optional<int64_t> st = getConstantIntValue(step);
  if (!lb || !ub || !st || *st <= 0)
    return std::nullopt;
  return *ub > *lb ? (*ub - *lb + *st - 1) / *st : 0;
}

std::optional<int64_t>
mlir::smx::getStaticIterationCount(scf::ParallelOp loop,
                                   std::optional<unsigned> dims) {
  unsigned count = dims.value_or(loop.getNumLoops());
  int64_t iterations = 1;
  for (unsigned dim = 0; dim < count; ++dim) {
    std::optional<int64_t> trips =
        getStaticTripCount(loop.getLowerBound()[dim], loop.getUpperBound()[dim],
                           loop.getStep()[dim]);
    if (!trips)
      return std::nullopt;
    iterations *= *trips;
  }
  return iterations;
}
