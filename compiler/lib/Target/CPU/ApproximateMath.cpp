//===- ApproximateMath.cpp - polynomial f32 math for the CPU --------------===//

#include "smx/Target/CPU/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXAPPROXIMATEMATHPASS
#include "smx/Target/CPU/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;

namespace {
struct SmxApproximateMathPass
    : smx::impl::SmxApproximateMathPassBase<SmxApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // The portable forms only: the AVX2 rsqrt variant would tie the IR to
    // one target, and `--cpu` may name another.
    MathPolynomialApproximationOptions options;
    options.enableAvx2 = false;
    populateMathPolynomialApproximationPatterns(patterns, options);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
