//===- SmxToLinalg.cpp - smx ops to linalg and runtime GEMMs --------------===//
//
// Dense layers become runtime GEMM calls with their bias as an elementwise
// epilogue (fused later with the activation); gathers, normalization,
// activations and softmax become linalg.generic ops. Statistics accumulate
// in f32 whatever the element type.
//
//===----------------------------------------------------------------------===//

#include "smx/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"
#include "smx/Conversion/LoweringUtils.h"
#include "smx/Dialect/Smx/IR/SmxOps.h"

namespace mlir::smx {
#define GEN_PASS_DEF_CONVERTSMXTOLINALGPASS
#include "smx/Conversion/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

namespace {

/// The element of a gathered row: `table[index(row), column]`.
Value extractRowElement(OpBuilder &builder, Location loc, Value table,
                        Value rowIndex, ValueRange otherIndices) {
  Value row = arith::IndexCastOp::create(builder, loc, builder.getIndexType(),
                                         rowIndex);
  SmallVector<Value> indices = {row};
  indices.append(otherIndices.begin(), otherIndices.end());
  return tensor::ExtractOp::create(builder, loc, table, indices);
}

struct EmbeddingLookupLowering : OpRewritePattern<EmbeddingLookupOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(EmbeddingLookupOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(op.getType());
    int64_t rank = resultType.getRank();
    MLIRContext *context = rewriter.getContext();
    Value result = createElementwise(
        rewriter, loc, resultType, op.getIndices(),
        getLeadingDimsMap(context, rank, rank - 1),
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          Value column = linalg::IndexOp::create(b, nestedLoc, rank - 1);
          return extractRowElement(b, nestedLoc, op.getTable(), arguments[0],
                                   column);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct DenseLowering : OpRewritePattern<DenseOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DenseOp op,
                                PatternRewriter &rewriter) const override {
    if (!isStaticF32Tensor(op.getInput().getType()))
      return rewriter.notifyMatchFailure(op, "CPU GEMMs are f32");
    Location loc = op.getLoc();
    Value matrix = collapseToMatrix(rewriter, loc, op.getInput());
    Value product = emitMatmul(rewriter, loc, matrix, op.getWeight(),
                               op.getTransposeWeight());
    std::optional<Activation> activation = op.getActivation();
    if (Value bias = op.getBias())
      product = emitBiasAdd(rewriter, loc, product, bias);
    if (activation) {
      // Elementwise fusion merges this with the bias epilogue.
      product = createElementwise(
          rewriter, loc, cast<RankedTensorType>(product.getType()), product,
          {}, [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
            return emitActivation(b, nestedLoc, *activation, arguments[0]);
          });
    }
    rewriter.replaceOp(op, expandFromMatrix(rewriter, loc, product,
                                            cast<RankedTensorType>(op.getType())));
    return success();
  }
};

struct LayerNormLowering : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getInput().getType();
    int64_t rank = type.getRank(), width = type.getShape().back();
    if (ShapedType::isDynamic(width))
      return rewriter.notifyMatchFailure(op, "needs a static width");
    Type elementType = type.getElementType();
    Attribute zero = rewriter.getF32FloatAttr(0.0);
    double inverseWidth = 1.0 / static_cast<double>(width);
    Value input = op.getInput();
    // A fused residual add: elementwise fusion folds the sum into the
    // reductions and the normalization, so it is never stored.
    if (Value residual = op.getResidual())
      input = createElementwise(
          rewriter, loc, type, {input, residual}, {},
          [](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
            return arith::AddFOp::create(b, nestedLoc, arguments[0],
                                         arguments[1]);
          });
    Value sum = createReduction(
        rewriter, loc, input, rank - 1, zero, addFloats, {},
        [](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          return extendToF32(b, nestedLoc, arguments[0]);
        });
    // Two passes (mean, then squared deviations): the one-pass formula
    // loses precision when |mean| >> std.
    Value squaredDeviationSum = createReduction(
        rewriter, loc, input, rank - 1, zero, addFloats, {sum},
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          Value mean =
              arith::MulFOp::create(b, nestedLoc, arguments[1],
                                    createF32Constant(b, nestedLoc, inverseWidth));
          Value deviation = arith::SubFOp::create(
              b, nestedLoc, extendToF32(b, nestedLoc, arguments[0]), mean);
          return arith::MulFOp::create(b, nestedLoc, deviation, deviation);
        });
    MLIRContext *context = rewriter.getContext();
    double epsilon = op.getEpsilon().convertToDouble();
    Value result = createElementwise(
        rewriter, loc, type,
        {input, sum, squaredDeviationSum, op.getScale(), op.getBias()},
        {AffineMap::getMultiDimIdentityMap(rank, context),
         getLeadingDimsMap(context, rank, rank - 1),
         getLeadingDimsMap(context, rank, rank - 1),
         getTrailingDimsMap(context, rank, 1),
         getTrailingDimsMap(context, rank, 1)},
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          Value inverse = createF32Constant(b, nestedLoc, inverseWidth);
          Value mean = arith::MulFOp::create(b, nestedLoc, arguments[1], inverse);
          Value variance =
              arith::MulFOp::create(b, nestedLoc, arguments[2], inverse);
          Value deviation = arith::SubFOp::create(
              b, nestedLoc, extendToF32(b, nestedLoc, arguments[0]), mean);
          Value invStd = math::RsqrtOp::create(
              b, nestedLoc,
              arith::AddFOp::create(b, nestedLoc, variance,
                                    createF32Constant(b, nestedLoc, epsilon)));
          Value normalized =
              arith::MulFOp::create(b, nestedLoc, deviation, invStd);
          Value scaled = arith::MulFOp::create(
              b, nestedLoc, normalized, extendToF32(b, nestedLoc, arguments[3]));
          Value shifted = arith::AddFOp::create(
              b, nestedLoc, scaled, extendToF32(b, nestedLoc, arguments[4]));
          return truncateFromF32(b, nestedLoc, shifted, elementType);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

namespace {

struct ActivationLowering : OpRewritePattern<ActivationOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ActivationOp op,
                                PatternRewriter &rewriter) const override {
    Activation kind = op.getKind();
    rewriter.replaceOp(
        op, createElementwise(
                rewriter, op.getLoc(), cast<RankedTensorType>(op.getType()),
                op.getInput(), {},
                [&](OpBuilder &b, Location loc, ValueRange arguments) {
                  return emitActivation(b, loc, kind, arguments[0]);
                }));
    return success();
  }
};

struct ResidualAddLowering : OpRewritePattern<ResidualAddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ResidualAddOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, createElementwise(
                rewriter, op.getLoc(), cast<RankedTensorType>(op.getType()),
                {op.getInput(), op.getResidual()}, {},
                [](OpBuilder &b, Location loc, ValueRange arguments) {
                  return arith::AddFOp::create(b, loc, arguments[0],
                                               arguments[1]);
                }));
    return success();
  }
};

