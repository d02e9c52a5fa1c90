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
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"
#include "smx/Conversion/LoweringUtils.h"
#include "smx/Dialect/Mix/IR/MixOps.h"
#include "smx/Dialect/Mix/IR/StructuredMatrices.h"
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

/// Sums each entry of a structured matrix's gradient into the parameter the
/// matrix reads there (mix.structured_params_grad): sequential loops over
/// the N² entries, since many entries share a parameter.
struct StructuredParamsGradLowering
    : OpRewritePattern<StructuredParamsGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(StructuredParamsGradOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType matrixType = op.getMatrixGrad().getType();
    auto paramsType = cast<RankedTensorType>(op.getType());
    if (!matrixType.hasStaticShape() || !paramsType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    int64_t n = matrixType.getDimSize(0);
    ParameterIndexFn parameterIndex = op.getStructure() == "circulant"
                                          ? getCirculantIndex
                                          : getToeplitzIndex;
    bool transpose = op.getTranspose();
    Value zero = indexConstant(rewriter, loc, 0);
    Value one = indexConstant(rewriter, loc, 1);
    Value size = indexConstant(rewriter, loc, n);
    Value initial = createFilledTensor(
        rewriter, loc, paramsType,
        rewriter.getFloatAttr(paramsType.getElementType(), 0.0));
    scf::LoopNest nest = scf::buildLoopNest(
        rewriter, loc, {zero, zero}, {size, size}, {one, one},
        ValueRange{initial},
        [&](OpBuilder &b, Location nestedLoc, ValueRange position,
            ValueRange running) -> scf::ValueVector {
          // The matrix was built with its rows and columns swapped when
          // transposed: entry (i, j) reads index(j, i).
          Value row = position[transpose ? 1 : 0];
          Value column = position[transpose ? 0 : 1];
          Value index = parameterIndex(b, nestedLoc, row, column, size);
          Value element = tensor::ExtractOp::create(
              b, nestedLoc, op.getMatrixGrad(), position);
          Value current =
              tensor::ExtractOp::create(b, nestedLoc, running[0], index);
          Value sum = arith::AddFOp::create(b, nestedLoc, current, element);
          return {tensor::InsertOp::create(b, nestedLoc, sum, running[0],
                                           index)
                      .getResult()};
        });
    rewriter.replaceOp(op, nest.results.front());
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

/// The head split of `[B, L, d]` hidden states, read in place: head `h` of
/// batch entry `b` is the `[L, d_h]` matrix at offset `b·L·d + h·d_h` with
/// leading dimension `d`.
struct AttentionShape {
  HiddenShape hidden;
  int64_t heads, headWidth, rowStride, scoreStride;
  AttentionShape(RankedTensorType type, int64_t heads)
      : hidden(type), heads(heads), headWidth(hidden.width / heads),
        rowStride(hidden.length * hidden.width),
        scoreStride(hidden.length * hidden.length) {}

  /// Every head of `tensor` ([B, L, d]) as a GEMM operand.
  GemmOperand heads_(Value tensor, bool transpose) const {
    return GemmOperand{tensor, 0, hidden.width, rowStride, headWidth,
                       transpose};
  }
  /// Every [L, L] matrix of a [B, H, L, L] tensor as a GEMM operand.
  GemmOperand scores(Value tensor, bool transpose) const {
    return GemmOperand{tensor, 0, hidden.length, heads * scoreStride,
                       scoreStride, transpose};
  }
  RankedTensorType scoresType(MLIRContext *context) const {
    return RankedTensorType::get(
        {hidden.batch, heads, hidden.length, hidden.length},
        Float32Type::get(context));
  }
};

/// `lhs[b, :, h] · rhs[b, :, h]ᵀ` for every (b, h): `[B, H, L, L]`.
Value emitHeadProducts(OpBuilder &builder, Location loc,
                       const AttentionShape &shape, Value lhs, Value rhs) {
  GemmShape gemm{shape.hidden.batch, shape.heads, shape.hidden.length,
                 shape.hidden.length, shape.headWidth};
  GemmOperand layout{Value(), 0, shape.hidden.length,
                     shape.heads * shape.scoreStride, shape.scoreStride, false};
  return emitRuntimeGemm(builder, loc, gemm, shape.heads_(lhs, false),
                         shape.heads_(rhs, true),
                         shape.scoresType(builder.getContext()), layout);
}

/// `scores[b, h] (ᵀ if transposeScores) · hidden[b, :, h]` for every (b, h),
/// written as heads of a `[B, L, d]` tensor of `type`.
Value emitScoresTimesHeads(OpBuilder &builder, Location loc,
                           const AttentionShape &shape, Value scores,
                           bool transposeScores, Value hidden,
                           RankedTensorType type) {
  GemmShape gemm{shape.hidden.batch, shape.heads, shape.hidden.length,
                 shape.headWidth, shape.hidden.length};
  GemmOperand layout{Value(), 0, shape.hidden.width, shape.rowStride,
                     shape.headWidth, false};
  return emitRuntimeGemm(builder, loc, gemm,
                         shape.scores(scores, transposeScores),
                         shape.heads_(hidden, false), type, layout);
}

/// `P = softmax(Q·Kᵀ / sqrt(d_h) + M)` per head, pad keys masked with a large
/// finite negative: a sequence of padding only then attends uniformly
/// instead of producing NaNs.
Value emitAttentionProbabilities(OpBuilder &builder, Location loc,
                                 const AttentionShape &shape, Value query,
                                 Value key, Value paddingMask) {
  MLIRContext *context = builder.getContext();
  Value scores = emitHeadProducts(builder, loc, shape, query, key);
  double scale = 1.0 / std::sqrt(static_cast<double>(shape.headWidth));
  AffineMap keyMaskMap = AffineMap::get(
      4, 0, {getAffineDimExpr(0, context), getAffineDimExpr(3, context)},
      context);
  Value masked = createElementwise(
      builder, loc, shape.scoresType(context), {scores, paddingMask},
      {AffineMap::getMultiDimIdentityMap(4, context), keyMaskMap},
      [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        Value scaled = arith::MulFOp::create(
            b, nestedLoc, arguments[0], createF32Constant(b, nestedLoc, scale));
        return arith::SelectOp::create(b, nestedLoc, arguments[1], scaled,
                                       createF32Constant(b, nestedLoc, -1e9));
      });
  return emitSoftmax(builder, loc, masked, 3);
}

struct SelfAttentionLowering : OpRewritePattern<SelfAttentionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SelfAttentionOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType type = op.getQuery().getType();
    if (!isStaticF32Tensor(type))
      return rewriter.notifyMatchFailure(op, "needs static f32 shapes");
    Location loc = op.getLoc();
    AttentionShape shape(type, op.getNumHeads());
    Value probabilities = emitAttentionProbabilities(
        rewriter, loc, shape, op.getQuery(), op.getKey(), op.getPaddingMask());
    if (op.hasTrainingNoise())
      probabilities = emitDropout(rewriter, loc, probabilities, op.getStep(),
                                  op.getDropoutRate().convertToDouble(),
                                  op.getSeed());
    rewriter.replaceOp(op, emitScoresTimesHeads(rewriter, loc, shape,
                                                probabilities, false,
                                                op.getValue(), type));
    return success();
  }
};

