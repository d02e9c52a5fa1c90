//===- PrepareParallelLoops.cpp - threads outside, vectors inside ---------===//

#include "smx/Target/CPU/Passes.h"

#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXPREPAREPARALLELLOOPSPASS
#include "smx/Target/CPU/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;

/// The static trip count of one loop dimension, or nullopt when a bound or
/// the step is not a constant.
static std::optional<int64_t> getTripCount(Value lower, Value upper,
                                           Value step) {
  std::optional<int64_t> lb = getConstantIntValue(lower);
  std::optional<int64_t> ub = getConstantIntValue(upper);
  std::optional<int64_t> st = getConstantIntValue(step);
  if (!lb || !ub || !st || *st <= 0)
    return std::nullopt;
  return *ub > *lb ? (*ub - *lb + *st - 1) / *st : 0;
}

/// Operations one run of `block` executes, loops counted with their static
/// trip counts (a loop of unknown trip count counts as one run of its body).
static int64_t estimateWork(Block &block) {
  int64_t work = 0;
  for (Operation &op : block) {
    int64_t trips = 1;
    if (auto loop = dyn_cast<scf::ForOp>(op))
      trips = getTripCount(loop.getLowerBound(), loop.getUpperBound(),
                           loop.getStep())
                  .value_or(1);
    int64_t nested = 0;
    for (Region &region : op.getRegions())
      for (Block &inner : region)
        nested += estimateWork(inner);
    work += 1 + trips * nested;
  }
  return work;
}

/// The static iteration count of `loop`, or nullopt when it is unknown.
static std::optional<int64_t> getIterationCount(scf::ParallelOp loop) {
  int64_t count = 1;
  for (auto [lb, ub, step] : llvm::zip_equal(
           loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> trips = getTripCount(lb, ub, step);
    if (!trips)
      return std::nullopt;
    count *= *trips;
  }
  return count;
}

/// Whether `block` is straight-line code: no op in it has regions.
static bool isStraightLine(Block &block) {
  return llvm::all_of(block, [](Operation &op) {
    return op.getNumRegions() == 0;
  });
}

/// Rewrites `loop` (N > 1 dimensions) into a parallel loop over its first
/// N - 1 dimensions around an `scf.for` over the last one.
static LogicalResult sequentializeInnermostDimension(RewriterBase &rewriter,
                                                     scf::ParallelOp loop) {
  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  auto outer = scf::ParallelOp::create(
      rewriter, loc, loop.getLowerBound().drop_back(),
      loop.getUpperBound().drop_back(), loop.getStep().drop_back());
  rewriter.setInsertionPointToStart(outer.getBody());
  auto inner = scf::ParallelOp::create(
      rewriter, loc, loop.getLowerBound().take_back(),
      loop.getUpperBound().take_back(), loop.getStep().take_back());
  SmallVector<Value> ivs(outer.getInductionVars());
  ivs.push_back(inner.getInductionVars().front());
  assert(ivs.size() == loop.getNumLoops() &&
         "one induction variable per dimension");
  rewriter.eraseOp(inner.getBody()->getTerminator());
  rewriter.mergeBlocks(loop.getBody(), inner.getBody(), ivs);
  rewriter.eraseOp(loop);
  return scf::parallelForToNestedFors(rewriter, inner);
}

namespace {
struct SmxPrepareParallelLoopsPass
    : smx::impl::SmxPrepareParallelLoopsPassBase<
          SmxPrepareParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<scf::ParallelOp> outermost;
    SmallVector<scf::ParallelOp> nested;
    getOperation()->walk([&](scf::ParallelOp loop) {
      if (loop->getParentOfType<scf::ParallelOp>())
        nested.push_back(loop);
      else
        outermost.push_back(loop);
    });

    IRRewriter rewriter(&getContext());
    // The walk is post-order, so inner loops come before the loops around
    // them and each conversion sees for-nests below it.
    for (scf::ParallelOp loop : nested)
      if (loop.getInitVals().empty() &&
          failed(sequentialize(rewriter, loop)))
        return signalPassFailure();

    for (scf::ParallelOp loop : outermost) {
      if (!loop.getInitVals().empty())
        continue;
      std::optional<int64_t> iterations = getIterationCount(loop);
      if (!iterations ||
          *iterations * estimateWork(*loop.getBody()) < minParallelWork) {
        if (failed(sequentialize(rewriter, loop)))
          return signalPassFailure();
        continue;
      }
      if (loop.getNumLoops() > 1 && isStraightLine(*loop.getBody()) &&
          failed(sequentializeInnermostDimension(rewriter, loop)))
        return signalPassFailure();
    }
  }

  LogicalResult sequentialize(RewriterBase &rewriter, scf::ParallelOp loop) {
    rewriter.setInsertionPoint(loop);
    if (succeeded(scf::parallelForToNestedFors(rewriter, loop)))
      return success();
    return loop.emitOpError("cannot be turned into a sequential loop nest");
  }
};
} // namespace
