//===- TrainingOpsToLinalg.cpp - lowering of the train step's smx ops -----===//
//
// Dropout, losses and the optimizer, lowered like the forward ops: GEMMs on
// the runtime's BLAS, everything else as linalg.generic. Statistics
// accumulate in f32. The gradient ops are in SmxGradientsToLinalg.cpp.
//
//===----------------------------------------------------------------------===//

#include "smx/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "smx/Conversion/LoweringUtils.h"
#include "smx/Dialect/Smx/IR/SmxOps.h"
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::smx;

namespace {

//===----------------------------------------------------------------------===//
// Dropout
//===----------------------------------------------------------------------===//

struct DropoutLowering : OpRewritePattern<DropoutOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DropoutOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    rewriter.replaceOp(
        op, emitDropout(rewriter, loc, op.getInput(), op.getStep(),
                        op.getRate().convertToDouble(), op.getSeed(),
                        getCounterOffsetIndex(rewriter, loc,
                                              op.getCounterOffset())));
    return success();
  }
};

} // namespace

namespace {

//===----------------------------------------------------------------------===//
// Cross-entropy
//===----------------------------------------------------------------------===//

/// Per-row terms of a cross-entropy over `logits [R, C]`: the log-sum-exp
/// pieces (row maximum and sum of shifted exponentials) and each row's
/// weight (`weights` or 1; 0 for `ignore_index` or a label outside [0, C)).
struct CrossEntropyRows {
  Value maximum, expSum, weight;
};

CrossEntropyRows emitCrossEntropyRows(OpBuilder &builder, Location loc,
                                      Value logits, Value labels,
                                      Value weights, int64_t ignoreIndex) {
  auto logitsType = cast<RankedTensorType>(logits.getType());
  int64_t rows = logitsType.getDimSize(0), classes = logitsType.getDimSize(1);
  CrossEntropyRows result;
  RowLogSumExp logSumExp = emitRowLogSumExp(builder, loc, logits);
  result.maximum = logSumExp.maximum;
  result.expSum = logSumExp.expSum;
  auto rowType = RankedTensorType::get({rows}, builder.getF32Type());
  SmallVector<Value> inputs = {labels};
  if (weights)
    inputs.push_back(weights);
  result.weight = createElementwise(
      builder, loc, rowType, inputs, {},
      [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
        Value label = args[0];
        Type labelType = label.getType();
        auto labelConstant = [&](int64_t value) {
          return arith::ConstantOp::create(b, nestedLoc,
                                           b.getIntegerAttr(labelType, value));
        };
        Value counted = arith::CmpIOp::create(
            b, nestedLoc, arith::CmpIPredicate::ne, label,
            labelConstant(ignoreIndex));
        Value nonNegative = arith::CmpIOp::create(
            b, nestedLoc, arith::CmpIPredicate::sge, label, labelConstant(0));
        Value belowClasses = arith::CmpIOp::create(
            b, nestedLoc, arith::CmpIPredicate::slt, label,
            labelConstant(classes));
        Value valid = arith::AndIOp::create(
            b, nestedLoc, counted,
            arith::AndIOp::create(b, nestedLoc, nonNegative, belowClasses));
        Value weight = weights ? extendToF32(b, nestedLoc, args[1])
                               : createF32Constant(b, nestedLoc, 1.0);
        return arith::SelectOp::create(b, nestedLoc, valid, weight,
                                       createF32Constant(b, nestedLoc, 0.0));
      });
  return result;
}

/// `max(sum(weights), 1)` as a 0-d f32 tensor; with `countOver`, the sum
/// over the devices along `gridAxes` (a `shard.all_reduce`, which
/// convert-shard-to-runtime lowers).
Value emitWeightDenominator(OpBuilder &builder, Location loc, Value weight,
                            FlatSymbolRefAttr countOver,
                            DenseI16ArrayAttr gridAxes) {
  Value total = sumAll(builder, loc, weight);
  if (countOver)
    total = shard::AllReduceOp::create(
        builder, loc, total.getType(), countOver, gridAxes, total,
        shard::ReductionKindAttr::get(builder.getContext(),
                                      shard::ReductionKind::Sum));
  return createElementwise(
      builder, loc, cast<RankedTensorType>(total.getType()), total, {},
      [](OpBuilder &b, Location nestedLoc, ValueRange args) {
        return arith::MaximumFOp::create(b, nestedLoc, args[0],
                                         createF32Constant(b, nestedLoc, 1.0));
      });
}

/// `labels` and `weights` flattened to `[R]`, or null.
Value flattenRows(OpBuilder &builder, Location loc, Value tensor) {
  if (!tensor)
    return tensor;
  auto type = cast<RankedTensorType>(tensor.getType());
  if (type.getRank() == 1)
    return tensor;
  ReassociationIndices all;
  for (int64_t dim = 0; dim < type.getRank(); ++dim)
    all.push_back(dim);
  if (type.getRank() == 0)
    return tensor::ExpandShapeOp::create(
        builder, loc, RankedTensorType::get({1}, type.getElementType()),
        tensor, ArrayRef<ReassociationIndices>{});
  return tensor::CollapseShapeOp::create(builder, loc, tensor,
                                         ArrayRef<ReassociationIndices>{all});
}

struct CrossEntropyLowering : OpRewritePattern<CrossEntropyOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CrossEntropyOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getLogits().getType().hasStaticShape() ||
        op.getLogits().getType().getRank() < 2)
      return rewriter.notifyMatchFailure(op, "needs static [..., C] logits");
    Location loc = op.getLoc();
    Value logits = collapseToMatrix(rewriter, loc, op.getLogits());
    Value labels = flattenRows(rewriter, loc, op.getLabels());
    Value weights = flattenRows(rewriter, loc, op.getWeights());
    CrossEntropyRows rows = emitCrossEntropyRows(
        rewriter, loc, logits, labels, weights, op.getIgnoreIndex());
    int64_t numRows = cast<RankedTensorType>(logits.getType()).getDimSize(0);
    auto rowType = RankedTensorType::get({numRows}, rewriter.getF32Type());
    // w·(logsumexp − logit[label]) per row.
    Value terms = createElementwise(
        rewriter, loc, rowType, {labels, rows.maximum, rows.expSum, rows.weight},
        {},
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          Value row = linalg::IndexOp::create(b, nestedLoc, 0);
          // Clamp the label into range: a skipped row has weight 0 anyway.
          Value label = arith::IndexCastOp::create(b, nestedLoc,
                                                   b.getIndexType(), args[0]);
          int64_t classes =
              cast<RankedTensorType>(logits.getType()).getDimSize(1);
          Value clamped = arith::MinSIOp::create(
              b, nestedLoc,
              arith::MaxSIOp::create(b, nestedLoc, label,
                                     indexConstant(b, nestedLoc, 0)),
              indexConstant(b, nestedLoc, classes - 1));
          Value picked = extendToF32(
              b, nestedLoc,
              tensor::ExtractOp::create(b, nestedLoc, logits,
                                        ValueRange{row, clamped}));
          Value logSumExp = arith::AddFOp::create(
              b, nestedLoc, args[1], math::LogOp::create(b, nestedLoc, args[2]));
          Value loss = arith::SubFOp::create(b, nestedLoc, logSumExp, picked);
          // 0·inf is NaN: select instead of multiplying skipped rows.
          Value skipped = arith::CmpFOp::create(
              b, nestedLoc, arith::CmpFPredicate::OEQ, args[3],
              createF32Constant(b, nestedLoc, 0.0));
          return arith::SelectOp::create(
              b, nestedLoc, skipped, createF32Constant(b, nestedLoc, 0.0),
              arith::MulFOp::create(b, nestedLoc, args[3], loss));
        });
    Value total = sumAll(rewriter, loc, terms);
    Value denominator = emitWeightDenominator(
        rewriter, loc, rows.weight, op.getCountOverAttr(), op.getGridAxesAttr());
    Value loss = createElementwise(
        rewriter, loc, cast<RankedTensorType>(op.getType()),
        {total, denominator}, {},
        [](OpBuilder &b, Location nestedLoc, ValueRange args) {
          return arith::DivFOp::create(b, nestedLoc, args[0], args[1]);
        });
    rewriter.replaceOp(op, loss);
    return success();
  }
};

