//===- MaterializeStructuredWeights.cpp - structured mixing to GEMMs ------===//

#include "smx/Dialect/Mix/IR/MixOps.h"
#include "smx/Dialect/Mix/IR/StructuredMatrices.h"
#include "smx/Dialect/Mix/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::mix {
#define GEN_PASS_DEF_MIXMATERIALIZESTRUCTUREDWEIGHTSPASS
#include "smx/Dialect/Mix/Transforms/Passes.h.inc"
} // namespace mlir::mix

using namespace mlir;
using namespace mlir::mix;

namespace {

template <typename StructuredOp>
struct MaterializeStructuredMixing : public OpRewritePattern<StructuredOp> {
  MaterializeStructuredMixing(MLIRContext *context, ParameterIndexFn index)
      : OpRewritePattern<StructuredOp>(context), parameterIndex(index) {}

  LogicalResult matchAndRewrite(StructuredOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = op.getInput();
    Value seqWeight = buildStructuredMatrix(
        rewriter, loc, input, /*dim=*/1, op.getSeqParams(),
        /*transpose=*/false, parameterIndex);
    Value hiddenWeight = buildStructuredMatrix(
        rewriter, loc, input, /*dim=*/2, op.getHiddenParams(),
        /*transpose=*/true, parameterIndex);
    rewriter.replaceOpWithNewOp<LinearOp>(op, op.getType(), input, seqWeight,
                                          hiddenWeight);
    return success();
  }

  ParameterIndexFn parameterIndex;
};

struct MixMaterializeStructuredWeightsPass
    : public mix::impl::MixMaterializeStructuredWeightsPassBase<
          MixMaterializeStructuredWeightsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MaterializeStructuredMixing<CirculantOp>>(&getContext(),
                                                           getCirculantIndex);
    patterns.add<MaterializeStructuredMixing<ToeplitzOp>>(&getContext(),
                                                          getToeplitzIndex);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
