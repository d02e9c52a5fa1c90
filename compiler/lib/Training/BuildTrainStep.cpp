//===- BuildTrainStep.cpp - loss, reverse-mode gradients, AdamW -----------===//
//
// Builds `@train_step` from the forward function (docs/training.md):
//
//   1. clone the forward ops into the new function;
//   2. sum the results marked `smx.loss` into the total loss;
//   3. walk the cloned ops backwards, asking each, through
//      DifferentiableOpInterface, for the gradients of its operands and
//      summing the gradients of values used more than once;
//   4. on a partitioned model (a `shard.grid`, smx-shard-batch), sum the
//      gradients, the loss and the reported results over the grid (the
//      gradient of a parameter split over some axes, smx-shard-experts,
//      over the others);
//   5. take the global gradient norm, clip if asked, and update every
//      parameter and its Adam moments.
//
//===----------------------------------------------------------------------===//

#include "smx/Training/Passes.h"

#include "smx/Training/Gradients.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "smx/Dialect/Smx/IR/SmxOps.h"
#include "smx/Partition/Passes.h"

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

/// The sum of `value` over the devices along `axes` of `grid`.
Value createGridSum(OpBuilder &builder, Location loc, shard::GridOp grid,
                    ArrayRef<int16_t> axes, Value value) {
  return shard::AllReduceOp::create(
      builder, loc, value.getType(), FlatSymbolRefAttr::get(grid),
      builder.getDenseI16ArrayAttr(axes), value,
      shard::ReductionKindAttr::get(builder.getContext(),
                                    shard::ReductionKind::Sum));
}

/// The reassociation of all of `rank` dimensions into one (none for a
/// 0-d tensor, which reshapes to and from `[1]`).
SmallVector<ReassociationIndices> reassociateAll(int64_t rank) {
  if (rank == 0)
    return {};
  ReassociationIndices all;
  for (int64_t dim = 0; dim < rank; ++dim)
    all.push_back(dim);
  return {all};
}