struct CrossEntropyGradLowering : OpRewritePattern<CrossEntropyGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CrossEntropyGradOp op,
                                PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    if (!type.hasStaticShape() || type.getRank() < 2)
      return rewriter.notifyMatchFailure(op, "needs static [..., C] logits");
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    Value logits = collapseToMatrix(rewriter, loc, op.getLogits());
    Value labels = flattenRows(rewriter, loc, op.getLabels());
    Value weights = flattenRows(rewriter, loc, op.getWeights());
    CrossEntropyRows rows = emitCrossEntropyRows(
        rewriter, loc, logits, labels, weights, op.getIgnoreIndex());
    Value denominator = emitWeightDenominator(
        rewriter, loc, rows.weight, op.getCountOverAttr(), op.getGridAxesAttr());
    auto matrixType = cast<RankedTensorType>(logits.getType());
    AffineMap identity = identityMap(context, 2);
    AffineMap row = getLeadingDimsMap(context, 2, 1);
    AffineMap scalar = AffineMap::get(2, 0, {}, context);
    Value grad = createElementwise(
        rewriter, loc, matrixType,
        {logits, labels, rows.maximum, rows.expSum, rows.weight, denominator,
         op.getLossGrad()},
        {identity, row, row, row, row, scalar, scalar},
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          Value probability = arith::DivFOp::create(
              b, nestedLoc,
              math::ExpOp::create(
                  b, nestedLoc,
                  arith::SubFOp::create(b, nestedLoc,
                                        extendToF32(b, nestedLoc, args[0]),
                                        args[2])),
              args[3]);
          Value column = arith::IndexCastOp::create(
              b, nestedLoc, args[1].getType(),
              linalg::IndexOp::create(b, nestedLoc, 1));
          Value isLabel = arith::CmpIOp::create(
              b, nestedLoc, arith::CmpIPredicate::eq, column, args[1]);
          Value target = arith::SelectOp::create(
              b, nestedLoc, isLabel, createF32Constant(b, nestedLoc, 1.0),
              createF32Constant(b, nestedLoc, 0.0));
          Value difference =
              arith::SubFOp::create(b, nestedLoc, probability, target);
          Value scale = arith::DivFOp::create(
              b, nestedLoc, arith::MulFOp::create(b, nestedLoc, args[6], args[4]),
              args[5]);
          return truncateFromF32(
              b, nestedLoc, arith::MulFOp::create(b, nestedLoc, scale, difference),
              type.getElementType());
        });
    rewriter.replaceOp(op, expandFromMatrix(rewriter, loc, grad, type));
    return success();
  }
};

