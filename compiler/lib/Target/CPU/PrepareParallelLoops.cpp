//===- PrepareParallelLoops.cpp - threads outside, vectors inside ---------===//

#include "smx/Target/CPU/Passes.h"
#include "smx/Target/CPU/StaticSizes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXPREPAREPARALLELLOOPSPASS
#include "smx/Target/CPU/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;

/// Operations one run of `block` executes, loops counted with their static
/// trip counts (a loop of unknown trip count counts as one run of its body).
static int64_t estimateWork(Block &block) {
  int64_t work = 0;
  for (Operation &op : block) {
    int64_t trips = 1;
    if (auto loop = dyn_cast<scf::ForOp>(op))
      trips = smx::getStaticTripCount(loop.getLowerBound(),
                                      loop.getUpperBound(), loop.getStep())
                  .value_or(1);
    int64_t nested = 0;
    for (Region &region : op.getRegions())
      for (Block &inner : region)
        nested += estimateWork(inner);
    work += 1 + trips * nested;
  }
  return work;
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

/// A reduction the linalg lowering leaves in memory: `loop` loads the
/// accumulator from `memref[indices]` (indices defined outside the loop),
/// combines it with one binary operation (a sum, a maximum) and stores the
/// result back, once per iteration. Returns the load and store when the loop touches that memref
/// nowhere else, writes no other memref and is the store's only writer.
static std::optional<std::pair<memref::LoadOp, memref::StoreOp>>
matchMemoryReduction(scf::ForOp loop) {
  Block *body = loop.getBody();
  if (loop.getNumResults() != 0)
    return std::nullopt;
  memref::StoreOp store;
  for (Operation &op : *body) {
    if (!isa<memref::StoreOp>(op))
      continue;
    if (store)
      return std::nullopt;
    store = cast<memref::StoreOp>(op);
  }
  if (!store)
    return std::nullopt;
  Operation *combiner = store.getValueToStore().getDefiningOp();
  if (!combiner || combiner->getBlock() != body ||
      combiner->getNumOperands() != 2 || combiner->getNumResults() != 1)
    return std::nullopt;
  Value memref = store.getMemRef();
  memref::LoadOp accumulator;
  bool other = false;
  loop.walk([&](Operation *op) {
    if (op == store.getOperation() || !op->getParentRegion())
      return;
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      if (load.getMemRef() != memref)
        return;
      if (accumulator || load->getBlock() != body ||
          load.getIndices() != store.getIndices())
        other = true;
      else
        accumulator = load;
      return;
    }
    // Nested loops, stores elsewhere, calls: not this simple shape.
    if (!isa<scf::YieldOp>(op) && op != loop.getOperation() &&
        (op->getNumRegions() > 0 || !isMemoryEffectFree(op)))
      other = true;
  });
  if (other || !accumulator ||
      !llvm::is_contained(combiner->getOperands(), accumulator.getResult()) ||
      !accumulator.getResult().hasOneUse())
    return std::nullopt;
  for (Value index : store.getIndices())
    if (loop.getBodyRegion().isAncestor(index.getParentRegion()))
      return std::nullopt;
  return std::make_pair(accumulator, store);
}

