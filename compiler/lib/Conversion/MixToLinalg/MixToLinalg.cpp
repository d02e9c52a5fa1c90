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

// Attention runs one batch entry at a time: a loop over the batch computes
// each entry's `[H, L, L]` scores, softmax and products, so the `[B, H, L, L]`
// scores of the whole batch never exist. What is live is one example's
// scores (H·L² floats: 12 MiB for BERT-Base at L = 512, against 96 MiB for
// a batch of 8), a block that stays in cache between the GEMM that writes
// it and the softmax that reads it. The GEMMs read the heads of the
// `[B, L, d]` projections in place, at the entry's offset.

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

  /// The heads of one batch entry of `tensor` ([B, L, d]) as a GEMM
  /// operand; `entryOffset` (i64) is the entry's first element, `b·L·d`.
  GemmOperand entryHeads(Value tensor, Value entryOffset,
                         bool transpose) const {
    return GemmOperand{tensor,    0,         hidden.width, 0,
                       headWidth, transpose, entryOffset};
  }
  /// Every [L, L] matrix of one entry's [H, L, L] scores as a GEMM operand.
  GemmOperand scores(Value tensor, bool transpose) const {
    return GemmOperand{tensor, 0, hidden.length, 0, scoreStride, transpose};
  }
  RankedTensorType scoresType(MLIRContext *context) const {
    return RankedTensorType::get({heads, hidden.length, hidden.length},
                                 Float32Type::get(context));
  }
  /// One batch entry of the hidden states: `[1, L, d]`.
  RankedTensorType entryType(MLIRContext *context) const {
    return RankedTensorType::get({1, hidden.length, hidden.width},
                                 Float32Type::get(context));
  }
};

/// Batch entry `index` of the loop over the batch, as the offsets its
/// blocks start at.
struct BatchEntry {
  Value index;         // b
  Value hiddenOffset;  // b·L·d, i64: the entry in a [B, L, d] tensor
  Value scoresOffset;  // b·H·L², index: the entry in [B, H, L, L]
};

