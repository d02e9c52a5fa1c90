//===- OutlineGpuKernels.cpp - loop nests as GPU kernels ------------------===//
//
// The CUDA target's counterpart of smx-outline-kernels: after the linalg
// lowering, each loop nest of the model's functions that only reads and
// writes memory becomes a launch of a `gpu.func`: one thread per iteration
// of its parallel dimensions, or, for a row kernel, one block per row with
// its reductions combined by `gpu.all_reduce`; kernels of equal text are
// shared. See the pass description in Passes.td for the mapping and its
// contract.
//
//===----------------------------------------------------------------------===//

#include "smx/Target/CUDA/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "smx/Target/KernelOutlining.h"

#include "Reductions.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXOUTLINEGPUKERNELSPASS
#include "smx/Target/CUDA/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

namespace {

constexpr int64_t kWarpSize = 32;

/// Whether `op` must run on the host: it calls a function (the runtime),
/// allocates or frees a buffer, or copies one (which may lower to a call).
bool isHostOnly(Operation *op) {
  return isa<CallOpInterface, memref::AllocOp, memref::DeallocOp,
             memref::CopyOp>(op);
}

bool containsHostOnlyOps(Operation *root) {
  return root
      ->walk([](Operation *op) {
        return isHostOnly(op) ? WalkResult::interrupt() : WalkResult::advance();
      })
      .wasInterrupted();
}

/// The iteration space of a loop nest mapped to threads: the trip count,
/// lower bound and step of each parallel dimension (none for a loop nest
/// that runs on one thread).
struct ThreadSpace {
  SmallVector<int64_t> tripCounts, lowerBounds, steps;