/// Sums `values[i]` over `axes[i]` of `grid`. Values of one element type
/// summed over the same axes are packed, in order, into flat buckets of at
/// most `bucketBytes` each, summed by one all-reduce per bucket and sliced
/// back: a collective costs a latency on top of its bytes, and a model has
/// hundreds of gradients. A value alone in its bucket is summed as it is.
///
/// With `overlap`, the values are bucketed last first (gradients: the order
/// the backward pass finishes them in), and each f32 bucket's sum is started
/// right after its last value is computed and waited for at the builder's
/// insertion point: it travels while the ops between compute.
SmallVector<Value> createBucketedGridSums(OpBuilder &builder, Location loc,
                                          shard::GridOp grid,
                                          ArrayRef<Value> values,
                                          ArrayRef<SmallVector<int16_t>> axes,
                                          int64_t bucketBytes, bool overlap) {
  SmallVector<Value> sums(values.size());
  OpBuilder::InsertPoint end = builder.saveInsertionPoint();
  // Sums `packed` over `bucketAxes`: at once, or started after the last of
  // the `members` values is computed and waited for at `end`.
  auto sum = [&](Value packed, ArrayRef<int16_t> bucketAxes) -> Value {
    auto type = cast<RankedTensorType>(packed.getType());
    if (!overlap || !type.getElementType().isF32())
      return createGridSum(builder, loc, grid, bucketAxes, packed);
    Value handle = AllReduceStartOp::create(
        builder, loc, packed, FlatSymbolRefAttr::get(grid),
        builder.getDenseI16ArrayAttr(bucketAxes));
    builder.restoreInsertionPoint(end);
    return AllReduceWaitOp::create(builder, loc, type, handle);
  };
  // Where a started bucket is packed: right after the last of its values.
  auto packAfterLast = [&](ArrayRef<size_t> bucket) {
    if (!overlap)
      return;
    Operation *last = nullptr;
    for (size_t index : bucket)
      if (Operation *definition = values[index].getDefiningOp())
        if (definition->getBlock() == end.getBlock() &&
            (!last || last->isBeforeInBlock(definition)))
          last = definition;
    if (last)
      builder.setInsertionPointAfter(last);
    else
      builder.setInsertionPointToStart(end.getBlock());
  };
  auto flush = [&](ArrayRef<size_t> bucket, ArrayRef<int16_t> bucketAxes) {
    if (bucket.empty())
      return;
    packAfterLast(bucket);
    if (bucket.size() == 1) {
      sums[bucket[0]] = sum(values[bucket[0]], bucketAxes);
      builder.restoreInsertionPoint(end);
      return;
    }
    Type elementType =
        cast<RankedTensorType>(values[bucket[0]].getType()).getElementType();
    int64_t total = 0;
    for (size_t index : bucket)
      total +=
          cast<RankedTensorType>(values[index].getType()).getNumElements();
    Value packed = tensor::EmptyOp::create(builder, loc, {total}, elementType);
    auto flatten = [&](Value tensor) -> Value {
      auto type = cast<RankedTensorType>(tensor.getType());
      if (type.getRank() == 1)
        return tensor;
      if (type.getRank() == 0)
        return tensor::ExpandShapeOp::create(
            builder, loc, RankedTensorType::get({1}, elementType), tensor,
            reassociateAll(0));
      return tensor::CollapseShapeOp::create(builder, loc, tensor,
                                             reassociateAll(type.getRank()));
    };
    int64_t offset = 0;
    for (size_t index : bucket) {
      Value flat = flatten(values[index]);
      int64_t size = cast<RankedTensorType>(flat.getType()).getDimSize(0);
      packed = tensor::InsertSliceOp::create(
          builder, loc, flat, packed, ArrayRef<OpFoldResult>{builder.getIndexAttr(offset)},
          ArrayRef<OpFoldResult>{builder.getIndexAttr(size)},
          ArrayRef<OpFoldResult>{builder.getIndexAttr(1)});
      offset += size;
    }
    Value summed = sum(packed, bucketAxes);
    builder.restoreInsertionPoint(end);
    offset = 0;
    for (size_t index : bucket) {
      auto type = cast<RankedTensorType>(values[index].getType());
      int64_t size = type.getNumElements();
      Value piece = tensor::ExtractSliceOp::create(
          builder, loc, RankedTensorType::get({size}, elementType), summed,
          ValueRange(), ValueRange(), ValueRange(),
          builder.getDenseI64ArrayAttr({offset}),
          builder.getDenseI64ArrayAttr({size}),
          builder.getDenseI64ArrayAttr({1}));
      if (type.getRank() == 0)
        piece = tensor::CollapseShapeOp::create(builder, loc, type, piece,
                                                reassociateAll(0));
      else if (type.getRank() != 1)
        piece = tensor::ExpandShapeOp::create(builder, loc, type, piece,
                                              reassociateAll(type.getRank()));
      sums[index] = piece;
      offset += size;
    }
  };
  // One open bucket per (axes, element type), in order of appearance.
  struct Bucket {
    SmallVector<int16_t> axes;
    Type elementType;
    SmallVector<size_t> members;
    int64_t bytes = 0;
  };
  SmallVector<Bucket> open;
  SmallVector<size_t> order = llvm::to_vector(llvm::seq<size_t>(values.size()));
  if (overlap)
    std::reverse(order.begin(), order.end());
  for (size_t index : order) {
    Value value = values[index];
    auto type = cast<RankedTensorType>(value.getType());
    if (!type.getElementType().isIntOrFloat()) {
      sums[index] = createGridSum(builder, loc, grid, axes[index], value);
      continue;
    }
    if (bucketBytes <= 0) {
      flush({index}, axes[index]);
      continue;
    }
    int64_t bytes = type.getNumElements() *
                    type.getElementType().getIntOrFloatBitWidth() / 8;
    auto *bucket = llvm::find_if(open, [&](const Bucket &entry) {
      return entry.axes == axes[index] &&
             entry.elementType == type.getElementType();
    });
    if (bucket == open.end()) {
      open.push_back({axes[index], type.getElementType(), {}, 0});
      bucket = std::prev(open.end());
    }
    if (!bucket->members.empty() && bucket->bytes + bytes > bucketBytes) {
      flush(bucket->members, bucket->axes);
      bucket->members.clear();
      bucket->bytes = 0;
    }
    bucket->members.push_back(index);
    bucket->bytes += bytes;
  }
  for (const Bucket &bucket : open)
    flush(bucket.members, bucket.axes);
  return sums;
}

