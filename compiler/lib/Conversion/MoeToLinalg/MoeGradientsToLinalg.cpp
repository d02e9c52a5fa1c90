//===- MoeGradientsToLinalg.cpp - the moe gradient ops to CPU code --------===//
//
// The gradients of routing, dispatch, combine, the expert FFN and the
// auxiliary losses (docs/training.md): slot walks for the scatters, batched
// GEMMs for the experts, elementwise generics for the losses.
//
//===----------------------------------------------------------------------===//

#include "smx/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "smx/Conversion/LoweringUtils.h"
#include "smx/Dialect/Moe/IR/MoeOps.h"

#include "MoeLowering.h"

using namespace mlir;
using namespace mlir::smx;
using namespace mlir::smx::moe_lowering;
using namespace mlir::moe;

namespace {

//===----------------------------------------------------------------------===//
// Gradients
//===----------------------------------------------------------------------===//

struct RouteGradLowering : OpRewritePattern<RouteGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RouteGradOp op,
                                PatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    if (!resultType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    SlotGrid grid(op.getIndices().getType(), resultType.getDimSize(0));
    Value zeros = createFilledTensor(rewriter, loc, resultType,
                                     rewriter.getF32FloatAttr(0.0));
    Value result = foldFilledSlots(
        rewriter, loc, op.getIndices(), grid, zeros,
        [&](OpBuilder &b, Location nestedLoc, ValueRange slot, Value token,
            Value running) {
          Value gradient = tensor::ExtractOp::create(b, nestedLoc,
                                                     op.getWeightsGrad(), slot);
          Value current = tensor::ExtractOp::create(b, nestedLoc, running,
                                                    ValueRange{token, slot[1]});
          Value sum = arith::AddFOp::create(b, nestedLoc, current, gradient);
          return tensor::InsertOp::create(b, nestedLoc, sum, running,
                                          ValueRange{token, slot[1]})
              .getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct CombineGradLowering : OpRewritePattern<CombineGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CombineGradOp op,
                                PatternRewriter &rewriter) const override {
    auto inputType = cast<RankedTensorType>(op.getInput().getType());
    if (!isStaticF32Tensor(inputType))
      return rewriter.notifyMatchFailure(op, "needs static f32 shapes");
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    SlotGrid grid(op.getIndices().getType(),
                  op.getResultGrad().getType().getDimSize(0));
    // The result-gradient row of a slot's token, and whether it is filled.
    auto tokenRow = [&](OpBuilder &b, Location nestedLoc, Value inGroup,
                        Value column) {
      Value zeroIndex =
          arith::ConstantIntOp::create(b, nestedLoc, b.getI32Type(), 0);
      Value filled = arith::CmpIOp::create(
          b, nestedLoc, arith::CmpIPredicate::sge, inGroup, zeroIndex);
      Value safeIndex =
          arith::MaxSIOp::create(b, nestedLoc, inGroup, zeroIndex);
      Value token = globalTokenIndex(b, nestedLoc,
                                     linalg::IndexOp::create(b, nestedLoc, 0),
                                     safeIndex, grid.tokensPerGroup);
      Value element = tensor::ExtractOp::create(
          b, nestedLoc, op.getResultGrad(), ValueRange{token, column});
      return std::pair<Value, Value>{filled, element};
    };
    AffineMap identity = AffineMap::getMultiDimIdentityMap(4, context);
    AffineMap slotMap = getLeadingDimsMap(context, 4, 3);
    // input_grad = weight · result_grad[token], 0 at empty slots.
    Value inputGrad = createElementwise(
        rewriter, loc, inputType, {op.getIndices(), op.getWeights()},
        {slotMap, slotMap},
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          auto [filled, element] =
              tokenRow(b, nestedLoc, arguments[0],
                       linalg::IndexOp::create(b, nestedLoc, 3));
          Value weighted =
              arith::MulFOp::create(b, nestedLoc, arguments[1], element);
          return arith::SelectOp::create(b, nestedLoc, filled, weighted,
                                         createF32Constant(b, nestedLoc, 0.0));
        });
    // weights_grad = <result_grad[token], input[slot]>, 0 at empty slots.
    (void)identity;
    Value weightsGrad = createReduction(
        rewriter, loc, op.getInput(), 3, rewriter.getF32FloatAttr(0.0),
        addFloats, {op.getIndices()},
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          auto [filled, element] =
              tokenRow(b, nestedLoc, arguments[1],
                       linalg::IndexOp::create(b, nestedLoc, 3));
          Value product =
              arith::MulFOp::create(b, nestedLoc, arguments[0], element);
          return arith::SelectOp::create(b, nestedLoc, filled, product,
                                         createF32Constant(b, nestedLoc, 0.0));
        });
    rewriter.replaceOp(op, {inputGrad, weightsGrad});
    return success();
  }
};

