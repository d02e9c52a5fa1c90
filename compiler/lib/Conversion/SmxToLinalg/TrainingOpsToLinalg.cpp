//===- TrainingOpsToLinalg.cpp - lowering of the train step's smx ops -----===//
//
// Dropout, losses, the gradient ops of DifferentiableOpInterface and the
// optimizer, lowered like the forward ops: GEMMs on the runtime's BLAS,
// everything else as linalg.generic, scatter-adds as sequential loops.
// Statistics accumulate in f32.
//
//===----------------------------------------------------------------------===//

#include "smx/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "smx/Conversion/LoweringUtils.h"
#include "smx/Dialect/Smx/IR/SmxOps.h"
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::smx;

namespace {

/// The identity map of a `rank`-deep nest.
AffineMap identityMap(MLIRContext *context, int64_t rank) {
  return AffineMap::getMultiDimIdentityMap(rank, context);
}

/// The map reading a per-row statistic `[...]` of an `[..., D]` nest.
AffineMap rowMap(MLIRContext *context, int64_t rank) {
  return getLeadingDimsMap(context, rank, rank - 1);
}

/// The map reading a `[D]` vector broadcast along `[..., D]`.
AffineMap columnMap(MLIRContext *context, int64_t rank) {
  return getTrailingDimsMap(context, rank, 1);
}

/// Sums `input [R..., D]` over its last dimension into `[R...]` (f32),
/// mapping each element (and `extraInputs` broadcast per row) first.
Value sumRows(OpBuilder &builder, Location loc, Value input,
              ValueRange extraInputs, ElementwiseBody prologue) {
  int64_t rank = cast<RankedTensorType>(input.getType()).getRank();
  return createReduction(builder, loc, input, rank - 1,
                         builder.getF32FloatAttr(0.0), addFloats, extraInputs,
                         prologue);
}

/// Sums `matrix [R, D]` over its rows into `[D]` (f32).
Value sumColumns(OpBuilder &builder, Location loc, Value matrix) {
  return createReduction(builder, loc, matrix, 0, builder.getF32FloatAttr(0.0),
                         addFloats);
}

//===----------------------------------------------------------------------===//
// Dropout
//===----------------------------------------------------------------------===//

struct DropoutLowering : OpRewritePattern<DropoutOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DropoutOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, emitDropout(rewriter, op.getLoc(), op.getInput(),
                                       op.getStep(),
                                       op.getRate().convertToDouble(),
                                       op.getSeed()));
    return success();
  }
};

} // namespace

namespace {

//===----------------------------------------------------------------------===//
// Elementwise gradients
//===----------------------------------------------------------------------===//

struct ActivationGradLowering : OpRewritePattern<ActivationGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ActivationGradOp op,
                                PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    Activation kind = op.getKind();
    rewriter.replaceOp(
        op, createElementwise(
                rewriter, op.getLoc(), type,
                {op.getInput(), op.getResultGrad()}, {},
                [&](OpBuilder &b, Location loc, ValueRange arguments) {
                  Value derivative = emitActivationDerivative(
                      b, loc, kind, extendToF32(b, loc, arguments[0]));
                  Value product = arith::MulFOp::create(
                      b, loc, derivative, extendToF32(b, loc, arguments[1]));
                  return truncateFromF32(b, loc, product,
                                         type.getElementType());
                }));
    return success();
  }
};

