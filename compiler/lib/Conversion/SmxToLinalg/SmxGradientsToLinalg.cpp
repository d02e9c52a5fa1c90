//===- SmxGradientsToLinalg.cpp - the smx gradient ops to CPU code --------===//
//
// The gradient ops of the smx layers (activation, softmax, layer norm,
// dense, embeddings), lowered like the forward ops: GEMMs on the runtime's
// BLAS, everything else as linalg.generic, scatter-adds as sequential loops.
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

using namespace mlir;
using namespace mlir::smx;

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
        op,
        createElementwise(
            rewriter, op.getLoc(), type, {op.getInput(), op.getResultGrad()},
            {}, [&](OpBuilder &b, Location loc, ValueRange arguments) {
              Value derivative = emitActivationDerivative(
                  b, loc, kind, extendToF32(b, loc, arguments[0]));
              Value product = arith::MulFOp::create(
                  b, loc, derivative, extendToF32(b, loc, arguments[1]));
              return truncateFromF32(b, loc, product, type.getElementType());
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
        rewriter, loc,
        RankedTensorType::get(type.getShape(), rewriter.getF32Type()),
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
          Value centered =
              arith::SubFOp::create(b, nestedLoc, dy, arguments[2]);
          return truncateFromF32(
              b, nestedLoc, arith::MulFOp::create(b, nestedLoc, y, centered),
              type.getElementType());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Layer norm
//===----------------------------------------------------------------------===//

/// dscale = Σ_rows dy·x̂ and dbias = Σ_rows dy of a layer norm with
/// parameters of `parameterType`, from dy and x̂ (f32).
std::pair<Value, Value>
emitLayerNormParameterGrads(OpBuilder &builder, Location loc, Value resultGrad,
                            Value normalized, RankedTensorType parameterType) {
  auto f32Type = cast<RankedTensorType>(normalized.getType());
  Value gradTimesNormalized = createElementwise(
      builder, loc, f32Type, {resultGrad, normalized}, {},
      [](OpBuilder &b, Location nestedLoc, ValueRange args) {
        return arith::MulFOp::create(
            b, nestedLoc, extendToF32(b, nestedLoc, args[0]), args[1]);
      });
  Value gradF32 =
      createElementwise(builder, loc, f32Type, resultGrad, {},
                        [](OpBuilder &b, Location nestedLoc, ValueRange args) {
                          return extendToF32(b, nestedLoc, args[0]);
                        });
  if (f32Type.getRank() == 1)
    return {gradTimesNormalized, gradF32};
  auto columnSum = [&](Value tensor) {
    Value sum =
        sumColumns(builder, loc, collapseToMatrix(builder, loc, tensor));
    return createElementwise(
        builder, loc, parameterType, sum, {},
        [&](OpBuilder &b, Location nestedLoc, ValueRange args) {
          return truncateFromF32(b, nestedLoc, args[0],
                                 parameterType.getElementType());
        });
  };
  return {columnSum(gradTimesNormalized), columnSum(gradF32)};
}

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
    auto f32Type =
        RankedTensorType::get(type.getShape(), rewriter.getF32Type());

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
              b, nestedLoc, args[1],
              createF32Constant(b, nestedLoc, inverseWidth));
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
          Value rstd =
              normalize(b, nestedLoc, args[2], args[3], args[4]).second;
          Value inverse = createF32Constant(b, nestedLoc, inverseWidth);
          Value meanGrad =
              arith::MulFOp::create(b, nestedLoc, args[5], inverse);
          Value meanDot = arith::MulFOp::create(b, nestedLoc, args[6], inverse);
          Value centered =
              arith::SubFOp::create(b, nestedLoc, args[0], meanGrad);
          Value corrected = arith::SubFOp::create(
              b, nestedLoc, centered,
              arith::MulFOp::create(b, nestedLoc, args[1], meanDot));
          return truncateFromF32(
              b, nestedLoc,
              arith::MulFOp::create(b, nestedLoc, rstd, corrected),
              elementType);
        });
    auto [scaleGrad, biasGrad] = emitLayerNormParameterGrads(
        rewriter, loc, op.getResultGrad(), normalized,
        cast<RankedTensorType>(op.getScale().getType()));
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
    rewriter.replaceOp(op, emitRuntimeGemm(rewriter, loc, shape, a, b,
                                           cast<RankedTensorType>(op.getType()),
                                           c));
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
    rewriter.replaceOp(op,
                       emitScatterAddRows(rewriter, op.getLoc(),
                                          op.getResultGrad(), op.getIndices(),
                                          cast<RankedTensorType>(op.getType()),
                                          /*keptDims=*/0));
    return success();
  }
};

struct ScatterPositionsLowering : OpRewritePattern<ScatterPositionsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScatterPositionsOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op,
                       emitScatterAddRows(rewriter, op.getLoc(), op.getInput(),
                                          op.getPositions(),
                                          cast<RankedTensorType>(op.getType()),
                                          /*keptDims=*/1));
    return success();
  }
};

} // namespace

void mlir::smx::populateSmxGradientsToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns
      .add<ActivationGradLowering, SoftmaxGradLowering, LayerNormGradLowering,
           DenseWeightGradLowering, SumLeadingLowering, EmbeddingGradLowering,
           ScatterPositionsLowering>(patterns.getContext());
}
