//===- MixToLinalg.cpp - token mixing to runtime GEMMs and linalg ---------===//
//
// Every mixing op is a few GEMMs on the runtime's BLAS, addressed with
// offsets and strides straight into the [B, L, d] buffers, so no transpose
// or head split is ever materialized.
//
//===----------------------------------------------------------------------===//

#include "smx/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"
#include "smx/Conversion/LoweringUtils.h"
#include "smx/Dialect/Mix/IR/MixOps.h"
#include <cmath>

namespace mlir::smx {
#define GEN_PASS_DEF_CONVERTMIXTOLINALGPASS
#include "smx/Conversion/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;
using namespace mlir::mix;

namespace {

struct HiddenShape {
  int64_t batch, length, width;
  explicit HiddenShape(RankedTensorType type)
      : batch(type.getDimSize(0)), length(type.getDimSize(1)),
        width(type.getDimSize(2)) {}
};

/// `W_seq · X[b]` (or `W_seqᵀ · X[b]` with `transposeSeq`) for every batch
/// entry, `X` being `[B·L, d]` or `[B, L, d]`; `accumulator`, when given, is
/// added.
Value emitSequenceMixing(OpBuilder &builder, Location loc, Value seqMatrix,
                         Value hidden, HiddenShape shape,
                         RankedTensorType resultType,
                         Value accumulator = nullptr,
                         bool transposeSeq = false) {
  GemmShape gemm{shape.batch, 1, shape.length, shape.width, shape.length};
  int64_t stride = shape.length * shape.width;
  GemmOperand a{seqMatrix, 0, shape.length, 0, 0, transposeSeq};
  GemmOperand b{hidden, 0, shape.width, stride, 0, false};
  GemmOperand c{Value(), 0, shape.width, stride, 0, false};
  return emitRuntimeGemm(builder, loc, gemm, a, b, resultType, c,
                         accumulator);
}

struct LinearLowering : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType type = op.getInput().getType();
    if (!isStaticF32Tensor(type))
      return rewriter.notifyMatchFailure(op, "needs static f32 shapes");
    Location loc = op.getLoc();
    Value hiddenMixed =
        emitMatmul(rewriter, loc, collapseToMatrix(rewriter, loc, op.getInput()),
                   op.getHiddenWeight(), /*transposeWeight=*/false);
    rewriter.replaceOp(op, emitSequenceMixing(rewriter, loc, op.getSeqWeight(),
                                              hiddenMixed, HiddenShape(type),
                                              type));
    return success();
  }
};

/// The three gradients of `Y[b] = W_seq · X[b] · W_hid` (mix.linear_grad).
struct LinearGradLowering : OpRewritePattern<LinearGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinearGradOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType type = op.getInput().getType();
    if (!isStaticF32Tensor(type))
      return rewriter.notifyMatchFailure(op, "needs static f32 shapes");
    Location loc = op.getLoc();
    HiddenShape shape(type);
    int64_t rows = shape.batch * shape.length;
    int64_t stride = shape.length * shape.width;
    auto matrixType =
        RankedTensorType::get({rows, shape.width}, rewriter.getF32Type());
    Value grad = collapseToMatrix(rewriter, loc, op.getResultGrad());
    Value input = collapseToMatrix(rewriter, loc, op.getInput());

    // dX[b] = W_seqᵀ · (G[b] · W_hidᵀ).
    Value gradHidden = emitMatmul(rewriter, loc, grad, op.getHiddenWeight(),
                                  /*transposeWeight=*/true);
    Value inputGrad =
        emitSequenceMixing(rewriter, loc, op.getSeqWeight(), gradHidden, shape,
                           type, /*accumulator=*/nullptr, /*transposeSeq=*/true);

    // dW_hid = Σ_b (W_seq · X[b])ᵀ · G[b]: one GEMM over all rows.
    Value seqMixed = emitSequenceMixing(rewriter, loc, op.getSeqWeight(), input,
                                        shape, matrixType);
    GemmShape hiddenGemm;
    hiddenGemm.m = shape.width;
    hiddenGemm.n = shape.width;
    hiddenGemm.k = rows;
    GemmOperand mixedT{seqMixed, 0, shape.width, 0, 0, /*transpose=*/true};
    GemmOperand gradRows{grad, 0, shape.width, 0, 0, false};
    GemmOperand square{Value(), 0, shape.width, 0, 0, false};
    Value hiddenGrad =
        emitRuntimeGemm(rewriter, loc, hiddenGemm, mixedT, gradRows,
                        op.getHiddenWeight().getType(), square);

    // dW_seq = Σ_b G[b] · (X[b] · W_hid)ᵀ: a batch of GEMMs adding into one
    // [L, L] result.
    Value hiddenMixed = emitMatmul(rewriter, loc, input, op.getHiddenWeight(),
                                   /*transposeWeight=*/false);
    GemmShape seqGemm{shape.batch, 1, shape.length, shape.length, shape.width};
    GemmOperand gradBatch{grad, 0, shape.width, stride, 0, false};
    GemmOperand mixedBatchT{hiddenMixed, 0, shape.width, stride, 0,
                            /*transpose=*/true};
    GemmOperand shared{Value(), 0, shape.length, 0, 0, false};
    auto seqType = op.getSeqWeight().getType();
    Value zeros = createFilledTensor(rewriter, loc, seqType,
                                     rewriter.getF32FloatAttr(0.0));
    Value seqGrad = emitRuntimeGemm(rewriter, loc, seqGemm, gradBatch,
                                    mixedBatchT, seqType, shared, zeros);
    rewriter.replaceOp(op, {inputGrad, seqGrad, hiddenGrad});
    return success();
  }
};

