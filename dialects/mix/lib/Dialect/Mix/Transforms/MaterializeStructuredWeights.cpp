//===- MaterializeStructuredWeights.cpp - structured mixing to GEMMs ------===//

#include "smx/Dialect/Mix/IR/MixOps.h"
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

/// Which entry of the parameter vector a structured matrix holds at
/// (row, column), for a matrix of size `n`.
using ParameterIndexFn = Value (*)(OpBuilder &, Location, Value row,
                                  Value column, Value n);

/// C(v)[r, c] = v[(r - c) mod n].
Value circulantIndex(OpBuilder &b, Location loc, Value row, Value column,
                     Value n) {
  Value shifted = arith::AddIOp::create(
      b, loc, arith::SubIOp::create(b, loc, row, column), n);
  return arith::RemUIOp::create(b, loc, shifted, n);
}

/// T(t)[r, c] = t[n - 1 + c - r].
Value toeplitzIndex(OpBuilder &b, Location loc, Value row, Value column,
                    Value n) {
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value diagonal = arith::SubIOp::create(
      b, loc, arith::AddIOp::create(b, loc, n, column), row);
  return arith::SubIOp::create(b, loc, diagonal, one);
}

/// Builds the `n`-by-`n` structured matrix of `params` (transposed when
/// `transpose`), where `n` is dimension `dim` of `input`.
Value buildStructuredMatrix(OpBuilder &b, Location loc, Value input,
                            int64_t dim, Value params, bool transpose,
                            ParameterIndexFn parameterIndex) {
  auto inputType = cast<RankedTensorType>(input.getType());
  int64_t staticSize = inputType.getDimSize(dim);
  Value size = tensor::DimOp::create(b, loc, input, dim);
  SmallVector<Value> dynamicSizes;
  if (ShapedType::isDynamic(staticSize))
    dynamicSizes.assign(2, size);
  auto matrixType = RankedTensorType::get({staticSize, staticSize},
                                          inputType.getElementType());
  return tensor::GenerateOp::create(
      b, loc, matrixType, dynamicSizes,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange indices) {
        Value row = indices[transpose ? 1 : 0];
        Value column = indices[transpose ? 0 : 1];
        Value index = parameterIndex(nested, nestedLoc, row, column, size);
        Value element =
            tensor::ExtractOp::create(nested, nestedLoc, params, index);
        tensor::YieldOp::create(nested, nestedLoc, element);
      });
}

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
                                                           circulantIndex);
    patterns.add<MaterializeStructuredMixing<ToeplitzOp>>(&getContext(),
                                                          toeplitzIndex);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
