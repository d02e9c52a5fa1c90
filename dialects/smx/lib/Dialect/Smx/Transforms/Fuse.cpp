//===- Fuse.cpp - fold elementwise epilogues into their producers ---------===//

#include "smx/Dialect/Smx/IR/SmxOps.h"
#include "smx/Dialect/Smx/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXFUSEPASS
#include "smx/Dialect/Smx/Transforms/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

namespace {

/// activation(dense(x)) -> dense(x) with an activation epilogue.
struct FuseDenseActivation : OpRewritePattern<ActivationOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ActivationOp op,
                                PatternRewriter &rewriter) const override {
    auto dense = op.getInput().getDefiningOp<DenseOp>();
    if (!dense || dense.getActivation() || !dense->hasOneUse())
      return rewriter.notifyMatchFailure(op, "no dense layer to fuse into");
    rewriter.modifyOpInPlace(dense, [&] {
      dense.setActivationAttr(ActivationAttr::get(getContext(), op.getKind()));
    });
    rewriter.replaceOp(op, dense.getResult());
    return success();
  }
};

/// layer_norm(residual_add(a, b)) -> layer_norm(a + b).
struct FuseResidualLayerNorm : OpRewritePattern<LayerNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LayerNormOp op,
                                PatternRewriter &rewriter) const override {
    auto add = op.getInput().getDefiningOp<ResidualAddOp>();
    if (op.getResidual() || !add || !add->hasOneUse())
      return rewriter.notifyMatchFailure(op, "no residual add to fuse");
    rewriter.replaceOpWithNewOp<LayerNormOp>(
        op, op.getType(), add.getInput(), add.getResidual(), op.getScale(),
        op.getBias(), op.getEpsilonAttr());
    return success();
  }
};

struct SmxFusePass : public smx::impl::SmxFusePassBase<SmxFusePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseDenseActivation, FuseResidualLayerNorm>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