/// The axes of `grid` other than `shardAxes`.
SmallVector<int16_t> getOtherAxes(shard::GridOp grid,
                                  ArrayRef<int16_t> shardAxes) {
  SmallVector<int16_t> axes;
  for (int64_t axis = 0, e = grid.getRank(); axis < e; ++axis)
    if (!llvm::is_contained(shardAxes, axis))
      axes.push_back(static_cast<int16_t>(axis));
  return axes;
}

/// The global norm of gradients of which some are slices of parameters
/// split over grid axes (`smx.shard_axes`): each group of slices adds the
/// sum of its squares over its axes; the others are whole on every device.
Value createShardedGlobalNorm(
    OpBuilder &builder, Location loc, shard::GridOp grid,
    ArrayRef<Value> whole,
    ArrayRef<std::pair<DenseI16ArrayAttr, SmallVector<Value>>> sharded) {
  auto scalarF32 = RankedTensorType::get({}, builder.getF32Type());
  auto squaredNorm = [&](ArrayRef<Value> gradients) -> Value {
    Value norm = GlobalNormOp::create(builder, loc, scalarF32, gradients);
    return arith::MulFOp::create(builder, loc, norm, norm);
  };
  Value total = whole.empty() ? Value() : squaredNorm(whole);
  for (const auto &[axes, gradients] : sharded) {
    Value part = createGridSum(builder, loc, grid, axes.asArrayRef(),
                               squaredNorm(gradients));
    total = total ? arith::AddFOp::create(builder, loc, total, part).getResult()
                  : part;
  }
  return math::SqrtOp::create(builder, loc, total);
}

struct ForwardInterface;

struct SmxBuildTrainStepPass
    : smx::impl::SmxBuildTrainStepPassBase<SmxBuildTrainStepPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(buildTrainStep()))
      signalPassFailure();
  }

  LogicalResult buildTrainStep();
  void buildOptimizerUpdate(OpBuilder &builder, Location loc,
                            func::FuncOp forward,
                            const ForwardInterface &interface,
                            ArrayRef<Value> parameterArguments,
                            MutableArrayRef<Value> gradients, Value norm,
                            Value learningRate, Value adamStep,
                            SmallVectorImpl<Value> &updated);
};

} // namespace

