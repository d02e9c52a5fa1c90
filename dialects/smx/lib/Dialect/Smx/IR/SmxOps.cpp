//===- SmxOps.cpp - smx dialect ops ---------------------------------------===//
//
// Shape inference is exact where it applies (the result type follows from
// the operands); the verifiers check every constraint that the op's
// documentation lists, each message naming its constraint.
//
//===----------------------------------------------------------------------===//

#include "smx/Dialect/Smx/IR/SmxOps.h"
#include "smx/Dialect/Smx/IR/NoiseClause.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "smx/Dialect/Smx/IR/ShapeVerification.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::smx;

//===----------------------------------------------------------------------===//
// EmbeddingLookupOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingLookupOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto tableType = cast<RankedTensorType>(adaptor.getTable().getType());
  auto indicesType = cast<RankedTensorType>(adaptor.getIndices().getType());
  if (tableType.getRank() != 2) {
    inferredReturnTypes.push_back(
        getMalformedOperandsPlaceholder(tableType.getElementType()));
    return success();
  }
  SmallVector<int64_t> shape(indicesType.getShape());
  shape.push_back(tableType.getDimSize(1));
  inferredReturnTypes.push_back(
      RankedTensorType::get(shape, tableType.getElementType()));
  return success();
}

LogicalResult EmbeddingLookupOp::verify() {
  if (failed(verifyRank(*this, "(C1)", "a table", getTable().getType(), 2)))
    return failure();
  if (getKind() != EmbeddingKind::position)
    return success();
  int64_t rows = getTable().getType().getDimSize(0);
  int64_t length = getIndices().getType().getShape().empty()
                       ? 1
                       : getIndices().getType().getShape().back();
  if (ShapedType::isDynamic(rows) || ShapedType::isDynamic(length) ||
      rows >= length)
    return success();
  return emitOpError() << "(C3): position table has " << rows
                       << " rows, fewer than the sequence length " << length;
}

//===----------------------------------------------------------------------===//
// DenseOp
//===----------------------------------------------------------------------===//

LogicalResult
DenseOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                          Adaptor adaptor,
                          SmallVectorImpl<Type> &inferredReturnTypes) {
  auto inputType = cast<RankedTensorType>(adaptor.getInput().getType());
  auto weightType = cast<RankedTensorType>(adaptor.getWeight().getType());
  if (inputType.getRank() < 1 || weightType.getRank() != 2) {
    inferredReturnTypes.push_back(
        getMalformedOperandsPlaceholder(inputType.getElementType()));
    return success();
  }
  SmallVector<int64_t> shape(inputType.getShape().drop_back());
  shape.push_back(weightType.getDimSize(adaptor.getTransposeWeight() ? 0 : 1));
  inferredReturnTypes.push_back(
      RankedTensorType::get(shape, inputType.getElementType()));
  return success();
}

LogicalResult DenseOp::verify() {
  RankedTensorType inputType = getInput().getType();
  RankedTensorType weightType = getWeight().getType();
  if (inputType.getRank() < 1 || weightType.getRank() != 2)
    return emitOpError() << "(C1): expected an input of rank >= 1 and a "
                            "weight of rank 2, got "
                         << inputType << " and " << weightType;
  bool transposed = getTransposeWeight();
  if (failed(verifySizesMatch(
          *this, "(C2)", "input contraction size", inputType.getShape().back(),
          transposed ? "weight columns (transposed)" : "weight rows",
          weightType.getDimSize(transposed ? 1 : 0))))
    return failure();
  int64_t outputSize = weightType.getDimSize(transposed ? 0 : 1);
  if (getBias() &&
      failed(verifyShape(*this, "(C3)", "bias", getBias().getType(),
                         {outputSize})))
    return failure();
  Type elementType = inputType.getElementType();
  if (failed(verifyElementType(*this, "(C4)", "weight", weightType,
                               elementType)))
    return failure();
  if (getBias())
    return verifyElementType(*this, "(C4)", "bias", getBias().getType(),
                             elementType);
  return success();
}

//===----------------------------------------------------------------------===//
// LayerNormOp
//===----------------------------------------------------------------------===//