  int64_t getNumThreads() const {
    int64_t threads = 1;
    for (int64_t count : tripCounts)
      threads *= count;
    return threads;
  }
};

/// The parallel dimensions of `loop` if it is an `scf.parallel` whose
/// bounds are constants; none otherwise (the nest runs on one thread).
ThreadSpace getThreadSpace(Operation *loop) {
  ThreadSpace space;
  auto parallel = dyn_cast<scf::ParallelOp>(loop);
  if (!parallel)
    return space;
  for (auto [lower, upper, step] :
       llvm::zip(parallel.getLowerBound(), parallel.getUpperBound(),
                 parallel.getStep())) {
    std::optional<int64_t> lowerValue = getConstantIntValue(lower);
    std::optional<int64_t> upperValue = getConstantIntValue(upper);
    std::optional<int64_t> stepValue = getConstantIntValue(step);
    if (!lowerValue || !upperValue || !stepValue || *stepValue <= 0)
      return ThreadSpace();
    space.lowerBounds.push_back(*lowerValue);
    space.steps.push_back(*stepValue);
    space.tripCounts.push_back(std::max<int64_t>(
        0, llvm::divideCeil(*upperValue - *lowerValue, *stepValue)));
  }
  return space;
}

/// Threads per block for `threads` threads: `blockSize`, or fewer rounded
/// up to a warp.
int64_t getBlockThreads(int64_t threads, int64_t blockSize) {
  if (threads >= blockSize)
    return blockSize;
  return std::max<int64_t>(kWarpSize, llvm::alignTo(threads, kWarpSize));
}

/// Inlines the `memref.alloca_scope`s of `kernel` and moves their
/// `memref.alloca`s (static sizes: per-thread scratch) to its entry block.
void hoistScratch(gpu::GPUFuncOp kernel) {
  SmallVector<memref::AllocaScopeOp> scopes;
  kernel.walk([&](memref::AllocaScopeOp scope) { scopes.push_back(scope); });
  for (memref::AllocaScopeOp scope : llvm::reverse(scopes)) {
    Block &body = scope.getBodyRegion().front();
    auto terminator = cast<memref::AllocaScopeReturnOp>(body.getTerminator());
    scope->replaceAllUsesWith(terminator.getResults());
    terminator->erase();
    scope->getBlock()->getOperations().splice(scope->getIterator(),
                                              body.getOperations());
    scope->erase();
  }
  Block &entry = kernel.getBody().front();
  kernel.walk([&](memref::AllocaOp alloca) {
    if (alloca->getBlock() != &entry && alloca.getType().hasStaticShape() &&
        alloca.getDynamicSizes().empty())
      alloca->moveBefore(&entry, entry.begin());
  });
}

//===----------------------------------------------------------------------===//
// Loop nests in GPU-friendly form
//===----------------------------------------------------------------------===//

/// Whether `loop` is `scf.for` or one-dimensional `scf.parallel` from 0 to a
/// constant by 1, without results: a loop over a row's elements. Returns
/// its trip count.
std::optional<int64_t> getElementLoopLength(Operation *op) {
  Value lower, upper, step;
  if (auto loop = dyn_cast<scf::ForOp>(op)) {
    if (loop.getNumResults() != 0)
      return std::nullopt;
    lower = loop.getLowerBound();
    upper = loop.getUpperBound();
    step = loop.getStep();
  } else if (auto parallel = dyn_cast<scf::ParallelOp>(op)) {
    if (parallel.getNumLoops() != 1 || parallel.getNumResults() != 0)
      return std::nullopt;
    lower = parallel.getLowerBound()[0];
    upper = parallel.getUpperBound()[0];
    step = parallel.getStep()[0];
  } else {
    return std::nullopt;
  }
  std::optional<int64_t> lowerValue = getConstantIntValue(lower);
  std::optional<int64_t> upperValue = getConstantIntValue(upper);
  std::optional<int64_t> stepValue = getConstantIntValue(step);
  if (!lowerValue || !upperValue || !stepValue || *lowerValue != 0 ||
      *stepValue != 1 || *upperValue < 1)
    return std::nullopt;
  return *upperValue;
}

/// The perfect nest of result-free `scf.for`s that starts at `outer`: each
/// loop's body is the next loop alone.
SmallVector<scf::ForOp> getPerfectForNest(scf::ForOp outer) {
  SmallVector<scf::ForOp> nest{outer};
  while (true) {
    Block *body = nest.back().getBody();
    if (!llvm::hasSingleElement(body->without_terminator()))
      break;
    auto inner = dyn_cast<scf::ForOp>(body->front());
    if (!inner || inner.getNumResults() != 0)
      break;
    nest.push_back(inner);
  }
  return nest;
}

/// `for k { parallel c { body } }` (or several `for`s around the parallel
/// loop), the form linalg's reductions over their leading dimensions lower
/// to (a bias gradient: sum over rows for each column), as `parallel c {
/// for k { body } }`: the parallel dimensions outside, where they become
/// threads, instead of one thread running the whole nest. Valid for the
/// loop nests of a linalg op: the parallel iterations touch disjoint
/// outputs at every k. Returns the new loop, or null.
scf::ParallelOp interchangeReductionOutside(scf::ForOp loop) {
  if (loop.getNumResults() != 0)
    return nullptr;
  SmallVector<scf::ForOp> nest = getPerfectForNest(loop);
  Block *innermost = nest.back().getBody();
  if (!llvm::hasSingleElement(innermost->without_terminator()))
    return nullptr;
  auto parallel = dyn_cast<scf::ParallelOp>(innermost->front());
  if (!parallel || parallel.getNumResults() != 0)
    return nullptr;
  for (Value bound : parallel->getOperands())
    if (loop.getRegion().isAncestor(bound.getParentRegion()))
      return nullptr;
  OpBuilder builder(loop);
  Location loc = loop.getLoc();
  auto outer =
      scf::ParallelOp::create(builder, loc, parallel.getLowerBound(),
                              parallel.getUpperBound(), parallel.getStep());
  builder.setInsertionPointToStart(outer.getBody());
  // The `for`s, in their order, inside the parallel loop.
  scf::ForOp innerFor;
  for (scf::ForOp old : nest) {
    innerFor = scf::ForOp::create(builder, loc, old.getLowerBound(),
                                  old.getUpperBound(), old.getStep());
    old.getInductionVar().replaceAllUsesWith(innerFor.getInductionVar());
    builder.setInsertionPointToStart(innerFor.getBody());
  }
  // The parallel loop's body, not its `scf.reduce`, in the innermost one.
  Block *body = innerFor.getBody();
  body->getOperations().splice(
      body->getTerminator()->getIterator(), parallel.getBody()->getOperations(),
      parallel.getBody()->begin(), std::prev(parallel.getBody()->end()));
  for (auto [from, to] :
       llvm::zip(parallel.getInductionVars(), outer.getInductionVars()))
    from.replaceAllUsesWith(to);
  loop.erase();
  return outer;
}

/// A perfect nest of `scf.for`s over constant ranges from 0 by 1 as one
/// loop over the product of their trip counts, the indices recovered by
/// division (the last loop fastest). Returns the new loop, or `outer`.
scf::ForOp coalesceConstantNest(scf::ForOp outer) {
  SmallVector<scf::ForOp> nest = getPerfectForNest(outer);
  if (nest.size() == 1)
    return outer;
  SmallVector<int64_t> lengths;
  for (scf::ForOp loop : nest) {
    std::optional<int64_t> length = getElementLoopLength(loop);
    if (!length)
      return outer;
    lengths.push_back(*length);
  }
  int64_t total = 1;
  for (int64_t length : lengths)
    total *= length;
  OpBuilder builder(outer);
  Location loc = outer.getLoc();
  auto indexConstant = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, value);
  };
  auto loop = scf::ForOp::create(builder, loc, indexConstant(0),
                                 indexConstant(total), indexConstant(1));
  builder.setInsertionPointToStart(loop.getBody());
  int64_t inner = 1;
  for (int64_t level = nest.size() - 1; level >= 0; --level) {
    Value index = loop.getInductionVar();
    if (inner != 1)
      index = arith::DivUIOp::create(builder, loc, index, indexConstant(inner));
    if (level != 0)
      index = arith::RemUIOp::create(builder, loc, index,
                                     indexConstant(lengths[level]));
    nest[level].getInductionVar().replaceAllUsesWith(index);
    inner *= lengths[level];
  }
  Block *body = loop.getBody();
  Block *innermost = nest.back().getBody();
  body->getOperations().splice(body->getTerminator()->getIterator(),
                               innermost->getOperations(), innermost->begin(),
                               std::prev(innermost->end()));
  outer.erase();
  return loop;
}

