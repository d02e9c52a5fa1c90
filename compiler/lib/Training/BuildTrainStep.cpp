//===- BuildTrainStep.cpp - loss, reverse-mode gradients, AdamW -----------===//
//
// Builds `@train_step` from the forward function (docs/training.md):
//
//   1. clone the forward ops into the new function;
//   2. sum the results marked `smx.loss` into the total loss;
//   3. walk the cloned ops backwards, asking each, through
//      DifferentiableOpInterface, for the gradients of its operands and
//      summing the gradients of values used more than once;
//   4. take the global gradient norm, clip if asked, and update every
//      parameter and its Adam moments.
//
//===----------------------------------------------------------------------===//

#include "smx/Training/Passes.h"

#include "smx/Training/Gradients.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "smx/Dialect/Smx/IR/SmxOps.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXBUILDTRAINSTEPPASS
#include "smx/Training/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

namespace {

/// A 0-d f32 tensor holding `value`.
Value createScalarTensor(OpBuilder &builder, Location loc, double value) {
  auto type = RankedTensorType::get({}, builder.getF32Type());
  return arith::ConstantOp::create(
      builder, loc, DenseElementsAttr::get(type, builder.getF32FloatAttr(value)));
}

/// `min(1, limit / (norm + 1e-6))` as an f32 scalar.
Value createClipScale(OpBuilder &builder, Location loc, Value norm,
                      double limit) {
  Value normScalar = tensor::ExtractOp::create(builder, loc, norm);
  Value tiny =
      arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(1e-6));
  Value denominator = arith::AddFOp::create(builder, loc, normScalar, tiny);
  Value limitValue =
      arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(limit));
  Value ratio = arith::DivFOp::create(builder, loc, limitValue, denominator);
  Value one =
      arith::ConstantOp::create(builder, loc, builder.getF32FloatAttr(1.0));
  return arith::MinimumFOp::create(builder, loc, ratio, one);
}

struct SmxBuildTrainStepPass
    : smx::impl::SmxBuildTrainStepPassBase<SmxBuildTrainStepPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(buildTrainStep()))
      signalPassFailure();
  }

  LogicalResult buildTrainStep();
};

} // namespace

