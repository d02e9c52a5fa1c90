//===- FuseRowLoops.cpp - one parallel loop per row pipeline --------------===//
//
// `convert-linalg-to-parallel-loops` gives every linalg op its own loop
// nest, so a softmax over the rows of a [H, L, L] score matrix is five
// sweeps over the whole matrix (scale and mask, the maximum, its fill, the
// sum of exponentials, the normalization), each streaming it through the
// caches again. Yet every sweep works on one row at a time. This pass fuses
// consecutive `scf.parallel` loops over the same outer dimensions (the
// rows) when each iteration of the later loop touches only the row the same
// iteration of the earlier loop wrote: the rows' sweeps then run back to
// back while the row is in the L1 cache, on one thread, in one fork.
//
// Legality, for loops A then B with a common prefix of P dimensions:
// - both bodies touch memory only through memref.load and memref.store
//   (and loops around them): no calls, no copies;
// - a buffer that one of them writes and the other accesses is indexed, in
//   both, by the P prefix induction variables in its first P dimensions:
//   iteration i of B then reads or writes only what iteration i of A read
//   or wrote;
// - two different buffers, one written, never overlap: each is traced to
//   its root (an allocation, or an argument of an entry function: the
//   runtime's distinct tensors and the arena) and its byte range in it (views
//   of the arena at static offsets; a subview counts as its whole source).
// Operations between A and B without memory effects (constants, views) or
// that only allocate move above A.
//
//===----------------------------------------------------------------------===//

#include "smx/Target/CPU/Passes.h"
#include "smx/Target/CPU/StaticSizes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXFUSEROWLOOPSPASS
#include "smx/Target/CPU/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;

namespace {

/// The bytes a memref value may cover: a range in one root allocation or
/// function argument, or unknown (`root` null).
struct BufferExtent {
  Value root;
  int64_t begin = 0;
  int64_t end = std::numeric_limits<int64_t>::max();

  bool mayOverlap(const BufferExtent &other) const {
    if (!root || !other.root)
      return true;
    if (root != other.root)
      return false;
    return begin < other.end && other.begin < end;
  }
};

/// One load or store of a buffer inside a loop.
struct Access {
  ValueRange indices;
};

/// The loads and stores of a loop's body, per buffer (casts looked
/// through), and whether the body may be fused at all.
struct LoopAccesses {
  llvm::MapVector<Value, SmallVector<Access>> reads;
  llvm::MapVector<Value, SmallVector<Access>> writes;
  bool fusible = true;
};

} // namespace

/// `value` with memref.cast looked through.
static Value stripCasts(Value value) {
  while (auto cast = value.getDefiningOp<memref::CastOp>())
    value = cast.getSource();
  return value;
}

static BufferExtent getExtent(Value value) {
  value = stripCasts(value);
  if (auto view = value.getDefiningOp<memref::ViewOp>()) {
    BufferExtent source = getExtent(view.getSource());
    std::optional<int64_t> shift = getConstantIntValue(view.getByteShift());
    std::optional<int64_t> bytes = smx::getStaticByteSize(view.getType());
    if (!source.root || !shift || !bytes)
      return {source.root};
    return {source.root, source.begin + *shift, source.begin + *shift + *bytes};
  }
  if (auto subview = value.getDefiningOp<memref::SubViewOp>())
    return getExtent(subview.getSource());
  if (auto shape = value.getDefiningOp<memref::ExpandShapeOp>())
    return getExtent(shape.getSrc());
  if (auto shape = value.getDefiningOp<memref::CollapseShapeOp>())
    return getExtent(shape.getSrc());
  bool isRoot = value.getDefiningOp<memref::AllocOp>() ||
                value.getDefiningOp<memref::AllocaOp>();
  // The arguments of an entry function are the runtime's distinct tensors
  // and the arena; other functions' arguments may alias each other.
  if (auto argument = dyn_cast<BlockArgument>(value)) {
    Operation *owner = argument.getOwner()->getParentOp();
    isRoot = isa<FunctionOpInterface>(owner) &&
             owner->hasAttr(smx::kEntryArgumentsAttrName);
  }
  if (!isRoot)
    return {};
  BufferExtent extent{value, 0};
  if (std::optional<int64_t> bytes =
          smx::getStaticByteSize(cast<MemRefType>(value.getType())))
    extent.end = *bytes;
  return extent;
}

