//===- MoeToLinalg.cpp - routing, experts and combine to CPU code ---------===//
//
// The router and experts are GEMMs on the runtime's BLAS (the experts as one
// GEMM batched over (group, expert), weights broadcast over groups); the
// routing decision is the runtime's sorting-based kernel; dispatch is a
// gather, combine and the coverage statistic walk the filled slots with
// scf loops (a scatter), and the auxiliary losses are reductions.
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
#include "smx/Dialect/Moe/IR/MoeOps.h"

#include "MoeLowering.h"
#include <limits>

namespace mlir::smx {
#define GEN_PASS_DEF_CONVERTMOETOLINALGPASS
#include "smx/Conversion/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;
using namespace mlir::moe;

using namespace mlir::smx::moe_lowering;

//===----------------------------------------------------------------------===//
// Shared helpers (MoeLowering.h)
//===----------------------------------------------------------------------===//

namespace mlir::smx::moe_lowering {

/// The global token index of a slot holding in-group index `inGroup`.
Value globalTokenIndex(OpBuilder &builder, Location loc, Value group,
                       Value inGroup, int64_t tokensPerGroup) {
  Value first = arith::MulIOp::create(
      builder, loc, group, indexConstant(builder, loc, tokensPerGroup));
  Value local =
      arith::IndexCastOp::create(builder, loc, builder.getIndexType(), inGroup);
  return arith::AddIOp::create(builder, loc, first, local);
}

/// Threads `initial` through every filled slot of `indices`: `update` gets
/// (group, expert, slot, token) and the running value, and returns the new
/// value. Empty slots (index -1) are skipped.
using SlotUpdate = function_ref<Value(OpBuilder &, Location, ValueRange slot,
                                      Value token, Value running)>;
Value foldFilledSlots(OpBuilder &builder, Location loc, Value indices,
                      SlotGrid grid, Value initial, SlotUpdate update) {
  Value zero = indexConstant(builder, loc, 0);
  Value one = indexConstant(builder, loc, 1);
  SmallVector<Value> upperBounds = {
      indexConstant(builder, loc, grid.groups),
      indexConstant(builder, loc, grid.experts),
      indexConstant(builder, loc, grid.capacity)};
  scf::LoopNest nest = scf::buildLoopNest(
      builder, loc, {zero, zero, zero}, upperBounds, {one, one, one},
      ValueRange{initial},
      [&](OpBuilder &b, Location nestedLoc, ValueRange slot,
          ValueRange running) -> scf::ValueVector {
        Value inGroup = tensor::ExtractOp::create(b, nestedLoc, indices, slot);
        Value filled = arith::CmpIOp::create(
            b, nestedLoc, arith::CmpIPredicate::sge, inGroup,
            arith::ConstantIntOp::create(b, nestedLoc, b.getI32Type(), 0));
        auto ifOp = scf::IfOp::create(
            b, nestedLoc, filled,
            [&](OpBuilder &thenBuilder, Location thenLoc) {
              Value token = globalTokenIndex(thenBuilder, thenLoc, slot[0],
                                             inGroup, grid.tokensPerGroup);
              scf::YieldOp::create(
                  thenBuilder, thenLoc,
                  update(thenBuilder, thenLoc, slot, token, running[0]));
            },
            [&](OpBuilder &elseBuilder, Location elseLoc) {
              scf::YieldOp::create(elseBuilder, elseLoc, running[0]);
            });
        return {ifOp.getResult(0)};
      });
  return nest.results.front();
}

/// `[T, E]` as `[groups, T / groups, E]`.
Value expandToGroups(OpBuilder &builder, Location loc, Value tensor,
                     int64_t groups) {
  auto type = cast<RankedTensorType>(tensor.getType());
  int64_t tokens = type.getDimSize(0), experts = type.getDimSize(1);
  return tensor::ExpandShapeOp::create(
      builder, loc,
      RankedTensorType::get({groups, tokens / groups, experts},
                            type.getElementType()),
      tensor, SmallVector<ReassociationIndices>{{0, 1}, {2}});
}

/// Per group of `T / groups` tokens and expert: how many of the group's
/// tokens have the expert among their `k` most probable (ties go to the
/// lower expert index), as `[groups, E]` f32.
Value emitTopKCounts(OpBuilder &rewriter, Location loc, Value probs, int64_t k,
                   int64_t groups) {
  MLIRContext *context = rewriter.getContext();
  auto probsType = cast<RankedTensorType>(probs.getType());
  int64_t tokens = probsType.getDimSize(0), experts = probsType.getDimSize(1);
  Type f32 = rewriter.getF32Type();
  // rank[t, e]: how many experts beat e for token t (ties go to the lower
  // expert index); e is among the token's top-k when rank < k.
  AffineExpr t = getAffineDimExpr(0, context), e = getAffineDimExpr(1, context),
             j = getAffineDimExpr(2, context);
  auto rankType = RankedTensorType::get({tokens, experts}, f32);
  auto rankOp = linalg::GenericOp::create(
      rewriter, loc, rankType, ValueRange{probs, probs},
      ValueRange{createFilledTensor(rewriter, loc, rankType,
                                    rewriter.getF32FloatAttr(0.0))},
      ArrayRef<AffineMap>{AffineMap::get(3, 0, {t, j}, context),
                          AffineMap::get(3, 0, {t, e}, context),
                          AffineMap::get(3, 0, {t, e}, context)},
      ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                    utils::IteratorType::parallel,
                                    utils::IteratorType::reduction},
      [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        Value other = arguments[0], self = arguments[1];
        Value greater = arith::CmpFOp::create(
            b, nestedLoc, arith::CmpFPredicate::OGT, other, self);
        Value equal = arith::CmpFOp::create(
            b, nestedLoc, arith::CmpFPredicate::OEQ, other, self);
        Value otherExpert = linalg::IndexOp::create(b, nestedLoc, 2);
        Value selfExpert = linalg::IndexOp::create(b, nestedLoc, 1);
        Value lowerIndex =
            arith::CmpIOp::create(b, nestedLoc, arith::CmpIPredicate::ult,
                                  otherExpert, selfExpert);
        Value beats = arith::OrIOp::create(
            b, nestedLoc, greater,
            arith::AndIOp::create(b, nestedLoc, equal, lowerIndex));
        Value one = createF32Constant(b, nestedLoc, 1.0);
        Value zero = createF32Constant(b, nestedLoc, 0.0);
        Value increment =
            arith::SelectOp::create(b, nestedLoc, beats, one, zero);
        Value count =
            arith::AddFOp::create(b, nestedLoc, arguments[2], increment);
        linalg::YieldOp::create(b, nestedLoc, count);
      });
  Value chosen = createElementwise(
      rewriter, loc, rankType, rankOp.getResult(0), {},
      [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
        Value inTopK = arith::CmpFOp::create(
            b, nestedLoc, arith::CmpFPredicate::OLT, arguments[0],
            createF32Constant(b, nestedLoc, static_cast<double>(k)));
        Value one = createF32Constant(b, nestedLoc, 1.0);
        Value zero = createF32Constant(b, nestedLoc, 0.0);
        return arith::SelectOp::create(b, nestedLoc, inTopK, one, zero);
      });
  // Per group and expert: token counts f and probability sums P.
  Value chosenCounts = createReduction(rewriter, loc, expandToGroups(rewriter, loc, chosen, groups), 1,
                                       rewriter.getF32FloatAttr(0.0),
                                       addFloats);
  return chosenCounts;
}


/// One expert layer: `act(X[g, e] · W[e] + bias[e])` for all (g, e).
Value emitExpertLayer(OpBuilder &builder, Location loc, Value input,
                      Value weight, Value bias,
                      std::optional<smx::Activation> activation) {
  auto inputType = cast<RankedTensorType>(input.getType());
  auto weightType = cast<RankedTensorType>(weight.getType());
  int64_t groups = inputType.getDimSize(0), experts = inputType.getDimSize(1);
  int64_t capacity = inputType.getDimSize(2);
  int64_t inWidth = weightType.getDimSize(1),
          outWidth = weightType.getDimSize(2);
  auto resultType = RankedTensorType::get(
      {groups, experts, capacity, outWidth}, builder.getF32Type());
  GemmShape gemm{groups, experts, capacity, outWidth, inWidth};
  GemmOperand a{input, 0, inWidth, experts * capacity * inWidth,
                capacity * inWidth, false};
  GemmOperand b{weight, 0, outWidth, 0, inWidth * outWidth, false};
  GemmOperand c{Value(), 0, outWidth, experts * capacity * outWidth,
                capacity * outWidth, false};
  Value product = emitRuntimeGemm(builder, loc, gemm, a, b, resultType, c);
  MLIRContext *context = builder.getContext();
  AffineMap biasMap = AffineMap::get(
      4, 0, {getAffineDimExpr(1, context), getAffineDimExpr(3, context)},
      context);
  return createElementwise(
      builder, loc, resultType, {product, bias},
      {AffineMap::getMultiDimIdentityMap(4, context), biasMap},
      [&](OpBuilder &nested, Location nestedLoc, ValueRange arguments) {
        Value sum = arith::AddFOp::create(nested, nestedLoc, arguments[0],
                                          arguments[1]);
        return activation
                   ? emitActivation(nested, nestedLoc, *activation, sum)
                   : sum;
      });
}

} // namespace mlir::smx::moe_lowering