/// `loop` as the single row of a parallel loop of one iteration, so that a
/// reduction over a whole buffer (a loss) runs as one row on one block.
scf::ParallelOp wrapInSingleRow(scf::ForOp loop) {
  OpBuilder builder(loop);
  Location loc = loop.getLoc();
  Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
  Value one = arith::ConstantIndexOp::create(builder, loc, 1);
  auto row = scf::ParallelOp::create(builder, loc, zero, one, one);
  loop->moveBefore(row.getBody()->getTerminator());
  return row;
}

/// An accumulator a loop updates in memory at every iteration
/// (`acc[i] = combine(acc[i], x)`, i invariant in the loop), as linalg's
/// reductions lower: moved into an iteration argument of `loop`, loaded
/// before it and stored after it. Leaves other loops as they are. Returns
/// the new loop (or `loop`).
scf::ForOp promoteAccumulators(scf::ForOp loop) {
  if (loop.getNumResults() != 0)
    return loop;
  struct Accumulator {
    memref::LoadOp load;
    memref::StoreOp store;
    Operation *combiner;
  };
  SmallVector<Accumulator> accumulators;
  for (Operation &op : loop.getBody()->without_terminator()) {
    auto store = dyn_cast<memref::StoreOp>(op);
    if (!store)
      continue;
    Operation *combiner = store.getValue().getDefiningOp();
    if (!combiner || combiner->getBlock() != loop.getBody() ||
        !getAllReduceKind(combiner) || !combiner->hasOneUse())
      continue;
    memref::LoadOp load;
    for (Value operand : combiner->getOperands())
      if (auto candidate = operand.getDefiningOp<memref::LoadOp>())
        if (candidate.getMemRef() == store.getMemRef() &&
            candidate.getIndices() == store.getIndices() &&
            candidate->getBlock() == loop.getBody() && candidate->hasOneUse())
          load = candidate;
    if (!load)
      continue;
    // The location is the same at every iteration, and nothing else in
    // the loop reads or writes the buffer.
    bool invariant = llvm::all_of(store.getIndices(), [&](Value index) {
      return !loop.getRegion().isAncestor(index.getParentRegion());
    });
    bool alone =
        llvm::all_of(store.getMemRef().getUsers(), [&](Operation *user) {
          return user == load || user == store || !loop->isAncestor(user);
        });
    if (invariant && alone)
      accumulators.push_back({load, store, combiner});
  }
  if (accumulators.empty())
    return loop;

  IRRewriter rewriter(loop.getContext());
  rewriter.setInsertionPoint(loop);
  SmallVector<Value> initial;
  for (Accumulator &accumulator : accumulators)
    initial.push_back(memref::LoadOp::create(
        rewriter, accumulator.load.getLoc(), accumulator.load.getMemRef(),
        accumulator.load.getIndices()));
  FailureOr<LoopLikeOpInterface> replaced =
      cast<LoopLikeOpInterface>(loop.getOperation())
          .replaceWithAdditionalYields(
              rewriter, initial, /*replaceInitOperandUsesInLoop=*/false,
              [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
                SmallVector<Value> yielded;
                for (Accumulator &accumulator : accumulators)
                  yielded.push_back(accumulator.combiner->getResult(0));
                return yielded;
              });
  auto promoted = cast<scf::ForOp>(replaced->getOperation());
  rewriter.setInsertionPointAfter(promoted);
  for (auto [accumulator, argument, result] : llvm::zip(
           accumulators, promoted.getRegionIterArgs(), promoted.getResults())) {
    accumulator.load.getResult().replaceAllUsesWith(argument);
    memref::StoreOp::create(rewriter, accumulator.store.getLoc(), result,
                            accumulator.store.getMemRef(),
                            accumulator.store.getIndices());
    accumulator.store.erase();
    accumulator.load.erase();
  }
  return promoted;
}