struct MeanSquaredErrorLowering : OpRewritePattern<MeanSquaredErrorOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MeanSquaredErrorOp op,
                                PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getPredictions().getType());
    if (!type.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    Value squares = createElementwise(
        rewriter, loc, RankedTensorType::get(type.getShape(),
                                             rewriter.getF32Type()),
        {op.getPredictions(), op.getTargets()}, {},
        [](OpBuilder &b, Location nestedLoc, ValueRange args) {
          Value difference = arith::SubFOp::create(
              b, nestedLoc, extendToF32(b, nestedLoc, args[0]),
              extendToF32(b, nestedLoc, args[1]));
          return arith::MulFOp::create(b, nestedLoc, difference, difference);
        });
    rewriter.replaceOp(
        op, scaleScalar(rewriter, loc, sumAll(rewriter, loc, squares),
                        1.0 / static_cast<double>(type.getNumElements())));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Optimizer
//===----------------------------------------------------------------------===//

struct GlobalNormLowering : OpRewritePattern<GlobalNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GlobalNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto scalarType = cast<RankedTensorType>(op.getType());
    Value total;
    for (Value input : op.getInputs()) {
      auto type = cast<RankedTensorType>(input.getType());
      Value squares = createElementwise(
          rewriter, loc, RankedTensorType::get(type.getShape(),
                                               rewriter.getF32Type()),
          input, {}, [](OpBuilder &b, Location nestedLoc, ValueRange args) {
            Value x = extendToF32(b, nestedLoc, args[0]);
            return arith::MulFOp::create(b, nestedLoc, x, x);
          });
      Value sum = sumAll(rewriter, loc, squares);
      total = total ? createElementwise(
                          rewriter, loc, scalarType, {total, sum}, {},
                          [](OpBuilder &b, Location nestedLoc, ValueRange args) {
                            return arith::AddFOp::create(b, nestedLoc, args[0],
                                                         args[1]);
                          })
                    : sum;
    }
    if (!total)
      total = createFilledTensor(rewriter, loc, scalarType,
                                 rewriter.getF32FloatAttr(0.0));
    rewriter.replaceOp(
        op, createElementwise(
                rewriter, loc, scalarType, total, {},
                [](OpBuilder &b, Location nestedLoc, ValueRange args) {
                  return math::SqrtOp::create(b, nestedLoc, args[0]);
                }));
    return success();
  }
};