LogicalResult LayerNormOp::verify() {
  RankedTensorType inputType = getInput().getType();
  if (inputType.getRank() < 1)
    return emitOpError() << "(C1): expected an input of rank >= 1, got "
                         << inputType;
  int64_t width = inputType.getShape().back();
  for (auto [name, value] : {std::pair<StringRef, TypedValue<RankedTensorType>>{
                                 "scale", getScale()},
                             {"bias", getBias()}}) {
    if (failed(verifyShape(*this, "(C2)", name, value.getType(), {width})) ||
        failed(verifyElementType(*this, "(C2)", name, value.getType(),
                                 inputType.getElementType())))
      return failure();
  }
  if (getResidual() && getResidual().getType() != inputType)
    return emitOpError() << "(C4): residual has type "
                         << getResidual().getType() << ", expected "
                         << inputType;
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError() << "(C3): epsilon must be positive, got "
                         << getEpsilon().convertToDouble();
  return success();
}

//===----------------------------------------------------------------------===//
// DropoutOp
//===----------------------------------------------------------------------===//

LogicalResult DropoutOp::verify() {
  double rate = getRate().convertToDouble();
  if (rate >= 0.0 && rate < 1.0)
    return success();
  return emitOpError() << "(C1): rate must be in [0, 1), got " << getRate().convertToDouble();
}

OpFoldResult DropoutOp::fold(FoldAdaptor) {
  // Dropping nothing is the identity, whatever the seed and step.
  if (getRate().isZero())
    return getInput();
  return {};
}

// A dropout op is training noise by nature: evaluation removes it, whatever
// its rate.
bool DropoutOp::hasTrainingNoise() { return true; }

void DropoutOp::removeTrainingNoise(RewriterBase &rewriter) {
  rewriter.replaceOp(*this, getInput());
}

int64_t DropoutOp::getNoiseCounterCount() {
  return getInput().getType().getNumElements();
}

Value DropoutOp::getNoiseCounterOffset() { return getCounterOffset(); }

void DropoutOp::setNoiseCounterOffset(Value offset) {
  setNoiseCounterOffsetOperand(getCounterOffsetMutable(), offset);
}

//===----------------------------------------------------------------------===//
// SoftmaxOp
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::verify() {
  int64_t rank = getInput().getType().getRank();
  int64_t dimension = getDimension();
  if (dimension >= 0 && dimension < rank)
    return success();
  return emitOpError() << "(C1): dimension " << dimension
                       << " is out of range for an input of rank " << rank;
}

//===----------------------------------------------------------------------===//
// GatherPositionsOp
//===----------------------------------------------------------------------===//

LogicalResult GatherPositionsOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto inputType = cast<RankedTensorType>(adaptor.getInput().getType());
  auto positionsType = cast<RankedTensorType>(adaptor.getPositions().getType());
  if (inputType.getRank() != 3 || positionsType.getRank() != 2) {
    inferredReturnTypes.push_back(
        getMalformedOperandsPlaceholder(inputType.getElementType()));
    return success();
  }
  int64_t batch = ShapedType::isDynamic(inputType.getDimSize(0))
                      ? positionsType.getDimSize(0)
                      : inputType.getDimSize(0);
  inferredReturnTypes.push_back(RankedTensorType::get(
      {batch, positionsType.getDimSize(1), inputType.getDimSize(2)},
      inputType.getElementType()));
  return success();
}

LogicalResult GatherPositionsOp::verify() {
  RankedTensorType inputType = getInput().getType();
  RankedTensorType positionsType = getPositions().getType();
  if (inputType.getRank() != 3 || positionsType.getRank() != 2)
    return emitOpError() << "(C1): expected an input of rank 3 [B, L, D] and "
                            "positions of rank 2 [B, P], got "
                         << inputType << " and " << positionsType;
  return verifySizesMatch(*this, "(C2)", "input batch size",
                          getInput().getType().getDimSize(0),
                          "positions batch size",
                          getPositions().getType().getDimSize(0));
}

//===----------------------------------------------------------------------===//
// CrossEntropyOp
//===----------------------------------------------------------------------===//

LogicalResult
CrossEntropyOp::inferReturnTypes(MLIRContext *context, std::optional<Location>,
                                 Adaptor,
                                 SmallVectorImpl<Type> &inferredReturnTypes) {
  return inferScalarLossType(context, inferredReturnTypes);
}

