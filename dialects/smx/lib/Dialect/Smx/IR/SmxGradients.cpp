//===- SmxGradients.cpp - reverse-mode rules of the smx ops ---------------===//
//
// DifferentiableOpInterface implementations (docs/training.md). Each rule
// builds the operand gradients from the result gradient with smx ops: the
// forward op itself where the gradient is one (dense with the weight
// transposed, the same dropout), a `*_grad` companion otherwise.
//
//===----------------------------------------------------------------------===//

#include "smx/Dialect/Smx/IR/SmxOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::smx;

LogicalResult EmbeddingLookupOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  operandGradients[getTableMutable().getOperandNumber()] =
      EmbeddingGradOp::create(builder, getLoc(), getTable().getType(),
                              resultGradients[0], getIndices());
  return success();
}

LogicalResult DenseOp::buildGradients(OpBuilder &builder,
                                      ArrayRef<Value> resultGradients,
                                      MutableArrayRef<Value> operandGradients) {
  if (getActivation())
    return emitOpError() << "has a fused activation, whose input the "
                            "gradient needs; build the train step before "
                            "smx-fuse";
  Location loc = getLoc();
  Value resultGrad = resultGradients[0];
  // y = x·W (W [K, N]) or x·Wᵀ (W [N, K]): dx = dy·Wᵀ or dy·W.
  operandGradients[getInputMutable().getOperandNumber()] =
      DenseOp::create(builder, loc, resultGrad, getWeight(), /*bias=*/Value(),
                      /*transpose_weight=*/!getTransposeWeight(),
                      /*activation=*/nullptr);
  operandGradients[getWeightMutable().getOperandNumber()] =
      DenseWeightGradOp::create(builder, loc, getInput(), resultGrad,
                                getTransposeWeight());
  if (getBias())
    operandGradients[getBiasMutable()[0].getOperandNumber()] =
        SumLeadingOp::create(builder, loc, resultGrad);
  return success();
}

LogicalResult LayerNormOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  auto grad = LayerNormGradOp::create(builder, getLoc(), getInput(),
                                      getScale(), resultGradients[0],
                                      getResidual(), getEpsilonAttr());
  operandGradients[getInputMutable().getOperandNumber()] = grad.getInputGrad();
  if (getResidual())
    operandGradients[getResidualMutable()[0].getOperandNumber()] =
        grad.getInputGrad();
  operandGradients[getScaleMutable().getOperandNumber()] = grad.getScaleGrad();
  operandGradients[getBiasMutable().getOperandNumber()] = grad.getBiasGrad();
  return success();
}

LogicalResult ActivationOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  operandGradients[0] = ActivationGradOp::create(
      builder, getLoc(), getInput().getType(), getKindAttr(), getInput(),
      resultGradients[0]);
  return success();
}

LogicalResult DropoutOp::buildGradients(OpBuilder &builder,
                                        ArrayRef<Value> resultGradients,
                                        MutableArrayRef<Value> operandGradients) {
  // The mask is a function of (seed, step, index): the same op on the
  // gradient redraws it, zeroes the dropped elements and scales the rest.
  operandGradients[getInputMutable().getOperandNumber()] =
      DropoutOp::create(builder, getLoc(), resultGradients[0], getStep(),
                        getCounterOffset(), getRateAttr(), getSeedAttr());
  return success();
}

LogicalResult ResidualAddOp::buildGradients(
    OpBuilder &, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  operandGradients[0] = resultGradients[0];
  operandGradients[1] = resultGradients[0];
  return success();
}

LogicalResult SoftmaxOp::buildGradients(OpBuilder &builder,
                                        ArrayRef<Value> resultGradients,
                                        MutableArrayRef<Value> operandGradients) {
  operandGradients[0] =
      SoftmaxGradOp::create(builder, getLoc(), getResult().getType(),
                            getResult(), resultGradients[0],
                            getDimensionAttr());
  return success();
}

LogicalResult GatherPositionsOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  operandGradients[getInputMutable().getOperandNumber()] =
      ScatterPositionsOp::create(builder, getLoc(), getInput().getType(),
                                 resultGradients[0], getPositions());
  return success();
}

LogicalResult CrossEntropyOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  operandGradients[getLogitsMutable().getOperandNumber()] =
      CrossEntropyGradOp::create(builder, getLoc(), getLogits().getType(),
                                 getLogits(), getLabels(), getWeights(),
                                 resultGradients[0], getIgnoreIndexAttr(),
                                 getCountOverAttr(), getGridAxesAttr());
  return success();
}

LogicalResult MeanSquaredErrorOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  // d/dp = 2 (p − t) / N · d(loss), and the negation for the targets.
  Location loc = getLoc();
  auto type = cast<RankedTensorType>(getPredictions().getType());
  Value difference =
      arith::SubFOp::create(builder, loc, getPredictions(), getTargets());
  Value lossGrad = tensor::ExtractOp::create(builder, loc, resultGradients[0]);
  Value factor = arith::ConstantOp::create(
      builder, loc,
      builder.getF32FloatAttr(2.0 / static_cast<double>(type.getNumElements())));
  Value scale = arith::MulFOp::create(builder, loc, lossGrad, factor);
  if (!type.getElementType().isF32())
    scale = arith::TruncFOp::create(builder, loc, type.getElementType(), scale);
  Value splat = tensor::SplatOp::create(builder, loc, type, scale);
  Value predictionsGrad =
      arith::MulFOp::create(builder, loc, difference, splat);
  operandGradients[0] = predictionsGrad;
  operandGradients[1] = arith::NegFOp::create(builder, loc, predictionsGrad);
  return success();
}