LogicalResult SmxBuildTrainStepPass::buildTrainStep() {
  ModuleOp module = getOperation();
  MLIRContext *context = &getContext();
  auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunctionName);
  if (!forward)
    return module.emitError() << "smx-build-train-step: no @"
                              << kForwardFunctionName << " function";
  if (module.lookupSymbol(kTrainStepFunctionName))
    return module.emitError() << "smx-build-train-step: the module already "
                                 "has a @"
                              << kTrainStepFunctionName;
  if (!forward.getBody().hasOneBlock())
    return forward.emitOpError() << "must have a single block";
  std::optional<LRSchedule> scheduleKind = symbolizeLRSchedule(schedule);
  if (!scheduleKind)
    return module.emitError() << "smx-build-train-step: unknown schedule '"
                              << schedule << "'";

  // Classify the forward function's arguments and results.
  FunctionType forwardType = forward.getFunctionType();
  SmallVector<unsigned> inputIndices, parameterIndices;
  std::optional<unsigned> stepIndex;
  for (unsigned i = 0, e = forwardType.getNumInputs(); i < e; ++i) {
    if (forward.getArgAttr(i, kParameterAttrName)) {
      parameterIndices.push_back(i);
      continue;
    }
    inputIndices.push_back(i);
    auto name = forward.getArgAttrOfType<StringAttr>(i, kInputAttrName);
    if (name && name.getValue() == "step" &&
        forwardType.getInput(i).isInteger(64))
      stepIndex = i;
  }
  if (!stepIndex)
    return forward.emitOpError() << "has no i64 argument with "
                                 << kInputAttrName
                                 << " = \"step\", which dropout and the "
                                    "optimizer count with";
  if (parameterIndices.empty())
    return forward.emitOpError() << "has no " << kParameterAttrName
                                 << " arguments to train";
  SmallVector<std::pair<unsigned, double>> losses;
  SmallVector<unsigned> reportedResults;
  auto scalarF32 = RankedTensorType::get({}, Float32Type::get(context));
  for (unsigned i = 0, e = forwardType.getNumResults(); i < e; ++i) {
    if (auto weight = forward.getResultAttrOfType<FloatAttr>(i, kLossAttrName)) {
      if (forwardType.getResult(i) != scalarF32)
        return forward.emitOpError()
               << "result " << i << " is marked " << kLossAttrName
               << " but has type " << forwardType.getResult(i)
               << ", expected " << scalarF32;
      losses.push_back({i, weight.getValueAsDouble()});
      reportedResults.push_back(i);
    } else if (forward.getResultAttr(i, kMetricAttrName)) {
      reportedResults.push_back(i);
    }
  }
  if (losses.empty())
    return forward.emitOpError() << "has no result marked " << kLossAttrName;

  // The signature (see the pass description).
  Builder b(context);
  Type i64 = b.getI64Type(), f32 = b.getF32Type();
  SmallVector<Type> argumentTypes, resultTypes;
  SmallVector<DictionaryAttr> argumentAttrs, resultAttrs;
  auto named = [&](StringRef attrName, Attribute value) {
    return b.getDictionaryAttr(b.getNamedAttr(attrName, value));
  };
  for (unsigned i : inputIndices) {
    argumentTypes.push_back(forwardType.getInput(i));
    argumentAttrs.push_back(forward.getArgAttrDict(i));
  }
  for (auto [name, type] : {std::pair<StringRef, Type>{"peak_learning_rate", f32},
                            {"warmup_steps", i64},
                            {"total_steps", i64}}) {
    argumentTypes.push_back(type);
    argumentAttrs.push_back(named(kInputAttrName, b.getStringAttr(name)));
  }
  unsigned firstParameterArgument = argumentTypes.size();
  for (StringLiteral role :
       {kParameterAttrName, kFirstMomentAttrName, kSecondMomentAttrName}) {
    for (unsigned i : parameterIndices) {
      argumentTypes.push_back(forwardType.getInput(i));
      resultTypes.push_back(forwardType.getInput(i));
      Attribute name = forward.getArgAttr(i, kParameterAttrName);
      DictionaryAttr attrs = role == kParameterAttrName
                                 ? forward.getArgAttrDict(i)
                                 : named(role, name);
      argumentAttrs.push_back(attrs);
      resultAttrs.push_back(named(role, name));
    }
  }
  for (StringRef name : {"loss", "grad_norm", "learning_rate"}) {
    resultTypes.push_back(scalarF32);
    resultAttrs.push_back(named(kOutputAttrName, b.getStringAttr(name)));
  }
  for (unsigned i : reportedResults) {
    resultTypes.push_back(forwardType.getResult(i));
    resultAttrs.push_back(forward.getResultAttrDict(i));
  }

  OpBuilder builder(context);
  builder.setInsertionPointAfter(forward);
  Location loc = forward.getLoc();
  auto trainStep = func::FuncOp::create(
      builder, loc, kTrainStepFunctionName,
      builder.getFunctionType(argumentTypes, resultTypes));
  trainStep.setAllArgAttrs(argumentAttrs);
  trainStep.setAllResultAttrs(resultAttrs);
  Block *body = trainStep.addEntryBlock();
  auto argument = [&](unsigned index) { return body->getArgument(index); };
  unsigned parameterCount = parameterIndices.size();

  // 1. The forward pass.
  IRMapping mapping;
  for (auto [position, i] : llvm::enumerate(inputIndices))
    mapping.map(forward.getArgument(i), argument(position));
  for (auto [position, i] : llvm::enumerate(parameterIndices))
    mapping.map(forward.getArgument(i),
                argument(firstParameterArgument + position));
  builder.setInsertionPointToStart(body);
  SmallVector<Operation *> forwardOps;
  Operation *forwardReturn = forward.getBody().front().getTerminator();
  for (Operation &op : forward.getBody().front().without_terminator())
    forwardOps.push_back(builder.clone(op, mapping));
  SmallVector<Value> forwardResults = llvm::map_to_vector(
      forwardReturn->getOperands(),
      [&](Value value) { return mapping.lookupOrDefault(value); });
  auto returnOp = func::ReturnOp::create(builder, loc);
  builder.setInsertionPoint(returnOp);

  // 2. The total loss, and the gradient seeds d(total)/d(loss_i) = w_i.
  Value totalLoss;
  GradientMap gradients;
  for (auto [index, weight] : losses) {
    Value term = forwardResults[index];
    Value weightTensor = createScalarTensor(builder, loc, weight);
    if (weight != 1.0)
      term = arith::MulFOp::create(builder, loc, term, weightTensor);
    totalLoss = totalLoss ? arith::AddFOp::create(builder, loc, totalLoss, term)
                                .getResult()
                          : term;
    gradients.accumulate(builder, loc, forwardResults[index], weightTensor);
  }

  // 3. Reverse mode over the forward ops.
  if (failed(backpropagate(forwardOps, returnOp, gradients)))
    return failure();

  // 4. Norm, clipping and AdamW.
  SmallVector<Value> parameterGradients;
  SmallVector<Value> presentGradients;
  for (unsigned p = 0; p < parameterCount; ++p) {
    parameterGradients.push_back(
        gradients.lookup(argument(firstParameterArgument + p)));
    if (parameterGradients.back())
      presentGradients.push_back(parameterGradients.back());
  }
  if (presentGradients.empty())
    return forward.emitOpError() << "has a loss that depends on none of its "
                                    "parameters";
  Value norm = GlobalNormOp::create(builder, loc, scalarF32, presentGradients);
  if (maxGradNorm > 0.0) {
    Value scale = createClipScale(builder, loc, norm, maxGradNorm);
    for (Value &gradient : parameterGradients) {
      if (!gradient)
        continue;
      Value splat = tensor::SplatOp::create(builder, loc, gradient.getType(),
                                            scale);
      gradient = arith::MulFOp::create(builder, loc, gradient, splat);
    }
  }
  unsigned scheduleArgument = inputIndices.size();
  Value step = argument(llvm::find(inputIndices, *stepIndex) -
                        inputIndices.begin());
  Value learningRate = LRScheduleOp::create(
      builder, loc, f32, LRScheduleAttr::get(context, *scheduleKind), step,
      argument(scheduleArgument), argument(scheduleArgument + 1),
      argument(scheduleArgument + 2));
  Value one = arith::ConstantOp::create(builder, loc, b.getI64IntegerAttr(1));
  Value adamStep = arith::AddIOp::create(builder, loc, step, one);

  SmallVector<Value> newParameters, newFirstMoments, newSecondMoments;
  for (unsigned p = 0; p < parameterCount; ++p) {
    Value parameter = argument(firstParameterArgument + p);
    Value firstMoment = argument(firstParameterArgument + parameterCount + p);
    Value secondMoment =
        argument(firstParameterArgument + 2 * parameterCount + p);
    if (!parameterGradients[p]) {
      newParameters.push_back(parameter);
      newFirstMoments.push_back(firstMoment);
      newSecondMoments.push_back(secondMoment);
      continue;
    }
    auto init =
        forward.getArgAttrOfType<StringAttr>(parameterIndices[p], kInitAttrName);
    double decay = init && init.getValue() == "normal" ? weightDecay : 0.0;
    auto update = AdamWUpdateOp::create(
        builder, loc, parameter, parameterGradients[p], firstMoment,
        secondMoment, learningRate, adamStep, b.getF64FloatAttr(beta1),
        b.getF64FloatAttr(beta2), b.getF64FloatAttr(epsilon),
        b.getF64FloatAttr(decay));
    newParameters.push_back(update.getNewParam());
    newFirstMoments.push_back(update.getNewFirstMoment());
    newSecondMoments.push_back(update.getNewSecondMoment());
  }

  SmallVector<Value> results;
  llvm::append_range(results, newParameters);
  llvm::append_range(results, newFirstMoments);
  llvm::append_range(results, newSecondMoments);
  results.push_back(totalLoss);
  results.push_back(norm);
  results.push_back(
      tensor::FromElementsOp::create(builder, loc, scalarF32, learningRate));
  for (unsigned i : reportedResults)
    results.push_back(forwardResults[i]);
  returnOp->setOperands(results);
  return success();
}