/// The constraints of smx.cross_entropy (C1-C3), shared by its gradient op.
static LogicalResult verifyCrossEntropyOperands(Operation *op,
                                                RankedTensorType logitsType,
                                                RankedTensorType labelsType,
                                                Value weights,
                                                Attribute countOver,
                                                Attribute gridAxes) {
  if (static_cast<bool>(countOver) != static_cast<bool>(gridAxes))
    return op->emitOpError()
           << "(C3): count_over and grid_axes go together";
  if (logitsType.getRank() < 1)
    return op->emitOpError() << "(C1): expected logits of rank >= 1, got "
                             << logitsType;
  ArrayRef<int64_t> labelShape = logitsType.getShape().drop_back();
  if (failed(verifyShape(op, "(C1)", "labels", labelsType, labelShape)))
    return failure();
  if (weights)
    return verifyShape(op, "(C2)", "weights",
                       cast<ShapedType>(weights.getType()), labelShape);
  return success();
}

LogicalResult CrossEntropyOp::verify() {
  return verifyCrossEntropyOperands(*this, getLogits().getType(),
                                    getLabels().getType(), getWeights(),
                                    getCountOverAttr(), getGridAxesAttr());
}

//===----------------------------------------------------------------------===//
// AdamWUpdateOp
//===----------------------------------------------------------------------===//

LogicalResult AdamWUpdateOp::verify() {
  for (auto [name, value] : {std::pair<StringRef, APFloat>{"beta1", getBeta1()},
                             {"beta2", getBeta2()}}) {
    double beta = value.convertToDouble();
    if (!(beta >= 0.0 && beta < 1.0))
      return emitOpError() << "(C1): " << name << " must be in [0, 1), got "
                           << beta;
  }
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError() << "(C2): epsilon must be positive, got "
                         << getEpsilon().convertToDouble();
  if (!(getWeightDecay().convertToDouble() >= 0.0))
    return emitOpError() << "(C2): weight_decay must be non-negative, got "
                         << getWeightDecay().convertToDouble();
  return success();
}

LogicalResult MeanSquaredErrorOp::inferReturnTypes(
    MLIRContext *context, std::optional<Location>, Adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  return inferScalarLossType(context, inferredReturnTypes);
}

//===----------------------------------------------------------------------===//
// Gradient ops
//===----------------------------------------------------------------------===//

LogicalResult LayerNormGradOp::verify() {
  RankedTensorType inputType = getInput().getType();
  if (inputType.getRank() < 1)
    return emitOpError() << "(C1): expected an input of rank >= 1, got "
                         << inputType;
  if (failed(verifyShape(*this, "(C1)", "scale", getScale().getType(),
                         {inputType.getShape().back()})))
    return failure();
  if (getResidual() && getResidual().getType() != inputType)
    return emitOpError() << "(C2): residual has type "
                         << getResidual().getType() << ", expected "
                         << inputType;
  if (!(getEpsilon().convertToDouble() > 0.0))
    return emitOpError() << "(C3): epsilon must be positive, got "
                         << getEpsilon().convertToDouble();
  return success();
}

LogicalResult DenseWeightGradOp::inferReturnTypes(
    MLIRContext *, std::optional<Location>, Adaptor adaptor,
    SmallVectorImpl<Type> &inferredReturnTypes) {
  auto inputType = cast<RankedTensorType>(adaptor.getInput().getType());
  auto gradType = cast<RankedTensorType>(adaptor.getResultGrad().getType());
  if (inputType.getRank() < 1 || gradType.getRank() < 1) {
    inferredReturnTypes.push_back(
        getMalformedOperandsPlaceholder(inputType.getElementType(), 2));
    return success();
  }
  int64_t k = inputType.getShape().back(), n = gradType.getShape().back();
  SmallVector<int64_t> shape = adaptor.getTransposeWeight()
                                   ? SmallVector<int64_t>{n, k}
                                   : SmallVector<int64_t>{k, n};
  inferredReturnTypes.push_back(
      RankedTensorType::get(shape, inputType.getElementType()));
  return success();
}

LogicalResult DenseWeightGradOp::verify() {
  RankedTensorType inputType = getInput().getType();
  RankedTensorType gradType = getResultGrad().getType();
  if (inputType.getRank() < 1 || inputType.getRank() != gradType.getRank())
    return emitOpError() << "(C1): expected input and result_grad of the "
                            "same rank >= 1, got "
                         << inputType << " and " << gradType;
  if (failed(verifyShape(*this, "(C1)", "result_grad leading dimensions",
                         RankedTensorType::get(
                             gradType.getShape().drop_back(),
                             gradType.getElementType()),
                         inputType.getShape().drop_back())))
    return failure();
  return verifyElementType(*this, "(C1)", "result_grad", gradType,
                           inputType.getElementType());
}