struct AdamWUpdateLowering : OpRewritePattern<AdamWUpdateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AdamWUpdateOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getParam().getType());
    int64_t rank = type.getRank();
    double beta1 = op.getBeta1().convertToDouble();
    double beta2 = op.getBeta2().convertToDouble();
    double epsilon = op.getEpsilon().convertToDouble();
    double decay = op.getWeightDecay().convertToDouble();
    // Bias corrections 1 − β^t, in f64 once per call.
    Value t = arith::SIToFPOp::create(rewriter, loc, rewriter.getF64Type(),
                                      op.getStep());
    auto correction = [&](double beta) {
      Value base = arith::ConstantOp::create(rewriter, loc,
                                             rewriter.getF64FloatAttr(beta));
      Value power = math::PowFOp::create(rewriter, loc, base, t);
      Value one = arith::ConstantOp::create(rewriter, loc,
                                            rewriter.getF64FloatAttr(1.0));
      Value difference = arith::SubFOp::create(rewriter, loc, one, power);
      return arith::TruncFOp::create(rewriter, loc, rewriter.getF32Type(),
                                     difference)
          .getResult();
    };
    Value correction1 = correction(beta1);
    Value correction2 = correction(beta2);
    Value lr = op.getLearningRate();
    MLIRContext *context = rewriter.getContext();
    AffineMap identity = identityMap(context, rank);
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    SmallVector<Value> outputs(3, createEmptyTensor(rewriter, loc, type));
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{type, type, type},
        ValueRange{op.getParam(), op.getGrad(), op.getFirstMoment(),
                   op.getSecondMoment()},
        outputs, SmallVector<AffineMap>(7, identity), iterators,
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          auto constant = [&](double value) {
            return createF32Constant(b, nestedLoc, value);
          };
          auto mul = [&](Value lhs, Value rhs) {
            return arith::MulFOp::create(b, nestedLoc, lhs, rhs).getResult();
          };
          auto add = [&](Value lhs, Value rhs) {
            return arith::AddFOp::create(b, nestedLoc, lhs, rhs).getResult();
          };
          Value p = extendToF32(b, nestedLoc, args[0]);
          Value g = extendToF32(b, nestedLoc, args[1]);
          Value m = extendToF32(b, nestedLoc, args[2]);
          Value v = extendToF32(b, nestedLoc, args[3]);
          Value newM = add(mul(constant(beta1), m), mul(constant(1 - beta1), g));
          Value newV =
              add(mul(constant(beta2), v), mul(constant(1 - beta2), mul(g, g)));
          Value mHat = arith::DivFOp::create(b, nestedLoc, newM, correction1);
          Value vHat = arith::DivFOp::create(b, nestedLoc, newV, correction2);
          Value denominator =
              add(math::SqrtOp::create(b, nestedLoc, vHat), constant(epsilon));
          Value step = add(arith::DivFOp::create(b, nestedLoc, mHat, denominator),
                           mul(constant(decay), p));
          Value newP = arith::SubFOp::create(b, nestedLoc, p, mul(lr, step));
          Type elementType = type.getElementType();
          linalg::YieldOp::create(
              b, nestedLoc,
              ValueRange{truncateFromF32(b, nestedLoc, newP, elementType),
                         truncateFromF32(b, nestedLoc, newM, elementType),
                         truncateFromF32(b, nestedLoc, newV, elementType)});
        });
    rewriter.replaceOp(op, generic.getResults());
    return success();
  }
};

struct LRScheduleLowering : OpRewritePattern<LRScheduleOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LRScheduleOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();
    auto toFloat = [&](Value integer) {
      return arith::SIToFPOp::create(rewriter, loc, f32, integer).getResult();
    };
    Value step = toFloat(op.getStep());
    Value warmup = toFloat(op.getWarmupSteps());
    Value total = toFloat(op.getTotalSteps());
    Value peak = op.getPeak();
    Value one = createF32Constant(rewriter, loc, 1.0);
    Value zero = createF32Constant(rewriter, loc, 0.0);
    // Warmup: peak·(step + 1)/warmup.
    Value warming = arith::DivFOp::create(
        rewriter, loc,
        arith::MulFOp::create(rewriter, loc, peak,
                              arith::AddFOp::create(rewriter, loc, step, one)),
        warmup);
    Value inWarmup = arith::CmpIOp::create(rewriter, loc,
                                           arith::CmpIPredicate::slt,
                                           op.getStep(), op.getWarmupSteps());
    Value after = peak;
    if (op.getKind() == LRSchedule::linear_warmup_linear_decay) {
      // Decay: peak·(total − step)/(total − warmup), 0 from total on.
      Value remaining = arith::SubFOp::create(rewriter, loc, total, step);
      Value span = arith::SubFOp::create(rewriter, loc, total, warmup);
      Value decayed = arith::DivFOp::create(
          rewriter, loc, arith::MulFOp::create(rewriter, loc, peak, remaining),
          span);
      Value beforeEnd = arith::CmpIOp::create(rewriter, loc,
                                              arith::CmpIPredicate::slt,
                                              op.getStep(), op.getTotalSteps());
      after = arith::SelectOp::create(rewriter, loc, beforeEnd, decayed, zero);
    }
    rewriter.replaceOp(
        op, arith::SelectOp::create(rewriter, loc, inWarmup, warming, after));
    return success();
  }
};

} // namespace

void mlir::smx::populateSmxTrainingToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<DropoutLowering, CrossEntropyLowering, CrossEntropyGradLowering,
               MeanSquaredErrorLowering, GlobalNormLowering,
               AdamWUpdateLowering, LRScheduleLowering>(patterns.getContext());
  populateSmxGradientsToLinalgPatterns(patterns);
}