namespace {

/// The roles of the forward function's arguments and results.
struct ForwardInterface {
  SmallVector<unsigned> inputs, parameters;
  unsigned step = 0;
  /// Results marked smx.loss with their weights.
  SmallVector<std::pair<unsigned, double>> losses;
  /// Loss terms and metrics, which the train step returns too.
  SmallVector<unsigned> reported;
};

/// Classifies the forward function's arguments and results (docs/training.md)
/// and checks that it has something to train.
FailureOr<ForwardInterface> classifyForward(func::FuncOp forward,
                                            Type scalarF32) {
  ForwardInterface interface;
  FunctionType type = forward.getFunctionType();
  std::optional<unsigned> step;
  for (unsigned i = 0, e = type.getNumInputs(); i < e; ++i) {
    if (forward.getArgAttr(i, kParameterAttrName)) {
      interface.parameters.push_back(i);
      continue;
    }
    interface.inputs.push_back(i);
    auto name = forward.getArgAttrOfType<StringAttr>(i, kInputAttrName);
    if (name && name.getValue() == SMXRT_INPUT_STEP &&
        type.getInput(i).isInteger(64))
      step = i;
  }
  if (!step)
    return forward.emitOpError() << "has no i64 argument with "
                                 << kInputAttrName
                                 << " = \"step\", which dropout and the "
                                    "optimizer count with";
  interface.step = *step;
  if (interface.parameters.empty())
    return forward.emitOpError() << "has no " << kParameterAttrName
                                 << " arguments to train";
  for (unsigned i = 0, e = type.getNumResults(); i < e; ++i) {
    if (auto weight = forward.getResultAttrOfType<FloatAttr>(i, kLossAttrName)) {
      if (type.getResult(i) != scalarF32)
        return forward.emitOpError()
               << "result " << i << " is marked " << kLossAttrName
               << " but has type " << type.getResult(i) << ", expected "
               << scalarF32;
      interface.losses.push_back({i, weight.getValueAsDouble()});
      interface.reported.push_back(i);
    } else if (forward.getResultAttr(i, kMetricAttrName)) {
      interface.reported.push_back(i);
    }
  }
  if (interface.losses.empty())
    return forward.emitOpError() << "has no result marked " << kLossAttrName;
  return interface;
}

/// Creates the empty `@train_step` after `forward` with the signature of the
/// pass description: inputs, schedule scalars, parameters and both moments;
/// new parameters and moments, loss, gradient norm, learning rate, reported
/// results.
func::FuncOp createTrainStepFunction(func::FuncOp forward,
                                     const ForwardInterface &interface,
                                     Type scalarF32) {
  Builder b(forward.getContext());
  FunctionType forwardType = forward.getFunctionType();
  SmallVector<Type> argumentTypes, resultTypes;
  SmallVector<DictionaryAttr> argumentAttrs, resultAttrs;
  auto named = [&](StringRef attrName, Attribute value) {
    return b.getDictionaryAttr(b.getNamedAttr(attrName, value));
  };
  for (unsigned i : interface.inputs) {
    argumentTypes.push_back(forwardType.getInput(i));
    argumentAttrs.push_back(forward.getArgAttrDict(i));
  }
  for (auto [name, type] :
       {std::pair<StringRef, Type>{SMXRT_INPUT_PEAK_LEARNING_RATE,
                                   b.getF32Type()},
        {SMXRT_INPUT_WARMUP_STEPS, b.getI64Type()},
        {SMXRT_INPUT_TOTAL_STEPS, b.getI64Type()}}) {
    argumentTypes.push_back(type);
    argumentAttrs.push_back(named(kInputAttrName, b.getStringAttr(name)));
  }
  for (StringLiteral role :
       {kParameterAttrName, kFirstMomentAttrName, kSecondMomentAttrName}) {
    for (unsigned i : interface.parameters) {
      argumentTypes.push_back(forwardType.getInput(i));
      resultTypes.push_back(forwardType.getInput(i));
      Attribute name = forward.getArgAttr(i, kParameterAttrName);
      argumentAttrs.push_back(role == kParameterAttrName
                                  ? forward.getArgAttrDict(i)
                                  : named(role, name));
      resultAttrs.push_back(named(role, name));
    }
  }
  for (StringRef name : {SMXRT_OUTPUT_LOSS, SMXRT_OUTPUT_GRAD_NORM,
                         SMXRT_OUTPUT_LEARNING_RATE}) {
    resultTypes.push_back(scalarF32);
    resultAttrs.push_back(named(kOutputAttrName, b.getStringAttr(name)));
  }
  for (unsigned i : interface.reported) {
    resultTypes.push_back(forwardType.getResult(i));
    resultAttrs.push_back(forward.getResultAttrDict(i));
  }
  OpBuilder builder(forward.getContext());
  builder.setInsertionPointAfter(forward);
  auto trainStep = func::FuncOp::create(
      builder, forward.getLoc(), kTrainStepFunctionName,
      builder.getFunctionType(argumentTypes, resultTypes));
  trainStep.setAllArgAttrs(argumentAttrs);
  trainStep.setAllResultAttrs(resultAttrs);
  trainStep.addEntryBlock();
  return trainStep;
}

} // namespace