/// `Σ_g A[g, e]ᵀ · B[g, e]` for all experts: `a` is `[G, E, C, m]`, `b`
/// `[G, E, C, n]`, the result `[E, m, n]` (the weight gradient of one expert
/// layer).
Value emitExpertWeightGrad(OpBuilder &builder, Location loc, Value a, Value b,
                           RankedTensorType resultType) {
  auto aType = cast<RankedTensorType>(a.getType());
  auto bType = cast<RankedTensorType>(b.getType());
  int64_t groups = aType.getDimSize(0), experts = aType.getDimSize(1);
  int64_t capacity = aType.getDimSize(2);
  int64_t m = aType.getDimSize(3), n = bType.getDimSize(3);
  // Grid (outer = expert, inner = group); every group of an expert adds into
  // the same [m, n] matrix (inner C stride 0).
  GemmShape gemm{experts, groups, m, n, capacity};
  GemmOperand lhs{a,
                  0,
                  m,
                  capacity * m,
                  experts * capacity * m,
                  /*transpose=*/true};
  GemmOperand rhs{b, 0, n, capacity * n, experts * capacity * n, false};
  GemmOperand result{Value(), 0, n, m * n, 0, false};
  Value zeros = createFilledTensor(builder, loc, resultType,
                                   builder.getF32FloatAttr(0.0));
  return emitRuntimeGemm(builder, loc, gemm, lhs, rhs, resultType, result,
                         zeros);
}

/// `Σ_{g, c} x[g, e, c, :]` for all experts: `[G, E, C, n]` to `[E, n]`.
Value emitExpertBiasGrad(OpBuilder &builder, Location loc, Value x) {
  Value overSlots = createReduction(builder, loc, x, 2,
                                    builder.getF32FloatAttr(0.0), addFloats);
  return createReduction(builder, loc, overSlots, 0,
                         builder.getF32FloatAttr(0.0), addFloats);
}

/// `x[g, e] · W[e]ᵀ` for all (g, e): `x` `[G, E, C, n]`, `W` `[E, m, n]`,
/// the result `[G, E, C, m]`.
Value emitExpertTransposedLayer(OpBuilder &builder, Location loc, Value x,
                                Value weight) {
  auto xType = cast<RankedTensorType>(x.getType());
  auto weightType = cast<RankedTensorType>(weight.getType());
  int64_t groups = xType.getDimSize(0), experts = xType.getDimSize(1);
  int64_t capacity = xType.getDimSize(2), n = xType.getDimSize(3);
  int64_t m = weightType.getDimSize(1);
  auto resultType = RankedTensorType::get({groups, experts, capacity, m},
                                          builder.getF32Type());
  GemmShape gemm{groups, experts, capacity, m, n};
  GemmOperand a{x, 0, n, experts * capacity * n, capacity * n, false};
  GemmOperand b{weight, 0, n, 0, m * n, /*transpose=*/true};
  GemmOperand c{Value(), 0, m, experts * capacity * m, capacity * m, false};
  return emitRuntimeGemm(builder, loc, gemm, a, b, resultType, c);
}

struct ExpertFFNGradLowering : OpRewritePattern<ExpertFFNGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ExpertFFNGradOp op,
                                PatternRewriter &rewriter) const override {
    auto inputType = cast<RankedTensorType>(op.getInput().getType());
    if (!isStaticF32Tensor(inputType))
      return rewriter.notifyMatchFailure(op, "needs static f32 shapes");
    Location loc = op.getLoc();
    smx::Activation kind = op.getActivation();
    // Recompute the hidden layer before and after the activation.
    Value hidden =
        emitExpertLayer(rewriter, loc, op.getInput(), op.getInWeight(),
                        op.getInBias(), std::nullopt);
    auto hiddenType = cast<RankedTensorType>(hidden.getType());
    Value activated = createElementwise(
        rewriter, loc, hiddenType, hidden, {},
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          return emitActivation(b, nestedLoc, kind, arguments[0]);
        });
    // Expert dropout: the same mask on the activations and their gradient.
    double rate = op.getDropoutRate().convertToDouble();
    auto dropout = [&](Value activations) {
      return rate > 0.0
                 ? emitDropout(rewriter, loc, activations, op.getStep(), rate,
                               op.getSeed(),
                               getCounterOffsetIndex(rewriter, loc,
                                                     op.getCounterOffset()),
                               getExpertDropoutStrides(op))
                 : activations;
    };
    activated = dropout(activated);
    Value resultGrad = op.getResultGrad();
    Value activatedGrad = dropout(emitExpertTransposedLayer(
        rewriter, loc, resultGrad, op.getOutWeight()));
    Value hiddenGrad = createElementwise(
        rewriter, loc, hiddenType, {activatedGrad, hidden}, {},
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          Value derivative =
              emitActivationDerivative(b, nestedLoc, kind, arguments[1]);
          return arith::MulFOp::create(b, nestedLoc, arguments[0], derivative);
        });
    Value inputGrad =
        emitExpertTransposedLayer(rewriter, loc, hiddenGrad, op.getInWeight());
    Value inWeightGrad = emitExpertWeightGrad(
        rewriter, loc, op.getInput(), hiddenGrad,
        cast<RankedTensorType>(op.getInWeight().getType()));
    Value outWeightGrad = emitExpertWeightGrad(
        rewriter, loc, activated, resultGrad,
        cast<RankedTensorType>(op.getOutWeight().getType()));
    rewriter.replaceOp(op, {inputGrad, inWeightGrad,
                            emitExpertBiasGrad(rewriter, loc, hiddenGrad),
                            outWeightGrad,
                            emitExpertBiasGrad(rewriter, loc, resultGrad)});
    return success();
  }
};