/// The `n`×`n` matrix `cosineScale·cos(θ) + sineScale·sin(θ)` with
/// `θ[j, k] = 2π·(j·k mod n)/n` (the reduction keeps θ small, so f32 is
/// exact to rounding at any n).
Value generateDftMatrix(OpBuilder &builder, Location loc, int64_t n,
                        double cosineScale, double sineScale) {
  auto type = RankedTensorType::get({n, n}, builder.getF32Type());
  return tensor::GenerateOp::create(
      builder, loc, type, ValueRange(),
      [&](OpBuilder &b, Location nestedLoc, ValueRange indices) {
        Value product = arith::MulIOp::create(b, nestedLoc, indices[0],
                                              indices[1]);
        Value reduced = arith::RemUIOp::create(
            b, nestedLoc, product,
            arith::ConstantIndexOp::create(b, nestedLoc, n));
        Value asInteger = arith::IndexCastOp::create(b, nestedLoc,
                                                     b.getI64Type(), reduced);
        Value asFloat =
            arith::SIToFPOp::create(b, nestedLoc, b.getF64Type(), asInteger);
        Value angle = arith::MulFOp::create(
            b, nestedLoc, asFloat,
            arith::ConstantOp::create(b, nestedLoc,
                                      b.getF64FloatAttr(2.0 * M_PI / n)));
        auto scaled = [&](Value value, double scale) {
          return arith::MulFOp::create(
              b, nestedLoc, value,
              arith::ConstantOp::create(b, nestedLoc, b.getF64FloatAttr(scale)));
        };
        // One statement per op: C++ leaves the order of evaluation of call
        // arguments unspecified, and the IR should not depend on it.
        Value cosine = scaled(math::CosOp::create(b, nestedLoc, angle),
                              cosineScale);
        Value sine =
            scaled(math::SinOp::create(b, nestedLoc, angle), sineScale);
        Value combined = arith::AddFOp::create(b, nestedLoc, cosine, sine);
        tensor::YieldOp::create(
            b, nestedLoc,
            arith::TruncFOp::create(b, nestedLoc, b.getF32Type(), combined));
      });
}

/// Fourier and Hartley mixing as real DFTs by GEMM. With `A = X · C_d` and
/// `B = X · S_d`: `result = P · A + Q · B`, where `P`, `Q` combine `C_L`,
/// `S_L` with the given coefficients.
template <typename TransformOp>
struct RealDftLowering : OpRewritePattern<TransformOp> {
  RealDftLowering(MLIRContext *context, std::pair<double, double> cosineTerm,
                  std::pair<double, double> sineTerm)
      : OpRewritePattern<TransformOp>(context), cosineTerm(cosineTerm),
        sineTerm(sineTerm) {}

  LogicalResult matchAndRewrite(TransformOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType type = op.getInput().getType();
    if (!isStaticF32Tensor(type))
      return rewriter.notifyMatchFailure(op, "needs static f32 shapes");
    Location loc = op.getLoc();
    HiddenShape shape(type);
    Value tokens = collapseToMatrix(rewriter, loc, op.getInput());
    Value cosineHidden = emitMatmul(
        rewriter, loc, tokens,
        generateDftMatrix(rewriter, loc, shape.width, 1.0, 0.0), false);
    Value sineHidden = emitMatmul(
        rewriter, loc, tokens,
        generateDftMatrix(rewriter, loc, shape.width, 0.0, 1.0), false);
    Value first = emitSequenceMixing(
        rewriter, loc,
        generateDftMatrix(rewriter, loc, shape.length, cosineTerm.first,
                          cosineTerm.second),
        cosineHidden, shape, type);
    Value result = emitSequenceMixing(
        rewriter, loc,
        generateDftMatrix(rewriter, loc, shape.length, sineTerm.first,
                          sineTerm.second),
        sineHidden, shape, type, first);
    rewriter.replaceOp(op, result);
    return success();
  }