static LoopAccesses collectAccesses(scf::ParallelOp loop) {
  LoopAccesses accesses;
  loop.getBody()->walk([&](Operation *op) {
    if (auto load = dyn_cast<memref::LoadOp>(op)) {
      accesses.reads[stripCasts(load.getMemRef())].push_back(
          {load.getIndices()});
      return;
    }
    if (auto store = dyn_cast<memref::StoreOp>(op)) {
      accesses.writes[stripCasts(store.getMemRef())].push_back(
          {store.getIndices()});
      return;
    }
    // Loops and straight-line arithmetic are fine; anything else that
    // touches memory (calls, copies, allocations) is not analyzed.
    if (isa<scf::ForOp, scf::ParallelOp, scf::IfOp>(op) ||
        op->hasTrait<OpTrait::IsTerminator>())
      return;
    if (!isMemoryEffectFree(op))
      accesses.fusible = false;
  });
  return accesses;
}

/// Whether every access in `accesses` indexes its first `prefix` dimensions
/// with the first `prefix` induction variables of `loop`.
static bool isRowLocal(ArrayRef<Access> accesses, scf::ParallelOp loop,
                       unsigned prefix) {
  SmallVector<Value> ivs = loop.getInductionVars();
  return llvm::all_of(accesses, [&](const Access &access) {
    if (access.indices.size() < prefix)
      return false;
    for (unsigned dim = 0; dim < prefix; ++dim)
      if (access.indices[dim] != ivs[dim])
        return false;
    return true;
  });
}

/// The number of leading dimensions `first` and `second` share: equal
/// lower bounds, upper bounds and steps.
static unsigned getCommonPrefix(scf::ParallelOp first, scf::ParallelOp second) {
  auto same = [](Value a, Value b) {
    if (a == b)
      return true;
    std::optional<int64_t> x = getConstantIntValue(a);
    std::optional<int64_t> y = getConstantIntValue(b);
    return x && y && *x == *y;
  };
  unsigned prefix = 0;
  while (prefix < first.getNumLoops() && prefix < second.getNumLoops() &&
         same(first.getLowerBound()[prefix], second.getLowerBound()[prefix]) &&
         same(first.getUpperBound()[prefix], second.getUpperBound()[prefix]) &&
         same(first.getStep()[prefix], second.getStep()[prefix]))
    ++prefix;
  return prefix;
}

/// Whether `second` may run fused with `first` over their first `prefix`
/// dimensions (the legality rules at the top of this file).
static bool canFuse(scf::ParallelOp first, scf::ParallelOp second,
                    unsigned prefix) {
  LoopAccesses a = collectAccesses(first);
  LoopAccesses b = collectAccesses(second);
  if (!a.fusible || !b.fusible)
    return false;
  // Every pair of buffers of which at least one side writes.
  auto conflicts = [&](const llvm::MapVector<Value, SmallVector<Access>> &x,
                       const LoopAccesses &xLoop, scf::ParallelOp xOp,
                       const llvm::MapVector<Value, SmallVector<Access>> &y,
                       const LoopAccesses &yLoop, scf::ParallelOp yOp) {
    for (const auto &[xBuffer, xAccesses] : x) {
      for (const auto &[yBuffer, yAccesses] : y) {
        if (xBuffer == yBuffer) {
          auto allRowLocal = [&](const LoopAccesses &accesses,
                                 scf::ParallelOp loop, Value buffer) {
            for (const auto *map : {&accesses.reads, &accesses.writes}) {
              auto it = map->find(buffer);
              if (it != map->end() && !isRowLocal(it->second, loop, prefix))
                return false;
            }
            return true;
          };
          if (!allRowLocal(xLoop, xOp, xBuffer) ||
              !allRowLocal(yLoop, yOp, yBuffer))
            return true;
          continue;
        }
        if (getExtent(xBuffer).mayOverlap(getExtent(yBuffer)))
          return true;
      }
    }
    return false;
  };
  return !conflicts(a.writes, a, first, b.reads, b, second) &&
         !conflicts(a.writes, a, first, b.writes, b, second) &&
         !conflicts(a.reads, a, first, b.writes, b, second);
}

