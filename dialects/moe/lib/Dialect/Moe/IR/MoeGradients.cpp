//===- MoeGradients.cpp - reverse-mode rules of the moe ops ---------------===//
//
// DifferentiableOpInterface implementations (docs/training.md). Routing
// decisions are piecewise constant, so gradients reach the router through
// the gate probabilities that become combine weights, and through the
// auxiliary losses; dispatch and combine pass gradients by slot index.
//
//===----------------------------------------------------------------------===//

#include "smx/Dialect/Moe/IR/MoeOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "smx/Dialect/Smx/IR/SmxOps.h"

using namespace mlir;
using namespace mlir::moe;

LogicalResult RouterOp::buildGradients(OpBuilder &builder,
                                       ArrayRef<Value> resultGradients,
                                       MutableArrayRef<Value> operandGradients) {
  Location loc = getLoc();
  // d logits: the logits' own gradient (z-loss) plus the softmax's.
  Value logitsGrad = resultGradients[0];
  if (Value probsGrad = resultGradients[1]) {
    Value throughSoftmax = smx::SoftmaxGradOp::create(
        builder, loc, getProbs().getType(), getProbs(), probsGrad,
        builder.getI64IntegerAttr(1));
    logitsGrad = logitsGrad ? arith::AddFOp::create(builder, loc, logitsGrad,
                                                    throughSoftmax)
                                  .getResult()
                            : throughSoftmax;
  }
  // logits = x · W + b, as a dense layer.
  operandGradients[getInputMutable().getOperandNumber()] = smx::DenseOp::create(
      builder, loc, logitsGrad, getWeight(), /*bias=*/Value(),
      /*transpose_weight=*/true, /*activation=*/nullptr);
  operandGradients[getWeightMutable().getOperandNumber()] =
      smx::DenseWeightGradOp::create(builder, loc, getInput(), logitsGrad,
                                     /*transpose_weight=*/false);
  operandGradients[getBiasMutable().getOperandNumber()] =
      smx::SumLeadingOp::create(builder, loc, logitsGrad);
  return success();
}

LogicalResult JitterOp::buildGradients(OpBuilder &builder,
                                       ArrayRef<Value> resultGradients,
                                       MutableArrayRef<Value> operandGradients) {
  // d(x·n)/dx = n: the same noise, recomputed from the same key.
  if (Value resultGrad = resultGradients[0])
    operandGradients[getInputMutable().getOperandNumber()] = JitterOp::create(
        builder, getLoc(), resultGrad, getStep(), getCounterOffset(),
        getJitterAttr(), getSeedAttr());
  return success();
}

LogicalResult RouteOp::buildGradients(OpBuilder &builder,
                                      ArrayRef<Value> resultGradients,
                                      MutableArrayRef<Value> operandGradients) {
  // Only the combine weights carry a gradient; the slots are indices.
  Value weightsGrad = resultGradients[1];
  if (!weightsGrad)
    return success();
  operandGradients[getProbsMutable().getOperandNumber()] = RouteGradOp::create(
      builder, getLoc(), getProbs().getType(), weightsGrad,
      getDispatchIndices());
  return success();
}

LogicalResult DispatchOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  // Each filled slot copied one token row: add the slot gradients back to
  // their tokens, a combine with unit weights.
  Location loc = getLoc();
  auto slotsType = getIndices().getType();
  auto weightsType =
      RankedTensorType::get(slotsType.getShape(), builder.getF32Type());
  Value ones = arith::ConstantOp::create(
      builder, loc,
      DenseElementsAttr::get(weightsType, builder.getF32FloatAttr(1.0)));
  operandGradients[getInputMutable().getOperandNumber()] = CombineOp::create(
      builder, loc, getInput().getType(), resultGradients[0], getIndices(),
      ones);
  return success();
}

LogicalResult ExpertFFNOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  auto grad = ExpertFFNGradOp::create(
      builder, getLoc(), getInput(), getInWeight(), getInBias(),
      getOutWeight(), getOutBias(), resultGradients[0], getStep(),
      getCounterOffset(), getActivationAttr(), getDropoutRateAttr(),
      getSeedAttr(), getCounterExpertsAttr());
  operandGradients[0] = grad.getInputGrad();
  operandGradients[1] = grad.getInWeightGrad();
  operandGradients[2] = grad.getInBiasGrad();
  operandGradients[3] = grad.getOutWeightGrad();
  operandGradients[4] = grad.getOutBiasGrad();
  return success();
}

LogicalResult CombineOp::buildGradients(OpBuilder &builder,
                                        ArrayRef<Value> resultGradients,
                                        MutableArrayRef<Value> operandGradients) {
  auto grad = CombineGradOp::create(builder, getLoc(), getInput(),
                                    getIndices(), getWeights(),
                                    resultGradients[0]);
  operandGradients[getInputMutable().getOperandNumber()] = grad.getInputGrad();
  operandGradients[getWeightsMutable().getOperandNumber()] =
      grad.getWeightsGrad();
  return success();
}

LogicalResult RouterZLossOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  operandGradients[0] = RouterZLossGradOp::create(builder, getLoc(),
                                                  getLogits(),
                                                  resultGradients[0]);
  return success();
}

LogicalResult LoadBalanceLossOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  operandGradients[0] = LoadBalanceLossGradOp::create(
      builder, getLoc(), getProbs(), resultGradients[0], getTopKAttr(),
      getGroupsAttr());
  return success();
}

LogicalResult AllToAllOp::buildGradients(
    OpBuilder &builder, ArrayRef<Value> resultGradients,
    MutableArrayRef<Value> operandGradients) {
  // A permutation of elements between devices: its transpose, the inverse
  // exchange, carries each element's gradient back where it came from.
  if (Value resultGrad = resultGradients[0])
    operandGradients[getInputMutable().getOperandNumber()] =
        AllToAllOp::create(builder, getLoc(), getInput().getType(),
                           resultGrad, getGridAttr(), getGridAxesAttr(),
                           getConcatAxisAttr(), getSplitAxisAttr());
  return success();
}