struct SoftmaxGradLowering : OpRewritePattern<SoftmaxGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxGradOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t rank = type.getRank(), dimension = op.getDimension();
    MLIRContext *context = rewriter.getContext();
    // s = sum_dim(dy · y); dx = y · (dy − s).
    SmallVector<AffineExpr> kept;
    for (int64_t dim = 0; dim < rank; ++dim)
      if (dim != dimension)
        kept.push_back(getAffineDimExpr(dim, context));
    AffineMap reducedMap = AffineMap::get(rank, 0, kept, context);
    Value products = createElementwise(
        rewriter, loc, RankedTensorType::get(type.getShape(),
                                             rewriter.getF32Type()),
        {op.getResult(), op.getResultGrad()}, {},
        [](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          return arith::MulFOp::create(b, nestedLoc,
                                       extendToF32(b, nestedLoc, arguments[0]),
                                       extendToF32(b, nestedLoc, arguments[1]));
        });
    Value dot = createReduction(rewriter, loc, products, dimension,
                                rewriter.getF32FloatAttr(0.0), addFloats);
    Value result = createElementwise(
        rewriter, loc, type, {op.getResult(), op.getResultGrad(), dot},
        {identityMap(context, rank), identityMap(context, rank), reducedMap},
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          Value y = extendToF32(b, nestedLoc, arguments[0]);
          Value dy = extendToF32(b, nestedLoc, arguments[1]);
          Value centered = arith::SubFOp::create(b, nestedLoc, dy, arguments[2]);
          return truncateFromF32(b, nestedLoc,
                                 arith::MulFOp::create(b, nestedLoc, y, centered),
                                 type.getElementType());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Layer norm
//===----------------------------------------------------------------------===//

struct LayerNormGradLowering : OpRewritePattern<LayerNormGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormGradOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getInput().getType();
    if (!type.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    MLIRContext *context = rewriter.getContext();
    int64_t rank = type.getRank(), width = type.getShape().back();
    double inverseWidth = 1.0 / static_cast<double>(width);
    double epsilon = op.getEpsilon().convertToDouble();
    Type elementType = type.getElementType();
    auto f32Type = RankedTensorType::get(type.getShape(), rewriter.getF32Type());

    Value input = op.getInput();
    if (Value residual = op.getResidual())
      input = createElementwise(
          rewriter, loc, type, {input, residual}, {},
          [](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
            return arith::AddFOp::create(b, nestedLoc, arguments[0],
                                         arguments[1]);
          });
    // Row statistics, as the forward lowering computes them.
    Value sum = sumRows(rewriter, loc, input, {},
                        [](OpBuilder &b, Location nestedLoc, ValueRange args) {
                          return extendToF32(b, nestedLoc, args[0]);
                        });
    Value squaredDeviationSum = sumRows(
        rewriter, loc, input, {sum},
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          Value mean = arith::MulFOp::create(
              b, nestedLoc, args[1], createF32Constant(b, nestedLoc, inverseWidth));
          Value deviation = arith::SubFOp::create(
              b, nestedLoc, extendToF32(b, nestedLoc, args[0]), mean);
          return arith::MulFOp::create(b, nestedLoc, deviation, deviation);
        });
    // x̂ = (x − mean)·rstd and rstd per element's row.
    auto normalize = [&](OpBuilder &b, Location nestedLoc, Value x,
                         Value rowSum, Value rowSquares) {
      Value inverse = createF32Constant(b, nestedLoc, inverseWidth);
      Value mean = arith::MulFOp::create(b, nestedLoc, rowSum, inverse);
      Value variance = arith::MulFOp::create(b, nestedLoc, rowSquares, inverse);
      Value rstd = math::RsqrtOp::create(
          b, nestedLoc,
          arith::AddFOp::create(b, nestedLoc, variance,
                                createF32Constant(b, nestedLoc, epsilon)));
      Value deviation = arith::SubFOp::create(
          b, nestedLoc, extendToF32(b, nestedLoc, x), mean);
      return std::pair<Value, Value>{
          arith::MulFOp::create(b, nestedLoc, deviation, rstd), rstd};
    };
    AffineMap identity = identityMap(context, rank);
    AffineMap rows = rowMap(context, rank);
    AffineMap columns = columnMap(context, rank);
    Value normalized = createElementwise(
        rewriter, loc, f32Type, {input, sum, squaredDeviationSum},
        {identity, rows, rows},
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          return normalize(b, nestedLoc, args[0], args[1], args[2]).first;
        });
    // g = dy·scale; the row means of g and g·x̂.
    Value scaledGrad = createElementwise(
        rewriter, loc, f32Type, {op.getResultGrad(), op.getScale()},
        {identity, columns},
        [](OpBuilder &b, Location nestedLoc, ValueRange args) {
          return arith::MulFOp::create(b, nestedLoc,
                                       extendToF32(b, nestedLoc, args[0]),
                                       extendToF32(b, nestedLoc, args[1]));
        });
    Value gradSum = sumRows(rewriter, loc, scaledGrad, {}, nullptr);
    Value products = createElementwise(
        rewriter, loc, f32Type, {scaledGrad, normalized}, {},
        [](OpBuilder &b, Location nestedLoc, ValueRange args) {
          return arith::MulFOp::create(b, nestedLoc, args[0], args[1]);
        });
    Value gradDotSum = sumRows(rewriter, loc, products, {}, nullptr);
    Value inputGrad = createElementwise(
        rewriter, loc, type,
        {scaledGrad, normalized, input, sum, squaredDeviationSum, gradSum,
         gradDotSum},
        {identity, identity, identity, rows, rows, rows, rows},
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          Value rstd = normalize(b, nestedLoc, args[2], args[3], args[4]).second;
          Value inverse = createF32Constant(b, nestedLoc, inverseWidth);
          Value meanGrad = arith::MulFOp::create(b, nestedLoc, args[5], inverse);
          Value meanDot = arith::MulFOp::create(b, nestedLoc, args[6], inverse);
          Value centered = arith::SubFOp::create(b, nestedLoc, args[0], meanGrad);
          Value corrected = arith::SubFOp::create(
              b, nestedLoc, centered,
              arith::MulFOp::create(b, nestedLoc, args[1], meanDot));
          return truncateFromF32(
              b, nestedLoc, arith::MulFOp::create(b, nestedLoc, rstd, corrected),
              elementType);
        });
    // dscale = Σ_rows dy·x̂, dbias = Σ_rows dy.
    Value gradTimesNormalized = createElementwise(
        rewriter, loc, f32Type, {op.getResultGrad(), normalized}, {},
        [](OpBuilder &b, Location nestedLoc, ValueRange args) {
          return arith::MulFOp::create(
              b, nestedLoc, extendToF32(b, nestedLoc, args[0]), args[1]);
        });
    Value gradF32 = createElementwise(
        rewriter, loc, f32Type, op.getResultGrad(), {},
        [](OpBuilder &b, Location nestedLoc, ValueRange args) {
          return extendToF32(b, nestedLoc, args[0]);
        });
    auto columnSum = [&](Value tensor) {
      Value sum = sumColumns(rewriter, loc,
                             collapseToMatrix(rewriter, loc, tensor));
      auto resultType = cast<RankedTensorType>(op.getScale().getType());
      return createElementwise(
          rewriter, loc, resultType, sum, {},
          [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
            return truncateFromF32(b, nestedLoc, args[0],
                                   resultType.getElementType());
          });
    };
    Value scaleGrad = rank == 1 ? gradTimesNormalized
                                : columnSum(gradTimesNormalized);
    Value biasGrad = rank == 1 ? gradF32 : columnSum(gradF32);
    rewriter.replaceOp(op, {inputGrad, scaleGrad, biasGrad});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Dense layers