//===----------------------------------------------------------------------===//
// Rows on blocks
//===----------------------------------------------------------------------===//
//
// A row kernel runs, per iteration of its parallel loop (a row), a few
// loops over the row's elements: elementwise loops and reductions
// (softmax's max and sum, LayerNorm's moments, a column of a bias
// gradient) that communicate through per-row scratch buffers and scalars.
// One thread per row reads a row with one thread: with rows of hundreds of
// elements its loads are strided by the row length, and a warp touches 32
// rows at once. Mapped block per row instead, the block's threads split
// every element loop (thread t takes elements t, t + T, ...: neighbouring
// threads, neighbouring elements), each reduction combines the threads'
// partial results with `gpu.all_reduce` (warp shuffles and shared memory),
// and everything else in the row runs redundantly on every thread, on
// values that are the same in all of them.
//
// That is only correct when no thread reads what another one wrote within
// the row. Every buffer the row writes must be accessed either only at the
// element index of the enclosing element loop, in one position, with the
// other indices the same for the whole row (so the thread that wrote an
// element is the one that reads it), or only at indices the same for the
// whole row and written outside element loops (a per-row value every
// thread writes alike). Anything else keeps one thread per row.

/// A loop over a row's elements, with the reductions of its iteration
/// arguments (each combined by one op gpu.all_reduce has).
struct ElementLoop {
  Operation *op;
  int64_t length;
  SmallVector<Operation *> combiners;

  Value getElementIndex() const {
    if (auto loop = dyn_cast<scf::ForOp>(op))
      return loop.getInductionVar();
    return cast<scf::ParallelOp>(op).getInductionVars()[0];
  }
  Region &getRegion() const { return op->getRegion(0); }
};

std::optional<ElementLoop> matchElementLoop(Operation *op) {
  auto loop = dyn_cast<scf::ForOp>(op);
  std::optional<int64_t> length;
  if (loop && loop.getNumResults() != 0) {
    // A reduction: the same bounds, each iteration argument combined once.
    std::optional<int64_t> lower = getConstantIntValue(loop.getLowerBound());
    std::optional<int64_t> upper = getConstantIntValue(loop.getUpperBound());
    std::optional<int64_t> step = getConstantIntValue(loop.getStep());
    if (!lower || !upper || !step || *lower != 0 || *step != 1 || *upper < 1)
      return std::nullopt;
    length = *upper;
  } else {
    length = getElementLoopLength(op);
  }
  if (!length)
    return std::nullopt;
  ElementLoop element{op, *length, {}};
  if (!loop)
    return element;
  for (auto [accumulator, yielded] :
       llvm::zip(loop.getRegionIterArgs(),
                 loop.getBody()->getTerminator()->getOperands())) {
    Operation *combiner = yielded.getDefiningOp();
    if (!isa<FloatType>(accumulator.getType()) || !combiner ||
        combiner->getBlock() != loop.getBody() || !getAllReduceKind(combiner) ||
        !accumulator.hasOneUse() ||
        accumulator.use_begin()->getOwner() != combiner)
      return std::nullopt;
    element.combiners.push_back(combiner);
  }
  return element;
}

/// The block of ops a row runs: the parallel loop's body, or the
/// `memref.alloca_scope` that is all of it.
Block *getRowBody(scf::ParallelOp parallel) {
  Block *body = parallel.getBody();
  auto ops = body->without_terminator();
  if (llvm::hasSingleElement(ops))
    if (auto scope = dyn_cast<memref::AllocaScopeOp>(*ops.begin()))
      return &scope.getBodyRegion().front();
  return body;
}

/// The element loops of a row body, by op.
using ElementLoops = llvm::DenseMap<Operation *, ElementLoop>;

/// The element loop around `op`, or null.
const ElementLoop *getEnclosingElementLoop(Operation *op,
                                           const ElementLoops &loops) {
  for (Operation *parent = op->getParentOp(); parent;
       parent = parent->getParentOp()) {
    auto found = loops.find(parent);
    if (found != loops.end())
      return &found->second;
  }
  return nullptr;
}

