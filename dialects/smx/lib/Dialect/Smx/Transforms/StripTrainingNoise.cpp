//===- StripTrainingNoise.cpp - remove dropout and jitter -----------------===//

#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "smx/Dialect/Smx/IR/SmxInterfaces.h"
#include "smx/Dialect/Smx/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXSTRIPTRAININGNOISEPASS
#include "smx/Dialect/Smx/Transforms/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

namespace {
struct SmxStripTrainingNoisePass
    : public smx::impl::SmxStripTrainingNoisePassBase<
          SmxStripTrainingNoisePass> {
  void runOnOperation() override {
    SmallVector<TrainingNoiseOpInterface> noisyOps;
    getOperation()->walk([&](TrainingNoiseOpInterface op) {
      if (op.hasTrainingNoise() && !isInTrainStep(op))
        noisyOps.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (TrainingNoiseOpInterface op : noisyOps) {
      rewriter.setInsertionPoint(op);
      op.removeTrainingNoise(rewriter);
    }
  }
};
} // namespace