namespace {

struct RouterLowering : OpRewritePattern<RouterOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RouterOp op,
                                PatternRewriter &rewriter) const override {
    if (!isStaticF32Tensor(op.getInput().getType()))
      return rewriter.notifyMatchFailure(op, "needs static f32 shapes");
    Location loc = op.getLoc();
    Value product = emitMatmul(rewriter, loc, op.getInput(), op.getWeight(),
                               /*transposeWeight=*/false);
    Value logits = emitBiasAdd(rewriter, loc, product, op.getBias());
    rewriter.replaceOp(op, {logits, emitSoftmax(rewriter, loc, logits, 1)});
    return success();
  }
};

struct JitterLowering : OpRewritePattern<JitterOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(JitterOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.getInput().getType().hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    rewriter.replaceOp(
        op, emitMultiplicativeJitter(
                rewriter, loc, op.getInput(), op.getStep(),
                op.getJitter().convertToDouble(),
                static_cast<int64_t>(op.getSeed()),
                getCounterOffsetIndex(rewriter, loc, op.getCounterOffset())));
    return success();
  }
};

struct RouteLowering : OpRewritePattern<RouteOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RouteOp op,
                                PatternRewriter &rewriter) const override {
    auto slotsType = cast<RankedTensorType>(op.getDispatchIndices().getType());
    if (!slotsType.hasStaticShape() ||
        !op.getProbs().getType().hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    SlotGrid grid(slotsType, op.getProbs().getType().getDimSize(0));
    // The kernel's policy operands (smxrt_cpu_route, model_abi.h); `k` is
    // read only by policies that bound the experts per token.
    RoutingPolicyAttrInterface policy = op.getPolicy();
    int64_t k = policy.getExpertsPerTokenLimit().value_or(1);
    auto i64Constant = [&](int64_t value) -> Value {
      return arith::ConstantOp::create(rewriter, loc,
                                       rewriter.getI64IntegerAttr(value));
    };
    SmallVector<Type> resultTypes = {op.getDispatchIndices().getType(),
                                     op.getCombineWeights().getType()};
    // A policy that solves a program per group has its own kernel
    // (smxrt_cpu_route_capped_lp): its solver's parameters, then the group
    // shape; it never reads token ids.
    if (std::optional<RoutingSolver> solver = policy.getSolver()) {
      SmallVector<Value> scalars = {
          i64Constant(k), i64Constant(solver->iterations),
          arith::ConstantOp::create(rewriter, loc,
                                    rewriter.getF64FloatAttr(solver->entropy)),
          i64Constant(grid.groups), i64Constant(grid.tokensPerGroup),
          i64Constant(grid.experts), i64Constant(grid.capacity)};
      rewriter.replaceOp(
          op, emitRuntimeCall(
                  rewriter, loc,
                  SMXRT_SYMBOL_STRING(SMXRT_CPU_ROUTE_CAPPED_LP_MEMREF),
                  scalars, {op.getProbs()}, resultTypes));
      return success();
    }
    int64_t batchPrioritized = policy.isBatchPrioritized();
    SmallVector<Value> scalars;
    for (int64_t value : {int64_t(policy.getAbiCode()), k, batchPrioritized,
                          grid.groups, grid.tokensPerGroup, grid.experts,
                          grid.capacity})
      scalars.push_back(i64Constant(value));
    // Every policy passes token ids so the kernel has one signature; those
    // that route by probability get a placeholder they never read.
    Value tokenIds = op.getTokenIds();
    if (!tokenIds) {
      auto placeholderType = RankedTensorType::get({1}, rewriter.getI32Type());
      tokenIds = arith::ConstantOp::create(
          rewriter, loc, DenseElementsAttr::get(placeholderType, 0));
    } else if (!cast<RankedTensorType>(tokenIds.getType())
                    .getElementType()
                    .isInteger(32)) {
      return rewriter.notifyMatchFailure(op, "token ids must be i32");
    }
    SmallVector<Value> results = emitRuntimeCall(
        rewriter, loc, SMXRT_SYMBOL_STRING(SMXRT_CPU_ROUTE_MEMREF), scalars,
        {op.getProbs(), tokenIds}, resultTypes);
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct DispatchLowering : OpRewritePattern<DispatchOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(DispatchOp op,
                                PatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    if (!resultType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    SlotGrid grid(op.getIndices().getType(),
                  op.getInput().getType().getDimSize(0));
    Type elementType = resultType.getElementType();
    Value result = createElementwise(
        rewriter, loc, resultType, op.getIndices(),
        getLeadingDimsMap(rewriter.getContext(), 4, 3),
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          Value inGroup = arguments[0];
          Value filled = arith::CmpIOp::create(
              b, nestedLoc, arith::CmpIPredicate::sge, inGroup,
              arith::ConstantIntOp::create(b, nestedLoc, b.getI32Type(), 0));
          // Empty slots read row 0 and discard it: a select, not a branch.
          Value safeIndex = arith::MaxSIOp::create(
              b, nestedLoc, inGroup,
              arith::ConstantIntOp::create(b, nestedLoc, b.getI32Type(), 0));
          Value token = globalTokenIndex(
              b, nestedLoc, linalg::IndexOp::create(b, nestedLoc, 0), safeIndex,
              grid.tokensPerGroup);
          Value column = linalg::IndexOp::create(b, nestedLoc, 3);
          Value element = tensor::ExtractOp::create(b, nestedLoc, op.getInput(),
                                                    ValueRange{token, column});
          Value zero = arith::ConstantOp::create(
              b, nestedLoc, b.getFloatAttr(elementType, 0.0));
          return arith::SelectOp::create(b, nestedLoc, filled, element, zero);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ExpertFFNLowering : OpRewritePattern<ExpertFFNOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ExpertFFNOp op,
                                PatternRewriter &rewriter) const override {
    if (!isStaticF32Tensor(op.getInput().getType()))
      return rewriter.notifyMatchFailure(op, "needs static f32 shapes");
    Location loc = op.getLoc();
    Value hidden = emitExpertLayer(rewriter, loc, op.getInput(),
                                   op.getInWeight(), op.getInBias(),
                                   op.getActivation());
    if (op.hasTrainingNoise())
      hidden = emitDropout(
          rewriter, loc, hidden, op.getStep(),
          op.getDropoutRate().convertToDouble(), op.getSeed(),
          getCounterOffsetIndex(rewriter, loc, op.getCounterOffset()),
          getExpertDropoutStrides(op));
    rewriter.replaceOp(op, emitExpertLayer(rewriter, loc, hidden,
                                           op.getOutWeight(), op.getOutBias(),
                                           std::nullopt));
    return success();
  }
};

struct CombineLowering : OpRewritePattern<CombineOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CombineOp op,
                                PatternRewriter &rewriter) const override {
    auto resultType = cast<RankedTensorType>(op.getType());
    if (!isStaticF32Tensor(resultType))
      return rewriter.notifyMatchFailure(op, "needs static f32 shapes");
    Location loc = op.getLoc();
    SlotGrid grid(op.getIndices().getType(), resultType.getDimSize(0));
    int64_t width = resultType.getDimSize(1);
    Value zeros = createFilledTensor(rewriter, loc, resultType,
                                     rewriter.getF32FloatAttr(0.0));
    Value result = foldFilledSlots(
        rewriter, loc, op.getIndices(), grid, zeros,
        [&](OpBuilder &b, Location nestedLoc, ValueRange slot, Value token,
            Value running) {
          Value weight =
              tensor::ExtractOp::create(b, nestedLoc, op.getWeights(), slot);
          auto rowLoop = scf::ForOp::create(
              b, nestedLoc, indexConstant(b, nestedLoc, 0),
              indexConstant(b, nestedLoc, width),
              indexConstant(b, nestedLoc, 1), ValueRange{running},
              [&](OpBuilder &rowBuilder, Location rowLoc, Value column,
                  ValueRange accumulated) {
                SmallVector<Value> slotElement(slot);
                slotElement.push_back(column);
                Value expertOutput = tensor::ExtractOp::create(
                    rowBuilder, rowLoc, op.getInput(), slotElement);
                Value current = tensor::ExtractOp::create(
                    rowBuilder, rowLoc, accumulated[0],
                    ValueRange{token, column});
                Value updated = arith::AddFOp::create(
                    rowBuilder, rowLoc, current,
                    arith::MulFOp::create(rowBuilder, rowLoc, weight,
                                          expertOutput));
                Value inserted = tensor::InsertOp::create(
                    rowBuilder, rowLoc, updated, accumulated[0],
                    ValueRange{token, column});
                scf::YieldOp::create(rowBuilder, rowLoc, inserted);
              });
          return rowLoop.getResult(0);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct RouterZLossLowering : OpRewritePattern<RouterZLossOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(RouterZLossOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType logitsType = op.getLogits().getType();
    if (!logitsType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    Value logits = op.getLogits();
    auto [maximum, sum] = emitRowLogSumExp(rewriter, loc, logits);
    auto tokensType = cast<RankedTensorType>(maximum.getType());
    Value squaredLogSumExp = createElementwise(
        rewriter, loc, tokensType, {maximum, sum}, {},
        [](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          Value logSumExp = arith::AddFOp::create(
              b, nestedLoc, arguments[0],
              math::LogOp::create(b, nestedLoc, arguments[1]));
          return arith::MulFOp::create(b, nestedLoc, logSumExp, logSumExp);
        });
    rewriter.replaceOp(
        op, scaleScalar(rewriter, loc, sumAll(rewriter, loc, squaredLogSumExp),
                        1.0 / static_cast<double>(logitsType.getDimSize(0))));
    return success();
  }
};


struct LoadBalanceLossLowering : OpRewritePattern<LoadBalanceLossOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LoadBalanceLossOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType probsType = op.getProbs().getType();
    if (!probsType.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    int64_t tokens = probsType.getDimSize(0), experts = probsType.getDimSize(1);
    int64_t groups = op.getGroups(), tokensPerGroup = tokens / groups;
    Value probs = op.getProbs();
    Value chosenCounts =
        emitTopKCounts(rewriter, loc, probs, op.getTopK(), groups);
    Value probSums = createReduction(rewriter, loc, expandToGroups(rewriter, loc, probs, groups), 1,
                                     rewriter.getF32FloatAttr(0.0), addFloats);
    Value products = createElementwise(
        rewriter, loc, cast<RankedTensorType>(chosenCounts.getType()),
        {chosenCounts, probSums}, {},
        [](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          return arith::MulFOp::create(b, nestedLoc, arguments[0], arguments[1]);
        });
    // mean_g E²·mean_e(f·P) with f and P means over the group's tokens.
    double factor = static_cast<double>(experts) /
                    (static_cast<double>(groups) * tokensPerGroup *
                     tokensPerGroup);
    rewriter.replaceOp(op, scaleScalar(rewriter, loc,
                                       sumAll(rewriter, loc, products), factor));
    return success();
  }
};

struct ExpertLoadLowering : OpRewritePattern<ExpertLoadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ExpertLoadOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType indicesType = op.getDispatchIndices().getType();
    if (!indicesType.hasStaticShape() ||
        !op.getProbs().getType().hasStaticShape())
      return rewriter.notifyMatchFailure(op, "needs static shapes");
    Location loc = op.getLoc();
    MLIRContext *context = rewriter.getContext();
    int64_t tokens = op.getProbs().getType().getDimSize(0);
    SlotGrid grid(indicesType, tokens);

    // Filled slots per expert: a reduction over groups and slots.
    auto loadType = cast<RankedTensorType>(op.getTokensPerExpert().getType());
    auto loadOp = linalg::GenericOp::create(
        rewriter, loc, loadType, ValueRange{op.getDispatchIndices()},
        ValueRange{createFilledTensor(rewriter, loc, loadType,
                                      rewriter.getI64IntegerAttr(0))},
        ArrayRef<AffineMap>{
            AffineMap::getMultiDimIdentityMap(3, context),
            AffineMap::get(3, 0, {getAffineDimExpr(1, context)}, context)},
        ArrayRef<utils::IteratorType>{utils::IteratorType::reduction,
                                      utils::IteratorType::parallel,
                                      utils::IteratorType::reduction},
        [&](OpBuilder &b, Location nestedLoc, ValueRange arguments) {
          Value filled = arith::CmpIOp::create(
              b, nestedLoc, arith::CmpIPredicate::sge, arguments[0],
              arith::ConstantIntOp::create(b, nestedLoc, b.getI32Type(), 0));
          Value increment = arith::ExtUIOp::create(b, nestedLoc, b.getI64Type(),
                                                   filled);
          Value count =
              arith::AddIOp::create(b, nestedLoc, arguments[1], increment);
          linalg::YieldOp::create(b, nestedLoc, count);
        });

    // Tokens some expert took, then the fraction of the others.
    auto coverageType = RankedTensorType::get({tokens}, rewriter.getF32Type());
    Value uncovered = createFilledTensor(rewriter, loc, coverageType,
                                         rewriter.getF32FloatAttr(1.0));
    uncovered = foldFilledSlots(
        rewriter, loc, op.getDispatchIndices(), grid, uncovered,
        [](OpBuilder &b, Location nestedLoc, ValueRange, Value token,
           Value running) {
          return tensor::InsertOp::create(b, nestedLoc,
                                          createF32Constant(b, nestedLoc, 0.0),
                                          running, token)
              .getResult();
        });
    Value dropped = scaleScalar(rewriter, loc, sumAll(rewriter, loc, uncovered),
                                1.0 / static_cast<double>(tokens));
    rewriter.replaceOp(op, {loadOp.getResult(0), dropped});
    return success();
  }
};

} // namespace

void mlir::smx::populateMoeToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<JitterLowering, RouterLowering, RouteLowering, DispatchLowering,
               ExpertFFNLowering, CombineLowering, RouterZLossLowering,
               LoadBalanceLossLowering, ExpertLoadLowering>(
      patterns.getContext());
  populateMoeGradientsToLinalgPatterns(patterns);
}

namespace {
struct ConvertMoeToLinalgPass
    : public smx::impl::ConvertMoeToLinalgPassBase<ConvertMoeToLinalgPass> {
  void runOnOperation() override {
    if (failed(verifyStaticShapes(getOperation(), "moe", "convert-moe-to-linalg")))
      return signalPassFailure();
    ConversionTarget target(getContext());
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    target.addIllegalDialect<MoeDialect>();
    // A collective, lowered with the grid's others by
    // convert-shard-to-runtime.
    target.addLegalOp<AllToAllOp>();
    RewritePatternSet patterns(&getContext());
    populateMoeToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