/// Prepares the row body of `parallel` for either mapping: each perfect
/// nest of `scf.for`s one loop, and the accumulators of its `scf.for`
/// loops in iteration arguments.
void promoteRowAccumulators(scf::ParallelOp parallel) {
  Block *body = getRowBody(parallel);
  SmallVector<scf::ForOp> loops(body->getOps<scf::ForOp>());
  for (scf::ForOp loop : loops)
    promoteAccumulators(coalesceConstantNest(loop));
}

/// The element loops of the row body of `parallel` and the length of the
/// longest, if its rows can run on blocks (the comment above says when),
/// none otherwise.
std::optional<int64_t> getBlockPerRowLength(scf::ParallelOp parallel,
                                            ElementLoops &loops) {
  Block *body = getRowBody(parallel);
  int64_t length = 0;
  for (Operation &op : body->without_terminator()) {
    if (std::optional<ElementLoop> loop = matchElementLoop(&op)) {
      length = std::max(length, loop->length);
      loops.try_emplace(&op, *loop);
      continue;
    }
    // Outside element loops: scratch, scalar code and accesses; no region.
    if (op.getNumRegions() != 0)
      return std::nullopt;
  }
  if (loops.empty())
    return std::nullopt;

  // How each buffer the row writes is accessed: at the element index in
  // position p (p), or at indices the same for the whole row (kUniform).
  constexpr unsigned kUniform = ~0u;
  llvm::DenseMap<Value, std::optional<unsigned>> written;
  body->walk([&](memref::StoreOp store) {
    written.try_emplace(store.getMemRef(), std::nullopt);
  });
  bool valid = true;
  body->walk([&](Operation *op) {
    for (Value operand : op->getOperands()) {
      auto found = written.find(operand);
      if (found == written.end())
        continue;
      auto load = dyn_cast<memref::LoadOp>(op);
      auto store = dyn_cast<memref::StoreOp>(op);
      if (!(load && load.getMemRef() == operand) &&
          !(store && store.getMemRef() == operand)) {
        // A view or a call: the accesses cannot be followed.
        valid = false;
        continue;
      }
      ValueRange indices = load ? load.getIndices() : store.getIndices();
      const ElementLoop *loop = getEnclosingElementLoop(op, loops);
      unsigned position = kUniform;
      if (loop) {
        for (auto [index, value] : llvm::enumerate(indices)) {
          if (value == loop->getElementIndex())
            position = index;
          // Any other index computed in the loop may name another thread's
          // element (k + 1, N - 1 - k).
          else if (loop->getRegion().isAncestor(value.getParentRegion()))
            valid = false;
        }
      }
      // A per-row value is written outside element loops only.
      if (position == kUniform && store && loop)
        valid = false;
      if (!found->second)
        found->second = position;
      else if (*found->second != position)
        valid = false;
    }
  });
  if (!valid)
    return std::nullopt;
  return length;
}

/// Maps the induction variables of `parallel` to their values at iteration
/// `linear` of `space`, the last dimension fastest: index_d = lower_d +
/// (linear / inner_d) % trip_d * step_d, with inner_d the product of the
/// trip counts after d.
void mapParallelIndices(OpBuilder &builder, Location loc,
                        scf::ParallelOp parallel, const ThreadSpace &space,
                        Value linear, IRMapping &mapping) {
  auto indexConstant = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, value);
  };
  int64_t rank = space.tripCounts.size();
  int64_t inner = 1;
  for (int64_t dim = rank - 1; dim >= 0; --dim) {
    Value position = linear;
    if (inner != 1)
      position =
          arith::DivUIOp::create(builder, loc, position, indexConstant(inner));
    if (dim != 0)
      position = arith::RemUIOp::create(builder, loc, position,
                                        indexConstant(space.tripCounts[dim]));
    if (space.steps[dim] != 1)
      position = arith::MulIOp::create(builder, loc, position,
                                       indexConstant(space.steps[dim]));
    if (space.lowerBounds[dim] != 0)
      position = arith::AddIOp::create(builder, loc, position,
                                       indexConstant(space.lowerBounds[dim]));
    mapping.map(parallel.getInductionVars()[dim], position);
    inner *= space.tripCounts[dim];
  }
}