  /// (cos, sin) coefficients of the sequence matrices applied to A and B.
  std::pair<double, double> cosineTerm, sineTerm;
};

struct SelfAttentionLowering : OpRewritePattern<SelfAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SelfAttentionOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType type = op.getQuery().getType();
    if (!isStaticF32Tensor(type))
      return rewriter.notifyMatchFailure(op, "needs static f32 shapes");
    if (op.hasTrainingNoise())
      return op.emitOpError()
             << "has attention dropout; lower it with the training pipeline "
                "or run smx-strip-training-noise first";
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    HiddenShape shape(type);
    int64_t heads = op.getNumHeads();
    int64_t headWidth = shape.width / heads;
    int64_t rowStride = shape.length * shape.width;
    int64_t scoreStride = shape.length * shape.length;

    // scores[b, h] = Q[b, :, h] · K[b, :, h]ᵀ
    auto scoresType = RankedTensorType::get(
        {shape.batch, heads, shape.length, shape.length}, rewriter.getF32Type());
    GemmShape scoresGemm{shape.batch, heads, shape.length, shape.length,
                         headWidth};
    GemmOperand query{op.getQuery(), 0, shape.width, rowStride, headWidth,
                      false};
    GemmOperand key{op.getKey(), 0, shape.width, rowStride, headWidth, true};
    GemmOperand scoresLayout{Value(), 0, shape.length, heads * scoreStride,
                             scoreStride, false};
    Value scores = emitRuntimeGemm(rewriter, loc, scoresGemm, query, key,
                                   scoresType, scoresLayout);

    // Scale, and mask pad keys with a large finite negative: a sequence of
    // padding only then attends uniformly instead of producing NaNs.
    double scale = 1.0 / std::sqrt(static_cast<double>(headWidth));
    AffineMap keyMaskMap = AffineMap::get(
        4, 0, {getAffineDimExpr(0, context), getAffineDimExpr(3, context)},
        context);
    Value masked = createElementwise(
        rewriter, loc, scoresType, {scores, op.getPaddingMask()},
        {AffineMap::getMultiDimIdentityMap(4, context), keyMaskMap},
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          Value scaled = arith::MulFOp::create(
              b, nestedLoc, arguments[0], createF32Constant(b, nestedLoc, scale));
          return arith::SelectOp::create(b, nestedLoc, arguments[1], scaled,
                                         createF32Constant(b, nestedLoc, -1e9));
        });
    Value probabilities = emitSoftmax(rewriter, loc, masked, 3);

    // out[b, :, h] = P[b, h] · V[b, :, h]
    GemmShape outputGemm{shape.batch, heads, shape.length, headWidth,
                         shape.length};
    GemmOperand probabilityOperand{probabilities, 0, shape.length,
                                   heads * scoreStride, scoreStride, false};
    GemmOperand value{op.getValue(), 0, shape.width, rowStride, headWidth,
                      false};
    GemmOperand outputLayout{Value(), 0, shape.width, rowStride, headWidth,
                             false};
    rewriter.replaceOp(op, emitRuntimeGemm(rewriter, loc, outputGemm,
                                           probabilityOperand, value, type,
                                           outputLayout));
    return success();
  }
};

} // namespace

void mlir::smx::populateMixToLinalgPatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  patterns.add<LinearLowering, LinearGradLowering, SelfAttentionLowering>(
      context);
  // Fourier: C_L·A − S_L·B. Hartley: (C_L + S_L)·A + (C_L − S_L)·B.
  patterns.add<RealDftLowering<FourierOp>>(context, std::make_pair(1.0, 0.0),
                                           std::make_pair(0.0, -1.0));
  patterns.add<RealDftLowering<HartleyOp>>(context, std::make_pair(1.0, 1.0),
                                           std::make_pair(1.0, -1.0));
}

namespace {
struct ConvertMixToLinalgPass
    : public smx::impl::ConvertMixToLinalgPassBase<ConvertMixToLinalgPass> {
  void runOnOperation() override {
    if (failed(verifyStaticShapes(getOperation(), "mix", "convert-mix-to-linalg")))
      return signalPassFailure();
    ConversionTarget target(getContext());
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    target.addIllegalDialect<MixDialect>();
    RewritePatternSet patterns(&getContext());
    populateMixToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