LogicalResult
SumLeadingOp::inferReturnTypes(MLIRContext *, std::optional<Location>,
                               Adaptor adaptor,
                               SmallVectorImpl<Type> &inferredReturnTypes) {
  auto inputType = cast<RankedTensorType>(adaptor.getInput().getType());
  if (inputType.getRank() < 1) {
    inferredReturnTypes.push_back(
        getMalformedOperandsPlaceholder(inputType.getElementType(), 1));
    return success();
  }
  inferredReturnTypes.push_back(RankedTensorType::get(
      {inputType.getShape().back()}, inputType.getElementType()));
  return success();
}

LogicalResult SumLeadingOp::verify() {
  if (getInput().getType().getRank() >= 1)
    return success();
  return emitOpError() << "(C1): expected an input of rank >= 1, got "
                       << getInput().getType();
}

LogicalResult EmbeddingGradOp::verify() {
  RankedTensorType tableType = getTableGrad().getType();
  if (failed(verifyRank(*this, "(C1)", "a table gradient", tableType, 2)))
    return failure();
  SmallVector<int64_t> expected(getIndices().getType().getShape());
  expected.push_back(tableType.getDimSize(1));
  if (failed(verifyShape(*this, "(C1)", "result_grad",
                         getResultGrad().getType(), expected)))
    return failure();
  return verifyElementType(*this, "(C1)", "result_grad",
                           getResultGrad().getType(),
                           tableType.getElementType());
}

LogicalResult ScatterPositionsOp::verify() {
  RankedTensorType inputType = getInput().getType();
  RankedTensorType resultType = getResult().getType();
  if (inputType.getRank() != 3 || resultType.getRank() != 3)
    return emitOpError() << "(C1): expected an input [B, P, D] and a result "
                            "[B, L, D], got "
                         << inputType << " and " << resultType;
  if (failed(verifyShape(*this, "(C1)", "positions", getPositions().getType(),
                         inputType.getShape().take_front(2))) ||
      failed(verifySizesMatch(*this, "(C1)", "input batch size",
                              inputType.getDimSize(0), "result batch size",
                              resultType.getDimSize(0))) ||
      failed(verifySizesMatch(*this, "(C1)", "input width",
                              inputType.getDimSize(2), "result width",
                              resultType.getDimSize(2))))
    return failure();
  return verifyElementType(*this, "(C1)", "result", resultType,
                           inputType.getElementType());
}

LogicalResult SoftmaxGradOp::verify() {
  int64_t rank = getResult().getType().getRank();
  int64_t dimension = getDimension();
  if (dimension >= 0 && dimension < rank)
    return success();
  return emitOpError() << "(C1): dimension " << dimension
                       << " is out of range for a result of rank " << rank;
}

LogicalResult CrossEntropyGradOp::verify() {
  return verifyCrossEntropyOperands(*this, getLogits().getType(),
                                    getLabels().getType(), getWeights(),
                                    getCountOverAttr(), getGridAxesAttr());
}

//===----------------------------------------------------------------------===//
// AllReduceStartOp, AllReduceWaitOp
//===----------------------------------------------------------------------===//

LogicalResult AllReduceStartOp::verify() {
  ArrayRef<int16_t> axes = getGridAxes();
  if (axes.empty())
    return emitOpError() << "(C1): grid_axes names no axis";
  for (auto [index, axis] : llvm::enumerate(axes))
    if (axis < 0 || llvm::is_contained(axes.take_front(index), axis))
      return emitOpError() << "(C1): grid axis " << axis
                           << " is negative or repeats";
  if (!getHandle().hasOneUse() ||
      !isa<AllReduceWaitOp>(*getHandle().getUsers().begin()))
    return emitOpError() << "(C2): the handle must have one user, an "
                            "smx.all_reduce_wait";
  return success();
}

LogicalResult AllReduceWaitOp::verify() {
  auto start = getHandle().getDefiningOp<AllReduceStartOp>();
  if (!start)
    return emitOpError() << "(C1): the handle is not an smx.all_reduce_start";
  if (start.getInput().getType() != getType())
    return emitOpError() << "(C1): waits for a sum of "
                         << start.getInput().getType() << " as " << getType();
  return success();
}

#define GET_OP_CLASSES
#include "smx/Dialect/Smx/IR/SmxOps.cpp.inc"