/// Builds the body of a kernel that runs `loop` over `space` one thread
/// per iteration, `blockThreads` threads per block; `mapping` maps the
/// loop's captures to the kernel's arguments and cloned constants.
void buildThreadPerIterationBody(OpBuilder &builder, Location loc,
                                 Operation *loop, const ThreadSpace &space,
                                 int64_t blockThreads, IRMapping &mapping) {
  auto parallel = dyn_cast<scf::ParallelOp>(loop);
  if (!parallel || space.tripCounts.empty()) {
    builder.clone(*loop, mapping);
    return;
  }
  Value block = gpu::BlockIdOp::create(builder, loc, gpu::Dimension::x);
  Value thread = gpu::ThreadIdOp::create(builder, loc, gpu::Dimension::x);
  Value linear = arith::AddIOp::create(
      builder, loc,
      arith::MulIOp::create(
          builder, loc, block,
          arith::ConstantIndexOp::create(builder, loc, blockThreads)),
      thread);
  Value inRange = arith::CmpIOp::create(
      builder, loc, arith::CmpIPredicate::ult, linear,
      arith::ConstantIndexOp::create(builder, loc, space.getNumThreads()));
  auto guard = scf::IfOp::create(builder, loc, inRange);
  builder.setInsertionPointToStart(&guard.getThenRegion().front());
  mapParallelIndices(builder, loc, parallel, space, linear, mapping);
  // The body without its `scf.reduce` terminator (the loop has no results).
  for (Operation &op : parallel.getBody()->without_terminator())
    builder.clone(op, mapping);
}

/// Whether `alloca`, a row's scratch buffer, is one-dimensional and only
/// accessed inside element loops (at the element index, which
/// getBlockPerRowLength checked): each thread then keeps only its own
/// elements, every T-th one.
bool isSplitScratch(memref::AllocaOp alloca, const ElementLoops &loops) {
  MemRefType type = alloca.getType();
  if (type.getRank() != 1 || !type.hasStaticShape())
    return false;
  return llvm::all_of(alloca->getUsers(), [&](Operation *user) {
    return isa<memref::LoadOp, memref::StoreOp>(user) &&
           getEnclosingElementLoop(user, loops);
  });
}

/// Whether `store`, a per-row value a row body writes outside its element
/// loops, goes to memory the block's threads share (not the row's own
/// scratch, which each thread has a copy of) and that the row also reads.
bool isSharedByRow(memref::StoreOp store, Block *body) {
  Value memref = store.getMemRef();
  Operation *definition = memref.getDefiningOp();
  if (isa_and_nonnull<memref::AllocaOp>(definition) &&
      definition->getBlock() == body)
    return false;
  return llvm::any_of(memref.getUsers(), [&](Operation *user) {
    return isa<memref::LoadOp>(user) && body->getParentOp()->isAncestor(user);
  });
}