/// Keeps a memory reduction's accumulator in a register: one load before
/// the loop, the partial result carried by the loop, one store after it. A
/// float sum or product is marked reassociable so that the loop vectorizer
/// may split it into lanes (the order of a float sum changes in the last
/// bits; the numerics tests' tolerances cover it). Only loops that write nothing but the accumulator
/// and read other memrefs are rewritten: the buffers such a loop reads are
/// inputs of a linalg reduction, which bufferization never aliases with its
/// output.
static void promoteMemoryReduction(RewriterBase &rewriter, scf::ForOp loop) {
  std::optional<std::pair<memref::LoadOp, memref::StoreOp>> match =
      matchMemoryReduction(loop);
  if (!match)
    return;
  auto [accumulator, store] = *match;
  Location loc = loop.getLoc();
  rewriter.setInsertionPoint(loop);
  Value initial = memref::LoadOp::create(rewriter, loc, store.getMemRef(),
                                         store.getIndices());
  auto promoted = scf::ForOp::create(
      rewriter, loc, loop.getLowerBound(), loop.getUpperBound(),
      loop.getStep(), ValueRange{initial},
      [&](OpBuilder &builder, Location, Value iv, ValueRange iterArgs) {
        IRMapping mapping;
        mapping.map(loop.getInductionVar(), iv);
        mapping.map(accumulator.getResult(), iterArgs.front());
        Value next;
        for (Operation &op : loop.getBody()->without_terminator()) {
          if (&op == accumulator.getOperation())
            continue;
          if (&op == store.getOperation()) {
            next = mapping.lookup(store.getValueToStore());
            continue;
          }
          Operation *clone = builder.clone(op, mapping);
          if (op.getNumResults() != 1 ||
              op.getResult(0) != store.getValueToStore())
            continue;
          if (auto sum = dyn_cast<arith::AddFOp>(clone))
            sum.setFastmath(sum.getFastmath() | arith::FastMathFlags::reassoc);
          if (auto product = dyn_cast<arith::MulFOp>(clone))
            product.setFastmath(product.getFastmath() |
                                arith::FastMathFlags::reassoc);
        }
        scf::YieldOp::create(builder, loc, next);
      });
  memref::StoreOp::create(rewriter, loc, promoted.getResult(0),
                          store.getMemRef(), store.getIndices());
  rewriter.eraseOp(loop);
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

    // Reductions in registers, before the nests are shaped for threads.
    SmallVector<scf::ForOp> forLoops;
    getOperation()->walk([&](scf::ForOp loop) { forLoops.push_back(loop); });
    for (scf::ForOp loop : forLoops)
      promoteMemoryReduction(rewriter, loop);

    for (scf::ParallelOp loop : outermost) {
      if (!loop.getInitVals().empty())
        continue;
      std::optional<int64_t> iterations = smx::getStaticIterationCount(loop);
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
    Operation *before = loop->getPrevNode();
    Operation *after = loop->getNextNode();
    Block *block = loop->getBlock();
    if (failed(scf::parallelForToNestedFors(rewriter, loop)))
      return loop.emitOpError("cannot be turned into a sequential loop nest");
    // What replaced `loop` lies between `before` and `after`.
    Block::iterator end = after ? Block::iterator(after) : block->end();
    for (Block::iterator it = before ? std::next(Block::iterator(before))
                                     : block->begin();
         it != end;) {
      Operation *op = &*it++;
      hoistStackBuffers(rewriter, op);
    }
    return success();
  }

  /// In a sequential nest, the per-iteration stack buffers of
  /// smx-fuse-row-loops (an `alloca_scope` per row) can be one buffer
  /// before the nest: no two iterations run at once. An `alloca_scope`
  /// would also split the `scf.for` body into blocks when it is lowered.
  static void hoistStackBuffers(RewriterBase &rewriter, Operation *nest) {
    SmallVector<memref::AllocaScopeOp> scopes;
    nest->walk([&](memref::AllocaScopeOp scope) { scopes.push_back(scope); });
    for (memref::AllocaScopeOp scope : scopes) {
      if (scope.getNumResults() != 0)
        continue;
      Block &body = scope.getBodyRegion().front();
      for (Operation &op : llvm::make_early_inc_range(body))
        if (auto alloca = dyn_cast<memref::AllocaOp>(op);
            alloca && alloca->getNumOperands() == 0)
          rewriter.moveOpBefore(alloca, nest);
      rewriter.eraseOp(body.getTerminator());
      rewriter.inlineBlockBefore(&body, scope);
      rewriter.eraseOp(scope);
    }
  }
};
} // namespace