struct SoftmaxLowering : OpRewritePattern<SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxOp op,
                                PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, emitSoftmax(rewriter, op.getLoc(), op.getInput(),
                                       op.getDimension()));
    return success();
  }
};

struct GatherPositionsLowering : OpRewritePattern<GatherPositionsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherPositionsOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    Value result = createElementwise(
        rewriter, loc, cast<RankedTensorType>(op.getType()), op.getPositions(),
        getLeadingDimsMap(context, 3, 2),
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          Value batch = linalg::IndexOp::create(b, nestedLoc, 0);
          Value column = linalg::IndexOp::create(b, nestedLoc, 2);
          Value position = arith::IndexCastOp::create(
              b, nestedLoc, b.getIndexType(), arguments[0]);
          return tensor::ExtractOp::create(b, nestedLoc, op.getInput(),
                                           ValueRange{batch, position, column});
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::smx::populateSmxToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<EmbeddingLookupLowering, DenseLowering, LayerNormLowering,
               ActivationLowering, ResidualAddLowering, SoftmaxLowering,
               GatherPositionsLowering>(patterns.getContext());
  populateSmxTrainingToLinalgPatterns(patterns);
}

namespace {
struct ConvertSmxToLinalgPass
    : public smx::impl::ConvertSmxToLinalgPassBase<ConvertSmxToLinalgPass> {
  void runOnOperation() override {
    if (failed(verifyStaticShapes(getOperation(), "smx", "convert-smx-to-linalg")))
      return signalPassFailure();
    ConversionTarget target(getContext());
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    target.addIllegalDialect<SmxDialect>();
    // Collectives, lowered with the grid's others by
    // convert-shard-to-runtime.
    target.addLegalOp<AllReduceStartOp, AllReduceWaitOp>();
    RewritePatternSet patterns(&getContext());
    populateSmxToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