/// `for b in [0, B)` over the batch, carrying `results` tensors of `type`
/// ([B, L, d]): `body` returns the entry's `[1, L, d]` block of each, which
/// is inserted at row `b`. Returns the filled tensors.
SmallVector<Value> emitLoopOverBatch(
    OpBuilder &builder, Location loc, const AttentionShape &shape,
    RankedTensorType type, unsigned results,
    function_ref<SmallVector<Value>(OpBuilder &, const BatchEntry &)> body) {
  SmallVector<Value> inits;
  for (unsigned result = 0; result < results; ++result)
    inits.push_back(createEmptyTensor(builder, loc, type));
  // The body is built once the loop is in its function: the runtime calls
  // in it declare their callees in the module.
  auto loop = scf::ForOp::create(
      builder, loc, indexConstant(builder, loc, 0),
      indexConstant(builder, loc, shape.hidden.batch),
      indexConstant(builder, loc, 1), inits,
      [](OpBuilder &, Location, Value, ValueRange) {});
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(loop.getBody());
  BatchEntry entry;
  entry.index = loop.getInductionVar();
  Value position = arith::IndexCastOp::create(builder, loc,
                                              builder.getI64Type(), entry.index);
  entry.hiddenOffset = arith::MulIOp::create(
      builder, loc, position, createI64Constant(builder, loc, shape.rowStride));
  entry.scoresOffset = arith::MulIOp::create(
      builder, loc, entry.index,
      indexConstant(builder, loc, shape.heads * shape.scoreStride));
  SmallVector<Value> blocks = body(builder, entry);
  SmallVector<OpFoldResult> offsets = {entry.index, builder.getIndexAttr(0),
                                       builder.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {builder.getIndexAttr(1),
                                     builder.getIndexAttr(shape.hidden.length),
                                     builder.getIndexAttr(shape.hidden.width)};
  SmallVector<OpFoldResult> strides(3, builder.getIndexAttr(1));
  SmallVector<Value> updated;
  for (auto [block, tensor] : llvm::zip_equal(blocks, loop.getRegionIterArgs()))
    updated.push_back(tensor::InsertSliceOp::create(builder, loc, block, tensor,
                                                    offsets, sizes, strides));
  scf::YieldOp::create(builder, loc, updated);
  return SmallVector<Value>(loop.getResults());
}

/// `lhs[b, :, h] · rhs[b, :, h]ᵀ` for every head h of entry b: `[H, L, L]`.
Value emitHeadProducts(OpBuilder &builder, Location loc,
                       const AttentionShape &shape, const BatchEntry &entry,
                       Value lhs, Value rhs) {
  GemmShape gemm{1, shape.heads, shape.hidden.length, shape.hidden.length,
                 shape.headWidth};
  GemmOperand layout{Value(), 0, shape.hidden.length, 0, shape.scoreStride,
                     false};
  return emitRuntimeGemm(
      builder, loc, gemm, shape.entryHeads(lhs, entry.hiddenOffset, false),
      shape.entryHeads(rhs, entry.hiddenOffset, true),
      shape.scoresType(builder.getContext()), layout);
}

/// `scores[h] (ᵀ if transposeScores) · hidden[b, :, h]` for every head h of
/// entry b, written as the heads of a `[1, L, d]` block.
Value emitScoresTimesHeads(OpBuilder &builder, Location loc,
                           const AttentionShape &shape, const BatchEntry &entry,
                           Value scores, bool transposeScores, Value hidden) {
  GemmShape gemm{1, shape.heads, shape.hidden.length, shape.headWidth,
                 shape.hidden.length};
  GemmOperand layout{Value(), 0, shape.hidden.width, 0, shape.headWidth,
                     false};
  return emitRuntimeGemm(builder, loc, gemm,
                         shape.scores(scores, transposeScores),
                         shape.entryHeads(hidden, entry.hiddenOffset, false),
                         shape.entryType(builder.getContext()), layout);
}

/// `P = softmax(Q·Kᵀ / sqrt(d_h) + M)` per head of entry b, pad keys masked
/// with a large finite negative: a sequence of padding only then attends
/// uniformly instead of producing NaNs.
Value emitAttentionProbabilities(OpBuilder &builder, Location loc,
                                 const AttentionShape &shape,
                                 const BatchEntry &entry, Value query,
                                 Value key, Value paddingMask) {
  MLIRContext *context = builder.getContext();
  Value scores = emitHeadProducts(builder, loc, shape, entry, query, key);
  // The entry's row of the [B, L] mask, as an [L] vector.
  auto maskRowType =
      RankedTensorType::get({shape.hidden.length}, builder.getI1Type());
  Value maskRow = tensor::ExtractSliceOp::create(
      builder, loc, maskRowType, paddingMask,
      ArrayRef<OpFoldResult>{entry.index, builder.getIndexAttr(0)},
      ArrayRef<OpFoldResult>{builder.getIndexAttr(1),
                             builder.getIndexAttr(shape.hidden.length)},
      ArrayRef<OpFoldResult>{builder.getIndexAttr(1),
                             builder.getIndexAttr(1)});
  double scale = 1.0 / std::sqrt(static_cast<double>(shape.headWidth));
  Value masked = createElementwise(
      builder, loc, shape.scoresType(context), {scores, maskRow},
      {identityMap(context, 3), getTrailingDimsMap(context, 3, 1)},
      [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        Value scaled = arith::MulFOp::create(
            b, nestedLoc, arguments[0], createF32Constant(b, nestedLoc, scale));
        return arith::SelectOp::create(b, nestedLoc, arguments[1], scaled,
                                       createF32Constant(b, nestedLoc, -1e9));
      });
  return emitSoftmax(builder, loc, masked, 2);
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
    SmallVector<Value> result = emitLoopOverBatch(
        rewriter, loc, shape, type, 1,
        [&](OpBuilder &b, const BatchEntry &entry) -> SmallVector<Value> {
          Value probabilities = emitAttentionProbabilities(
              b, loc, shape, entry, op.getQuery(), op.getKey(),
              op.getPaddingMask());
          if (op.hasTrainingNoise())
            probabilities = emitDropout(
                b, loc, probabilities, op.getStep(),
                op.getDropoutRate().convertToDouble(), op.getSeed(),
                getCounterOffsetIndex(b, loc, op.getCounterOffset(),
                                      entry.scoresOffset));
          return {emitScoresTimesHeads(b, loc, shape, entry, probabilities,
                                       false, op.getValue())};
        });
    rewriter.replaceOp(op, result);
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
    double scale = 1.0 / std::sqrt(static_cast<double>(shape.headWidth));
    RankedTensorType scoresType = shape.scoresType(context);
    AffineMap identity = identityMap(context, 3);
    SmallVector<Value> grads = emitLoopOverBatch(
        rewriter, loc, shape, type, 3,
        [&](OpBuilder &b, const BatchEntry &entry) -> SmallVector<Value> {
          auto dropout = [&](Value scores) {
            return rate > 0.0
                       ? emitDropout(b, loc, scores, op.getStep(), rate,
                                     op.getSeed(),
                                     getCounterOffsetIndex(
                                         b, loc, op.getCounterOffset(),
                                         entry.scoresOffset))
                       : scores;
          };
          // P recomputed, as the forward pass has it.
          Value probabilities = emitAttentionProbabilities(
              b, loc, shape, entry, op.getQuery(), op.getKey(),
              op.getPaddingMask());
          Value dropped = dropout(probabilities);
          Value resultGrad = op.getResultGrad();
          // dV = P'ᵀ · dO; dP = dropout(dO · Vᵀ).
          Value valueGrad =
              emitScoresTimesHeads(b, loc, shape, entry, dropped,
                                   /*transposeScores=*/true, resultGrad);
          Value probabilitiesGrad = dropout(emitHeadProducts(
              b, loc, shape, entry, resultGrad, op.getValue()));
          // dS = P ⊙ (dP − rowsum(dP ⊙ P)) / sqrt(d_h), the softmax's
          // gradient and the score scale in one pass.
          Value products = createElementwise(
              b, loc, scoresType, {probabilities, probabilitiesGrad}, {},
              [](OpBuilder &nb, Location nestedLoc, ValueRange arguments) {
                return arith::MulFOp::create(nb, nestedLoc, arguments[0],
                                             arguments[1]);
              });
          Value rowSums = createReduction(
              b, loc, products, 2, b.getF32FloatAttr(0.0), addFloats);
          Value scoresGrad = createElementwise(
              b, loc, scoresType, {probabilities, probabilitiesGrad, rowSums},
              {identity, identity, getLeadingDimsMap(context, 3, 2)},
              [&](OpBuilder &nb, Location nestedLoc, ValueRange arguments) {
                Value centered = arith::SubFOp::create(
                    nb, nestedLoc, arguments[1], arguments[2]);
                Value softmaxGrad = arith::MulFOp::create(
                    nb, nestedLoc, arguments[0], centered);
                return arith::MulFOp::create(
                    nb, nestedLoc, softmaxGrad,
                    createF32Constant(nb, nestedLoc, scale));
              });
          // dQ = dS · K, dK = dSᵀ · Q.
          Value queryGrad = emitScoresTimesHeads(b, loc, shape, entry,
                                                 scoresGrad, false, op.getKey());
          Value keyGrad = emitScoresTimesHeads(b, loc, shape, entry,
                                               scoresGrad, true, op.getQuery());
          return {queryGrad, keyGrad, valueGrad};
        });
    rewriter.replaceOp(op, grads);
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