struct RouterZLossGradLowering : OpRewritePattern<RouterZLossGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RouterZLossGradOp op,
                                PatternRewriter &rewriter) const override {
    auto logitsType = cast<RankedTensorType>(op.getLogits().getType());
    if (!logitsType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    Value logits = op.getLogits();
    auto [maximum, sum] = emitRowLogSumExp(rewriter, loc, logits);
    double scale = 2.0 / static_cast<double>(logitsType.getDimSize(0));
    AffineMap identity = AffineMap::getMultiDimIdentityMap(2, context);
    AffineMap row = getLeadingDimsMap(context, 2, 1);
    AffineMap scalar = AffineMap::get(2, 0, {}, context);
    Value grad = createElementwise(
        rewriter, loc, logitsType, {logits, maximum, sum, op.getLossGrad()},
        {identity, row, row, scalar},
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          Value shifted = math::ExpOp::create(
              b, nestedLoc,
              arith::SubFOp::create(b, nestedLoc, arguments[0], arguments[1]));
          Value probability =
              arith::DivFOp::create(b, nestedLoc, shifted, arguments[2]);
          Value logSumExp = arith::AddFOp::create(
              b, nestedLoc, arguments[1],
              math::LogOp::create(b, nestedLoc, arguments[2]));
          Value factor = arith::MulFOp::create(
              b, nestedLoc, arguments[3],
              arith::MulFOp::create(b, nestedLoc, logSumExp,
                                    createF32Constant(b, nestedLoc, scale)));
          return arith::MulFOp::create(b, nestedLoc, factor, probability);
        });
    rewriter.replaceOp(op, grad);
    return success();
  }
};

struct LoadBalanceLossGradLowering : OpRewritePattern<LoadBalanceLossGradOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LoadBalanceLossGradOp op,
                                PatternRewriter &rewriter) const override {
    auto probsType = cast<RankedTensorType>(op.getProbs().getType());
    if (!probsType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    int64_t tokens = probsType.getDimSize(0), experts = probsType.getDimSize(1);
    int64_t groups = op.getGroups(), tokensPerGroup = tokens / groups;
    Value counts =
        emitTopKCounts(rewriter, loc, op.getProbs(), op.getTopK(), groups);
    // d/dp[t, e] = E · f[g, e] / (G · T/G), f = counts / (T/G).
    double scale =
        static_cast<double>(experts) /
        (static_cast<double>(groups) * tokensPerGroup * tokensPerGroup);
    auto groupedType = RankedTensorType::get({groups, tokensPerGroup, experts},
                                             rewriter.getF32Type());
    AffineExpr g = getAffineDimExpr(0, context),
               e = getAffineDimExpr(2, context);
    Value grouped = createElementwise(
        rewriter, loc, groupedType, {counts, op.getLossGrad()},
        {AffineMap::get(3, 0, {g, e}, context),
         AffineMap::get(3, 0, {}, context)},
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          return arith::MulFOp::create(
              b, nestedLoc, arguments[1],
              arith::MulFOp::create(b, nestedLoc, arguments[0],
                                    createF32Constant(b, nestedLoc, scale)));
        });
    rewriter.replaceOp(op, tensor::CollapseShapeOp::create(
                               rewriter, loc, probsType, grouped,
                               SmallVector<ReassociationIndices>{{0, 1}, {2}}));
    return success();
  }
};

} // namespace

void mlir::smx::populateMoeGradientsToLinalgPatterns(
    RewritePatternSet &patterns) {
  patterns.add<RouteGradLowering, CombineGradLowering, ExpertFFNGradLowering,
               RouterZLossGradLowering, LoadBalanceLossGradLowering>(
      patterns.getContext());
}