/// Builds the body of a kernel that runs each row of `parallel` (the
/// iterations of `space`) on one block of `threads` threads; `loops` are
/// the row's element loops.
void buildBlockPerRowBody(OpBuilder &builder, Location loc,
                          scf::ParallelOp parallel, const ThreadSpace &space,
                          int64_t threads, const ElementLoops &loops,
                          IRMapping &mapping) {
  Value block = gpu::BlockIdOp::create(builder, loc, gpu::Dimension::x);
  Value thread = gpu::ThreadIdOp::create(builder, loc, gpu::Dimension::x);
  Value stride = arith::ConstantIndexOp::create(builder, loc, threads);
  mapParallelIndices(builder, loc, parallel, space, block, mapping);

  llvm::SmallPtrSet<Value, 4> splitScratch;
  Block *body = getRowBody(parallel);
  for (Operation &op : body->without_terminator()) {
    auto alloca = dyn_cast<memref::AllocaOp>(op);
    if (alloca && isSplitScratch(alloca, loops)) {
      MemRefType type = alloca.getType();
      auto split = memref::AllocaOp::create(
          builder, loc,
          MemRefType::get({static_cast<int64_t>(
                              llvm::divideCeil(type.getDimSize(0), threads))},
                          type.getElementType()));
      mapping.map(alloca.getResult(), split.getResult());
      splitScratch.insert(split.getResult());
      continue;
    }
    auto found = loops.find(&op);
    if (found == loops.end()) {
      // A per-row value in a buffer the row also reads (an accumulator
      // loaded before its loop, a bias element updated in place): every
      // thread reads the old value before any stores the new one, which
      // every thread reads after.
      auto store = dyn_cast<memref::StoreOp>(op);
      bool shared = store && isSharedByRow(store, body);
      if (shared)
        gpu::BarrierOp::create(builder, loc);
      builder.clone(op, mapping);
      if (shared)
        gpu::BarrierOp::create(builder, loc);
      continue;
    }
    const ElementLoop &element = found->second;
    auto oldFor = dyn_cast<scf::ForOp>(op);
    Block *oldBody = &element.getRegion().front();
    // Each thread's partial results start from the reductions' identities.
    SmallVector<gpu::AllReduceOperation> kinds;
    SmallVector<Value> identities;
    for (Operation *combiner : element.combiners) {
      kinds.push_back(*getAllReduceKind(combiner));
      identities.push_back(createReductionIdentity(
          builder, loc, kinds.back(),
          cast<FloatType>(combiner->getResult(0).getType())));
    }
    Value upper = oldFor ? oldFor.getUpperBound()
                         : cast<scf::ParallelOp>(op).getUpperBound()[0];
    // Thread t takes elements t, t + T, ...
    auto loop = scf::ForOp::create(
        builder, loc, thread, mapping.lookupOrDefault(upper), stride,
        identities,
        [&](OpBuilder &nested, Location nestedLoc, Value index,
            ValueRange accumulators) {
          mapping.map(element.getElementIndex(), index);
          if (oldFor)
            for (auto [from, to] :
                 llvm::zip(oldFor.getRegionIterArgs(), accumulators))
              mapping.map(from, to);
          for (Operation &inner : oldBody->without_terminator())
            nested.clone(inner, mapping);
          SmallVector<Value> yielded;
          if (oldFor)
            for (Value value : oldBody->getTerminator()->getOperands())
              yielded.push_back(mapping.lookupOrDefault(value));
          scf::YieldOp::create(nested, nestedLoc, yielded);
        });
    // Split scratch holds element k at k / T.
    loop.walk([&](Operation *access) {
      auto load = dyn_cast<memref::LoadOp>(access);
      auto store = dyn_cast<memref::StoreOp>(access);
      Value memref = load    ? load.getMemRef()
                     : store ? store.getMemRef()
                             : Value();
      if (!memref || !splitScratch.contains(memref))
        return;
      OpOperand &index =
          load ? load.getIndicesMutable()[0] : store.getIndicesMutable()[0];
      OpBuilder indexBuilder(access);
      index.set(arith::DivUIOp::create(indexBuilder, loc, index.get(), stride));
    });
    // The threads' partial results combined, then with the initial values.
    for (auto [position, combiner] : llvm::enumerate(element.combiners)) {
      Value reduced =
          gpu::AllReduceOp::create(builder, loc, loop.getResult(position),
                                   gpu::AllReduceOperationAttr::get(
                                       builder.getContext(), kinds[position]),
                                   builder.getUnitAttr());
      Value initial = mapping.lookupOrDefault(oldFor.getInitArgs()[position]);
      Operation *combined =
          builder.create(loc, combiner->getName().getIdentifier(),
                         ValueRange{initial, reduced},
                         TypeRange{reduced.getType()}, combiner->getAttrs());
      mapping.map(oldFor.getResult(position), combined->getResult(0));
    }
  }
}