struct SelfAttentionGradLowering : OpRewritePattern<SelfAttentionGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SelfAttentionGradOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType type = op.getQuery().getType();
    if (!isStaticF32Tensor(type))
      return rewriter.notifyMatchFailure(op, "needs static f32 shapes");
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    AttentionShape shape(type, op.getNumHeads());
    double rate = op.getDropoutRate().convertToDouble();
    auto dropout = [&](Value scores) {
      return rate > 0.0 ? emitDropout(rewriter, loc, scores, op.getStep(),
                                      rate, op.getSeed())
                        : scores;
    };
    Value probabilities = emitAttentionProbabilities(
        rewriter, loc, shape, op.getQuery(), op.getKey(), op.getPaddingMask());
    Value dropped = dropout(probabilities);
    Value resultGrad = op.getResultGrad();
    // dV = P'ᵀ · dO; dP = dropout(dO · Vᵀ).
    Value valueGrad = emitScoresTimesHeads(rewriter, loc, shape, dropped,
                                           /*transposeScores=*/true,
                                           resultGrad, type);
    Value probabilitiesGrad = dropout(
        emitHeadProducts(rewriter, loc, shape, resultGrad, op.getValue()));
    // dS = P ⊙ (dP − rowsum(dP ⊙ P)) / sqrt(d_h), the softmax's gradient and
    // the score scale in one pass.
    RankedTensorType scoresType = shape.scoresType(context);
    Value products = createElementwise(
        rewriter, loc, scoresType, {probabilities, probabilitiesGrad}, {},
        [](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          return arith::MulFOp::create(b, nestedLoc, arguments[0],
                                       arguments[1]);
        });
    Value rowSums = createReduction(rewriter, loc, products, 3,
                                    rewriter.getF32FloatAttr(0.0), addFloats);
    double scale = 1.0 / std::sqrt(static_cast<double>(shape.headWidth));
    AffineMap identity = AffineMap::getMultiDimIdentityMap(4, context);
    Value scoresGrad = createElementwise(
        rewriter, loc, scoresType, {probabilities, probabilitiesGrad, rowSums},
        {identity, identity, getLeadingDimsMap(context, 4, 3)},
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          Value centered =
              arith::SubFOp::create(b, nestedLoc, arguments[1], arguments[2]);
          Value softmaxGrad =
              arith::MulFOp::create(b, nestedLoc, arguments[0], centered);
          return arith::MulFOp::create(b, nestedLoc, softmaxGrad,
                                       createF32Constant(b, nestedLoc, scale));
        });
    // dQ = dS · K, dK = dSᵀ · Q.
    Value queryGrad = emitScoresTimesHeads(rewriter, loc, shape, scoresGrad,
                                           false, op.getKey(), type);
    Value keyGrad = emitScoresTimesHeads(rewriter, loc, shape, scoresGrad, true,
                                         op.getQuery(), type);
    rewriter.replaceOp(op, {queryGrad, keyGrad, valueGrad});
    return success();
  }
};

} // namespace

void mlir::smx::populateMixToLinalgPatterns(RewritePatternSet &patterns) {
  MLIRContext *context = patterns.getContext();
  patterns.add<LinearLowering, LinearGradLowering, SelfAttentionLowering,
               SelfAttentionGradLowering, StructuredParamsGradLowering>(
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