/// Clips the gradients to the global norm and applies AdamW to every
/// parameter that has one; `updated` receives the new parameters, then the
/// first and second moments.
void SmxBuildTrainStepPass::buildOptimizerUpdate(
    OpBuilder &builder, Location loc, func::FuncOp forward,
    const ForwardInterface &interface, ArrayRef<Value> parameterArguments,
    MutableArrayRef<Value> gradients, Value norm, Value learningRate,
    Value adamStep, SmallVectorImpl<Value> &updated) {
  if (maxGradNorm > 0.0) {
    Value scale = createClipScale(builder, loc, norm, maxGradNorm);
    for (Value &gradient : gradients) {
      if (!gradient)
        continue;
      Value splat =
          tensor::SplatOp::create(builder, loc, gradient.getType(), scale);
      gradient = arith::MulFOp::create(builder, loc, gradient, splat);
    }
  }
  size_t count = interface.parameters.size();
  SmallVector<Value> parameters, firstMoments, secondMoments;
  for (size_t p = 0; p < count; ++p) {
    Value parameter = parameterArguments[p];
    Value firstMoment = parameterArguments[count + p];
    Value secondMoment = parameterArguments[2 * count + p];
    if (!gradients[p]) {
      // No gradient: the parameter and its moments keep their values.
      parameters.push_back(parameter);
      firstMoments.push_back(firstMoment);
      secondMoments.push_back(secondMoment);
      continue;
    }
    // Weight decay applies to matrices and embeddings (the `normal` init).
    auto init = forward.getArgAttrOfType<StringAttr>(interface.parameters[p],
                                                     kInitAttrName);
    double decay =
        init && init.getValue() == SMXRT_INIT_NORMAL ? weightDecay : 0.0;
    auto update = AdamWUpdateOp::create(
        builder, loc, parameter, gradients[p], firstMoment, secondMoment,
        learningRate, adamStep, builder.getF64FloatAttr(beta1),
        builder.getF64FloatAttr(beta2), builder.getF64FloatAttr(epsilon),
        builder.getF64FloatAttr(decay));
    parameters.push_back(update.getNewParam());
    firstMoments.push_back(update.getNewFirstMoment());
    secondMoments.push_back(update.getNewSecondMoment());
  }
  llvm::append_range(updated, parameters);
  llvm::append_range(updated, firstMoments);
  llvm::append_range(updated, secondMoments);
}

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
  auto scalarF32 = RankedTensorType::get({}, Float32Type::get(context));
  FailureOr<ForwardInterface> interface = classifyForward(forward, scalarF32);
  if (failed(interface))
    return failure();
  func::FuncOp trainStep =
      createTrainStepFunction(forward, *interface, scalarF32);
  Block *body = &trainStep.getBody().front();
  size_t inputCount = interface->inputs.size();
  size_t parameterCount = interface->parameters.size();
  // Inputs, then 3 schedule scalars, then parameters and both moments.
  ArrayRef<BlockArgument> arguments = body->getArguments();
  ArrayRef<BlockArgument> parameterArguments =
      arguments.drop_front(inputCount + 3);
  Location loc = forward.getLoc();
  OpBuilder builder = OpBuilder::atBlockBegin(body);

  // 1. The forward pass.
  IRMapping mapping;
  for (auto [position, i] : llvm::enumerate(interface->inputs))
    mapping.map(forward.getArgument(i), arguments[position]);
  for (auto [position, i] : llvm::enumerate(interface->parameters))
    mapping.map(forward.getArgument(i), parameterArguments[position]);
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
  for (auto [index, weight] : interface->losses) {
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
  std::optional<Recompute> policy = parseRecompute(recompute);
  if (!policy)
    return module.emitError()
           << "smx-build-train-step: unknown recompute policy '" << recompute
           << "' (none, attention or layers)";
  if (failed(backpropagate(forwardOps, returnOp, gradients, *policy)))
    return failure();

  // 4. On a grid, each device holds its share of the loss: the job's
  // gradient, loss and metrics are sums over the grid.
  // A parameter split over some axes (smx-shard-experts) has its slice's
  // gradient summed over the others: each device along its own axes holds
  // a different slice.
  shard::GridOp grid = getModelGrid(module);
  SmallVector<Value> parameterGradients, wholeGradients;
  SmallVector<std::pair<DenseI16ArrayAttr, SmallVector<Value>>>
      shardedGradients;
  SmallVector<DenseI16ArrayAttr> parameterShardAxes;
  for (size_t p = 0; p < parameterCount; ++p) {
    auto shardAxes = forward.getArgAttrOfType<DenseI16ArrayAttr>(
        interface->parameters[p], kShardAxesAttrName);
    if (shardAxes && !grid)
      return forward.emitOpError()
             << "has a parameter split over grid axes ("
             << kShardAxesAttrName << ") but the module has no grid";
    parameterShardAxes.push_back(shardAxes);
    parameterGradients.push_back(gradients.lookup(parameterArguments[p]));
  }
  if (grid) {
    SmallVector<Value> toSum;
    SmallVector<SmallVector<int16_t>> sumAxes;
    SmallVector<size_t> summed;
    for (size_t p = 0; p < parameterCount; ++p) {
      if (!parameterGradients[p])
        continue;
      DenseI16ArrayAttr shardAxes = parameterShardAxes[p];
      summed.push_back(p);
      toSum.push_back(parameterGradients[p]);
      sumAxes.push_back(
          getOtherAxes(grid, shardAxes ? shardAxes.asArrayRef()
                                       : ArrayRef<int16_t>()));
    }
    SmallVector<Value> sums = createBucketedGridSums(
        builder, loc, grid, toSum, sumAxes,
        static_cast<int64_t>(gradBucketMiB * 1024 * 1024), overlapGradSums);
    for (auto [p, sum] : llvm::zip_equal(summed, sums))
      parameterGradients[p] = sum;
  }
  for (size_t p = 0; p < parameterCount; ++p) {
    Value gradient = parameterGradients[p];
    DenseI16ArrayAttr shardAxes = parameterShardAxes[p];
    if (!gradient)
      continue;
    if (!shardAxes) {
      wholeGradients.push_back(gradient);
      continue;
    }
    auto group = llvm::find_if(shardedGradients, [&](const auto &entry) {
      return entry.first == shardAxes;
    });
    if (group == shardedGradients.end())
      shardedGradients.push_back({shardAxes, {gradient}});
    else
      group->second.push_back(gradient);
  }
  if (grid) {
    // The loss and the reported results, summed over every axis, in
    // buckets too.
    SmallVector<Value> toSum = {totalLoss};
    for (unsigned i : interface->reported)
      toSum.push_back(forwardResults[i]);
    SmallVector<SmallVector<int16_t>> sumAxes(toSum.size(),
                                              getOtherAxes(grid, {}));
    SmallVector<Value> sums = createBucketedGridSums(
        builder, loc, grid, toSum, sumAxes,
        static_cast<int64_t>(gradBucketMiB * 1024 * 1024), /*overlap=*/false);
    totalLoss = sums.front();
    for (auto [i, sum] : llvm::zip_equal(interface->reported,
                                         ArrayRef<Value>(sums).drop_front()))
      forwardResults[i] = sum;
  }

  // 5. Norm, schedule, clipping and AdamW.
  if (wholeGradients.empty() && shardedGradients.empty())
    return forward.emitOpError() << "has a loss that depends on none of its "
                                    "parameters";
  Value norm = shardedGradients.empty()
                   ? GlobalNormOp::create(builder, loc, scalarF32,
                                          wholeGradients)
                         .getResult()
                   : createShardedGlobalNorm(builder, loc, grid,
                                             wholeGradients, shardedGradients);
  Value step = arguments[llvm::find(interface->inputs, interface->step) -
                         interface->inputs.begin()];
  Value learningRate = LRScheduleOp::create(
      builder, loc, builder.getF32Type(),
      LRScheduleAttr::get(context, *scheduleKind), step, arguments[inputCount],
      arguments[inputCount + 1], arguments[inputCount + 2]);
  Value one =
      arith::ConstantOp::create(builder, loc, builder.getI64IntegerAttr(1));
  Value adamStep = arith::AddIOp::create(builder, loc, step, one);
  SmallVector<Value> results;
  buildOptimizerUpdate(builder, loc, forward, *interface,
                       SmallVector<Value>(parameterArguments.begin(),
                                          parameterArguments.end()),
                       parameterGradients, norm, learningRate, adamStep,
                       results);
  results.push_back(totalLoss);
  results.push_back(norm);
  results.push_back(
      tensor::FromElementsOp::create(builder, loc, scalarF32, learningRate));
  for (unsigned i : interface->reported)
    results.push_back(forwardResults[i]);
  returnOp->setOperands(results);
  return success();
}