/// Clones the body of `loop` into the fused loop's body at the builder's
/// insertion point: its first `prefix` induction variables become
/// `outerIvs`, the rest a parallel loop of their own.
static void cloneBody(OpBuilder &builder, scf::ParallelOp loop, unsigned prefix,
                      ValueRange outerIvs) {
  SmallVector<Value> loopIvs = loop.getInductionVars();
  IRMapping mapping;
  for (unsigned dim = 0; dim < prefix; ++dim)
    mapping.map(loopIvs[dim], outerIvs[dim]);
  auto cloneOps = [&](OpBuilder &b) {
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, mapping);
  };
  if (prefix == loop.getNumLoops()) {
    cloneOps(builder);
    return;
  }
  scf::ParallelOp::create(
      builder, loop.getLoc(), loop.getLowerBound().drop_front(prefix),
      loop.getUpperBound().drop_front(prefix),
      loop.getStep().drop_front(prefix),
      [&](OpBuilder &b, Location, ValueRange innerIvs) {
        for (auto [inner, iv] :
             llvm::zip_equal(ArrayRef(loopIvs).drop_front(prefix), innerIvs))
          mapping.map(inner, iv);
        cloneOps(b);
      });
}

/// One loop over the first `prefix` dimensions running `first`'s body then
/// `second`'s, in place of `first`; both are erased.
static scf::ParallelOp fuse(RewriterBase &rewriter, scf::ParallelOp first,
                            scf::ParallelOp second, unsigned prefix) {
  rewriter.setInsertionPoint(first);
  auto fused = scf::ParallelOp::create(
      rewriter, first.getLoc(), first.getLowerBound().take_front(prefix),
      first.getUpperBound().take_front(prefix),
      first.getStep().take_front(prefix),
      [&](OpBuilder &b, Location, ValueRange ivs) {
        cloneBody(b, first, prefix, ivs);
        cloneBody(b, second, prefix, ivs);
      });
  rewriter.eraseOp(first);
  rewriter.eraseOp(second);
  return fused;
}

/// Whether `op`, between two loops, may move above the first: it has no
/// regions and no memory effects but allocating its results.
static bool canHoist(Operation *op) {
  if (op->getNumRegions() != 0 || op->hasTrait<OpTrait::IsTerminator>())
    return false;
  if (isMemoryEffectFree(op))
    return true;
  auto effects = dyn_cast<MemoryEffectOpInterface>(op);
  return effects && effects.hasEffect<MemoryEffects::Allocate>() &&
         !effects.hasEffect<MemoryEffects::Read>() &&
         !effects.hasEffect<MemoryEffects::Write>() &&
         !effects.hasEffect<MemoryEffects::Free>();
}

/// Whether `buffer` is private to the rows of `loop`: an allocation or a
/// view of the arena that only loads and stores inside `loop` touch, each
/// in the row of its iteration (the first `prefix` indices are the loop's
/// induction variables), besides the allocation's release.
static bool isRowPrivate(Value buffer, scf::ParallelOp loop, unsigned prefix) {
  bool allocated = static_cast<bool>(buffer.getDefiningOp<memref::AllocOp>());
  if (!allocated && !buffer.getDefiningOp<memref::ViewOp>())
    return false;
  SmallVector<Access> accesses;
  for (Operation *user : buffer.getUsers()) {
    if (allocated && isa<memref::DeallocOp>(user))
      continue;
    if (!loop->isProperAncestor(user))
      return false;
    if (auto load = dyn_cast<memref::LoadOp>(user))
      accesses.push_back({load.getIndices()});
    else if (auto store = dyn_cast<memref::StoreOp>(user);
             store && store.getMemRef() == buffer)
      accesses.push_back({store.getIndices()});
    else
      return false;
  }
  return isRowLocal(accesses, loop, prefix);
}