//===----------------------------------------------------------------------===//

struct DenseWeightGradLowering : OpRewritePattern<DenseWeightGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DenseWeightGradOp op,
                                PatternRewriter &rewriter) const override {
    if (!isStaticF32Tensor(op.getInput().getType()) ||
        !isStaticF32Tensor(op.getResultGrad().getType()))
      return rewriter.notifyMatchFailure(op, "CPU GEMMs are f32");
    Location loc = op.getLoc();
    Value x = collapseToMatrix(rewriter, loc, op.getInput());
    Value dy = collapseToMatrix(rewriter, loc, op.getResultGrad());
    auto xType = cast<RankedTensorType>(x.getType());
    auto dyType = cast<RankedTensorType>(dy.getType());
    int64_t rows = xType.getDimSize(0), k = xType.getDimSize(1),
            n = dyType.getDimSize(1);
    // [K, N] = xᵀ·dy, or [N, K] = dyᵀ·x for a transposed weight.
    bool transposed = op.getTransposeWeight();
    Value lhs = transposed ? dy : x, rhs = transposed ? x : dy;
    int64_t m = transposed ? n : k, columns = transposed ? k : n;
    GemmShape shape;
    shape.m = m;
    shape.n = columns;
    shape.k = rows;
    GemmOperand a{lhs, 0, m, 0, 0, /*transpose=*/true};
    GemmOperand b{rhs, 0, columns, 0, 0, false};
    GemmOperand c{Value(), 0, columns, 0, 0, false};
    rewriter.replaceOp(
        op, emitRuntimeGemm(rewriter, loc, shape, a, b,
                            cast<RankedTensorType>(op.getType()), c));
    return success();
  }
};

struct SumLeadingLowering : OpRewritePattern<SumLeadingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SumLeadingOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    RankedTensorType inputType = op.getInput().getType();
    if (inputType.getRank() == 1) {
      rewriter.replaceOp(op, op.getInput());
      return success();
    }
    Value sum = createReduction(
        rewriter, loc, collapseToMatrix(rewriter, loc, op.getInput()), 0,
        rewriter.getF32FloatAttr(0.0), addFloats, {},
        [](OpBuilder &b, Location nestedLoc, ValueRange args) {
          return extendToF32(b, nestedLoc, args[0]);
        });
    rewriter.replaceOp(
        op, createElementwise(
                rewriter, loc, type, sum, {},
                [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
                  return truncateFromF32(b, nestedLoc, args[0],
                                         type.getElementType());
                }));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Scatters
//===----------------------------------------------------------------------===//

struct EmbeddingGradLowering : OpRewritePattern<EmbeddingGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingGradOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, emitScatterAddRows(rewriter, op.getLoc(), op.getResultGrad(),
                               op.getIndices(),
                               cast<RankedTensorType>(op.getType()),
                               /*keptDims=*/0));
    return success();
  }
};

struct ScatterPositionsLowering : OpRewritePattern<ScatterPositionsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScatterPositionsOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, emitScatterAddRows(rewriter, op.getLoc(), op.getInput(),
                               op.getPositions(),
                               cast<RankedTensorType>(op.getType()),
                               /*keptDims=*/1));
    return success();
  }
};

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

/// `max(sum(weights), 1)` as a 0-d f32 tensor.
Value emitWeightDenominator(OpBuilder &builder, Location loc, Value weight) {
  Value total = sumAll(builder, loc, weight);
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
    Value denominator = emitWeightDenominator(rewriter, loc, rows.weight);
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
    Value denominator = emitWeightDenominator(rewriter, loc, rows.weight);
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
  patterns.add<DropoutLowering, ActivationGradLowering, SoftmaxGradLowering,
               LayerNormGradLowering, DenseWeightGradLowering,
               SumLeadingLowering, EmbeddingGradLowering,
               ScatterPositionsLowering, CrossEntropyLowering,
               CrossEntropyGradLowering, MeanSquaredErrorLowering,
               GlobalNormLowering,
               AdamWUpdateLowering, LRScheduleLowering>(patterns.getContext());
}
