//===- ShapeVerification.cpp - shape checks shared by smx dialects --------===//

#include "smx/Dialect/Smx/IR/ShapeVerification.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::smx {

bool areSizesCompatible(int64_t lhs, int64_t rhs) {
  return ShapedType::isDynamic(lhs) || ShapedType::isDynamic(rhs) ||
         lhs == rhs;
}

std::string formatSize(int64_t size) {
  return ShapedType::isDynamic(size) ? "?" : std::to_string(size);
}

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "[";
  llvm::interleaveComma(shape, os,
                        [&](int64_t size) { os << formatSize(size); });
  os << "]";
  return text;
}

LogicalResult verifySizesMatch(Operation *op, StringRef constraint,
                               StringRef lhsName, int64_t lhs,
                               StringRef rhsName, int64_t rhs) {
  if (areSizesCompatible(lhs, rhs))
    return success();
  return op->emitOpError() << constraint << ": " << lhsName << " ("
                           << formatSize(lhs) << ") does not match " << rhsName
                           << " (" << formatSize(rhs) << ")";
}

LogicalResult verifyRank(Operation *op, StringRef constraint, StringRef name,
                         ShapedType type, int64_t rank) {
  if (type.getRank() == rank)
    return success();
  return op->emitOpError() << constraint << ": expected " << name
                           << " of rank " << rank << ", got " << type;
}

LogicalResult verifyShape(Operation *op, StringRef constraint, StringRef name,
                          ShapedType type, ArrayRef<int64_t> expected) {
  if (type.getRank() == static_cast<int64_t>(expected.size()) &&
      llvm::all_of(llvm::zip_equal(type.getShape(), expected), [](auto pair) {
        return areSizesCompatible(std::get<0>(pair), std::get<1>(pair));
      }))
    return success();
  return op->emitOpError() << constraint << ": expected " << name
                           << " of shape " << formatShape(expected) << ", got "
                           << type;
}

LogicalResult verifyElementType(Operation *op, StringRef constraint,
                                StringRef name, ShapedType type,
                                Type expected) {
  if (type.getElementType() == expected)
    return success();
  return op->emitOpError() << constraint << ": " << name
                           << " has element type " << type.getElementType()
                           << ", expected " << expected;
}

} // namespace mlir::smx