/// Replaces the buffers private to the rows of the fused `loop` (over
/// `prefix` dimensions) by one stack buffer per iteration holding its row:
/// the row is written and read back from the L1 cache, and the full-size
/// buffer never reaches memory. The body moves into a
/// `memref.alloca_scope` so each iteration releases its rows.
static void contractRowBuffers(RewriterBase &rewriter, scf::ParallelOp loop,
                               unsigned prefix) {
  llvm::SetVector<Value> buffers;
  loop.getBody()->walk([&](Operation *op) {
    Value buffer;
    if (auto load = dyn_cast<memref::LoadOp>(op))
      buffer = load.getMemRef();
    else if (auto store = dyn_cast<memref::StoreOp>(op))
      buffer = store.getMemRef();
    if (buffer && !buffers.contains(buffer) &&
        isRowPrivate(buffer, loop, prefix))
      buffers.insert(buffer);
  });
  if (buffers.empty())
    return;

  Block *body = loop.getBody();
  rewriter.setInsertionPointToStart(body);
  auto scope =
      memref::AllocaScopeOp::create(rewriter, loop.getLoc(), TypeRange());
  Block *scopeBody = rewriter.createBlock(&scope.getBodyRegion());
  rewriter.setInsertionPointToEnd(scopeBody);
  auto scopeEnd = memref::AllocaScopeReturnOp::create(rewriter, loop.getLoc(),
                                                      ValueRange());
  for (Operation &op : llvm::make_early_inc_range(
           llvm::make_range(std::next(Block::iterator(scope)),
                            Block::iterator(body->getTerminator()))))
    rewriter.moveOpBefore(&op, scopeEnd);

  // The rows first: rewriting the accesses erases ops, and with them any
  // insertion point among them.
  rewriter.setInsertionPointToStart(scopeBody);
  SmallVector<Value> rows;
  for (Value buffer : buffers) {
    auto type = cast<MemRefType>(buffer.getType());
    rows.push_back(memref::AllocaOp::create(
        rewriter, buffer.getLoc(),
        MemRefType::get(type.getShape().drop_front(prefix),
                        type.getElementType())));
  }
  for (auto [buffer, row] : llvm::zip_equal(buffers, rows)) {
    for (Operation *user : llvm::make_early_inc_range(buffer.getUsers())) {
      if (isa<memref::DeallocOp>(user)) {
        rewriter.eraseOp(user);
        continue;
      }
      rewriter.setInsertionPoint(user);
      if (auto load = dyn_cast<memref::LoadOp>(user))
        rewriter.replaceOpWithNewOp<memref::LoadOp>(
            load, row, load.getIndices().drop_front(prefix));
      else if (auto store = dyn_cast<memref::StoreOp>(user))
        rewriter.replaceOpWithNewOp<memref::StoreOp>(
            store, store.getValueToStore(), row,
            store.getIndices().drop_front(prefix));
    }
    rewriter.eraseOp(buffer.getDefiningOp());
  }
}

namespace {
struct SmxFuseRowLoopsPass
    : smx::impl::SmxFuseRowLoopsPassBase<SmxFuseRowLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Block *> blocks;
    getOperation()->walk([&](Block *block) { blocks.push_back(block); });
    IRRewriter rewriter(&getContext());
    SmallVector<std::pair<scf::ParallelOp, unsigned>> fused;
    for (Block *block : blocks)
      fuseInBlock(rewriter, *block, fused);
    if (contractRows)
      for (auto [loop, prefix] : fused)
        contractRowBuffers(rewriter, loop, prefix);
  }

  void
  fuseInBlock(RewriterBase &rewriter, Block &block,
              SmallVectorImpl<std::pair<scf::ParallelOp, unsigned>> &fused) {
    scf::ParallelOp current;
    SmallVector<Operation *> between;
    for (Operation &op : llvm::make_early_inc_range(block)) {
      auto loop = dyn_cast<scf::ParallelOp>(op);
      if (!loop || !loop.getInitVals().empty() ||
          loop->getParentOfType<scf::ParallelOp>()) {
        if (current && canHoist(&op)) {
          between.push_back(&op);
          continue;
        }
        current = nullptr;
        between.clear();
        continue;
      }
      if (current) {
        unsigned prefix = getCommonPrefix(current, loop);
        std::optional<int64_t> rows =
            smx::getStaticIterationCount(loop, prefix);
        if (prefix > 0 && rows && *rows >= minRows &&
            canFuse(current, loop, prefix)) {
          for (Operation *hoisted : between)
            rewriter.moveOpBefore(hoisted, current);
          // A loop fused before is replaced by the larger one.
          if (!fused.empty() && fused.back().first == current)
            fused.pop_back();
          current = fuse(rewriter, current, loop, prefix);
          fused.push_back({current, prefix});
          between.clear();
          continue;
        }
      }
      current = loop;
      between.clear();
    }
  }
};
} // namespace
