//===- ShapeVerification.h - shape checks shared by smx dialects -*- C++ -*-===//
//
// Helpers that the verifiers of the smx, mix and moe ops share, so that every
// dialect reports a broken shape constraint the same way: the constraint's
// name, the two sizes involved, and `?` for a dynamic size.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_DIALECT_SMX_IR_SHAPEVERIFICATION_H
#define SMX_DIALECT_SMX_IR_SHAPEVERIFICATION_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include <string>

namespace mlir::smx {

/// Two sizes are compatible when they are equal or either is dynamic: a
/// verifier can only reject what it knows is wrong.
bool areSizesCompatible(int64_t lhs, int64_t rhs);

/// Formats a size, `?` when dynamic.
std::string formatSize(int64_t size);

/// Formats a shape as `[8, ?, 768]`.
std::string formatShape(ArrayRef<int64_t> shape);

/// Emits `<constraint>: <lhsName> (<lhs>) does not match <rhsName> (<rhs>)`
/// on `op` unless the sizes are compatible.
LogicalResult verifySizesMatch(Operation *op, StringRef constraint,
                               StringRef lhsName, int64_t lhs,
                               StringRef rhsName, int64_t rhs);

/// Emits `<constraint>: expected <name> of rank <rank>, got <type>` unless
/// `type` has exactly that rank.
LogicalResult verifyRank(Operation *op, StringRef constraint, StringRef name,
                         ShapedType type, int64_t rank);

/// Emits `<constraint>: expected <name> of shape <shape>, got <type>` unless
/// `type` has a shape compatible with `expected` (same rank, sizes
/// compatible).
LogicalResult verifyShape(Operation *op, StringRef constraint, StringRef name,
                          ShapedType type, ArrayRef<int64_t> expected);

/// Emits `<constraint>: <name> has element type <a>, expected <b>` unless the
/// element types agree.
LogicalResult verifyElementType(Operation *op, StringRef constraint,
                                StringRef name, ShapedType type,
                                Type expected);

/// Infers the result type of a loss op: a 0-d f32 tensor.
inline LogicalResult
inferScalarLossType(MLIRContext *context,
                    SmallVectorImpl<Type> &inferredReturnTypes) {
  inferredReturnTypes.push_back(
      RankedTensorType::get({}, Float32Type::get(context)));
  return success();
}

/// The result type that shape inference returns for operands the verifier
/// rejects (a wrong rank). An op's verifier runs before its inferred types
/// are compared with its result types, so the verifier's message is the one
/// a user sees; the placeholder only keeps builders from failing hard.
inline Type getMalformedOperandsPlaceholder(Type elementType) {
  return UnrankedTensorType::get(elementType);
}

/// As above, for a result that its op constrains to a ranked tensor: `rank`
/// dynamic sizes. An unranked placeholder would break that constraint, and
/// the constraint's message would hide the verifier's when the result type
/// is inferred while parsing.
inline Type getMalformedOperandsPlaceholder(Type elementType, int64_t rank) {
  return RankedTensorType::get(SmallVector<int64_t>(rank, ShapedType::kDynamic),
                               elementType);
}

} // namespace mlir::smx

#endif // SMX_DIALECT_SMX_IR_SHAPEVERIFICATION_H