struct SmxOutlineGpuKernelsPass
    : public smx::impl::SmxOutlineGpuKernelsPassBase<SmxOutlineGpuKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (blockSize < kWarpSize || blockSize > 1024 ||
        blockSize % kWarpSize != 0) {
      module.emitError() << "smx-outline-gpu-kernels: block-size " << blockSize
                         << " is not a multiple of 32 between 32 and 1024";
      return signalPassFailure();
    }
    SmallVector<Operation *> loops;
    for (auto function : module.getOps<func::FuncOp>())
      if (!function.isExternal())
        collectLoops(function.getBody().front(), loops);
    // Loop nests without an iteration do nothing.
    llvm::erase_if(loops, [](Operation *loop) {
      if (getThreadSpace(loop).getNumThreads() != 0)
        return false;
      loop->erase();
      return true;
    });
    if (loops.empty())
      return;
    // Parallel dimensions outside, accumulators in registers.
    for (Operation *&loop : loops) {
      if (auto nest = dyn_cast<scf::ForOp>(loop)) {
        if (scf::ParallelOp interchanged = interchangeReductionOutside(nest))
          loop = interchanged;
        else if (blockPerRow)
          loop = wrapInSingleRow(coalesceConstantNest(nest));
      }
      if (auto parallel = dyn_cast<scf::ParallelOp>(loop))
        promoteRowAccumulators(parallel);
    }

    OpBuilder builder(module.getBody(), module.getBody()->end());
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    builder.getUnitAttr());
    auto kernels = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModuleName);
    if (!kernels)
      kernels =
          gpu::GPUModuleOp::create(builder, module.getLoc(), kKernelModuleName);
    SymbolTable kernelSymbols(kernels);
    llvm::StringMap<gpu::GPUFuncOp> kernelsByKey;
    for (Operation *loop : loops)
      outline(loop, kernels, kernelSymbols, kernelsByKey);
  }

  /// The loop nests of `block` to map, and of the host loops inside it.
  void collectLoops(Block &block, SmallVectorImpl<Operation *> &loops) {
    for (Operation &op : block) {
      bool isLoop =
          isa<scf::ParallelOp, scf::ForOp>(op) && op.getNumResults() == 0;
      if (!containsHostOnlyOps(&op)) {
        if (isLoop)
          loops.push_back(&op);
        continue;
      }
      // Host code with loop nests inside: attention's loop over examples.
      for (Region &region : op.getRegions())
        for (Block &nested : region)
          collectLoops(nested, loops);
    }
  }

  void outline(Operation *loop, gpu::GPUModuleOp kernels,
               SymbolTable &kernelSymbols,
               llvm::StringMap<gpu::GPUFuncOp> &kernelsByKey) {
    Location loc = loop->getLoc();
    SetVector<Operation *> constants;
    SetVector<Value> arguments;
    collectKernelCaptures(loop, constants, arguments);
    ThreadSpace space = getThreadSpace(loop);
    int64_t threads = space.getNumThreads();
    int64_t blockThreads =
        space.tripCounts.empty() ? 1 : getBlockThreads(threads, blockSize);
    int64_t blocks = llvm::divideCeil(threads, blockThreads);
    // A row kernel with rows long enough to share: one block per row.
    auto parallel = dyn_cast<scf::ParallelOp>(loop);
    std::optional<int64_t> rowLength;
    ElementLoops elementLoops;
    if (blockPerRow && parallel && !space.tripCounts.empty())
      rowLength = getBlockPerRowLength(parallel, elementLoops);
    if (rowLength && *rowLength < kWarpSize)
      rowLength.reset();
    if (rowLength) {
      blockThreads =
          std::min<int64_t>(blockSize, llvm::alignTo(*rowLength, kWarpSize));
      blocks = threads;
    }

    auto function = loop->getParentOfType<func::FuncOp>();
    OpBuilder builder(kernels.getBody(), kernels.getBody()->end());
    auto kernel = gpu::GPUFuncOp::create(
        builder, loc, (function.getName() + "_kernel").str(),
        builder.getFunctionType(TypeRange(arguments.getArrayRef()), {}));
    kernel->setAttr(gpu::GPUDialect::getKernelFuncAttrName(),
                    builder.getUnitAttr());
    kernel.setKnownBlockSizeAttr(builder.getDenseI32ArrayAttr(
        {static_cast<int32_t>(blockThreads), 1, 1}));
    Block &body = kernel.getBody().front();
    IRMapping mapping;
    for (auto [value, argument] : llvm::zip(arguments, body.getArguments()))
      mapping.map(value, argument);
    builder.setInsertionPointToStart(&body);
    for (Operation *constant : constants)
      builder.clone(*constant, mapping);
    if (rowLength)
      buildBlockPerRowBody(builder, loc, parallel, space, blockThreads,
                           elementLoops, mapping);
    else
      buildThreadPerIterationBody(builder, loc, loop, space, blockThreads,
                                  mapping);
    builder.setInsertionPointToEnd(&body);
    gpu::ReturnOp::create(builder, loc);
    hoistScratch(kernel);

    std::string key = getKernelKey(kernel);
    gpu::GPUFuncOp &existing = kernelsByKey[key];
    if (existing) {
      kernel.erase();
      kernel = existing;
    } else {
      existing = kernel;
      kernelSymbols.insert(kernel);
    }

    OpBuilder host(loop);
    llvm::DenseMap<int64_t, Value> launchConstants;
    auto indexConstant = [&](int64_t value) -> Value {
      Value &constant = launchConstants[value];
      if (!constant)
        constant = arith::ConstantIndexOp::create(host, loc, value);
      return constant;
    };
    Value one = indexConstant(1);
    gpu::LaunchFuncOp::create(
        host, loc, kernel, gpu::KernelDim3{indexConstant(blocks), one, one},
        gpu::KernelDim3{indexConstant(blockThreads), one, one},
        /*dynamicSharedMemorySize=*/Value(), arguments.getArrayRef());
    loop->erase();
  }
};

} // namespace
