//===- PlanMemory.cpp - static buffer assignment in one arena --------------===//
//
// Every shape in a compiled model is static, so after bufferization the
// compiler knows the size and the lifetime of every buffer a function
// allocates in its entry block. This pass assigns each of them an offset in
// one arena so that buffers whose lifetimes overlap never share bytes, and
// buffers that are dead by then reuse the bytes of earlier ones (buffer
// assignment by liveness, as XLA's and IREE's are; the packing is the
// greedy-by-size heuristic of TFLite's arena planner).
//
// Lifetimes are intervals of positions in the entry block: a buffer is live
// from its `memref.alloc` to the last entry-block operation that uses it or
// one of its aliases (views, casts, reshapes, values yielded out of
// regions); a use inside a region counts at the region's entry-block
// ancestor, so a buffer used in a loop lives through the whole loop.
// Buffers that escape (returned, or whose address leaves the memref world)
// keep their own allocation.
//
//===----------------------------------------------------------------------===//

#include "smx/Target/CPU/Passes.h"

#include "ResultsInPlace.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>

namespace mlir::smx {
#define GEN_PASS_DEF_SMXPLANMEMORYPASS
#include "smx/Target/CPU/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

namespace {

/// Every buffer of the arena starts on this boundary: a cache line, and the
/// alignment the runtime's kernels and the vectorized loops expect.
constexpr int64_t kArenaAlignment = 64;

/// One buffer to place: its allocation, bytes, lifetime and, once planned,
/// its offset in the arena.
struct PlannedBuffer {
  memref::AllocOp alloc;
  int64_t bytes = 0;
  unsigned begin = 0;
  unsigned end = 0;
  int64_t offset = -1;

  bool overlaps(const PlannedBuffer &other) const {
    return begin <= other.end && other.begin <= end;
  }
};

} // namespace

static int64_t alignUp(int64_t bytes) {
  return static_cast<int64_t>(llvm::alignTo(bytes, kArenaAlignment));
}

/// Bytes of a static, identity-layout memref in the default memory space,
/// or nothing when the buffer cannot live in the arena.
static std::optional<int64_t> getPlannableBytes(MemRefType type,
                                                const DataLayout &layout) {
  if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
      type.getMemorySpace())
    return std::nullopt;
  Type elementType = type.getElementType();
  if (!elementType.isIntOrIndexOrFloat())
    return std::nullopt;
  int64_t elementBytes =
      static_cast<int64_t>(layout.getTypeSize(elementType).getFixedValue());
  return std::max<int64_t>(elementBytes * type.getNumElements(), 1);
}

/// The last entry-block position at which `alloc`'s buffer (or an alias of
/// it) is used, or nothing when the buffer escapes the function.
static std::optional<unsigned>
findLastUse(memref::AllocOp alloc, Block &entry,
            const DenseMap<Operation *, unsigned> &positions) {
  unsigned last = positions.lookup(alloc);
  SmallVector<Value> worklist = {alloc.getResult()};
  DenseSet<Value> visited = {alloc.getResult()};
  auto addAlias = [&](Value alias) {
    if (isa<BaseMemRefType>(alias.getType()) && visited.insert(alias).second)
      worklist.push_back(alias);
  };
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      // The buffer leaves the function, or its address leaves the memref
      // world where this analysis can follow it.
      if (isa<func::ReturnOp, memref::ExtractAlignedPointerAsIndexOp>(user))
        return std::nullopt;
      Operation *anchor = entry.findAncestorOpInBlock(*user);
      if (!anchor)
        return std::nullopt;
      last = std::max(last, positions.lookup(anchor));
      // Any memref an operation produces from the buffer may alias it
      // (views, casts, reshapes, region results): follow them all.
      for (Value result : user->getResults())
        addAlias(result);
      // A value yielded to the parent op flows out through its results.
      if (user->hasTrait<OpTrait::IsTerminator>() && user != anchor)
        if (Operation *parent = user->getParentOp())
          for (Value result : parent->getResults())
            addAlias(result);
      // A value passed into a region (loop-carried values) aliases the
      // region's arguments.
      if (isa<RegionBranchOpInterface>(user))
        for (Region &region : user->getRegions())
          for (BlockArgument argument : region.getArguments())
            addAlias(argument);
    }
  }
  return last;
}

void mlir::smx::computeResultsInPlace(Block &entry) {
  SmallVector<memref::CopyOp> copies;
  for (auto copy : entry.getOps<memref::CopyOp>())
    copies.push_back(copy);
  for (memref::CopyOp copy : copies) {
    auto target = dyn_cast<BlockArgument>(copy.getTarget());
    auto alloc = copy.getSource().getDefiningOp<memref::AllocOp>();
    if (!target || target.getOwner() != &entry || !target.hasOneUse() ||
        !alloc || alloc->getBlock() != &entry ||
        alloc.getType() != target.getType())
      continue;
    bool usedAfter = llvm::any_of(alloc->getUsers(), [&](Operation *user) {
      Operation *anchor = entry.findAncestorOpInBlock(*user);
      return !anchor || copy->isBeforeInBlock(anchor);
    });
    if (usedAfter)
      continue;
    copy.erase();
    alloc.replaceAllUsesWith(target);
    alloc.erase();
  }
}

/// Greedy by size: the largest buffers first, each at the lowest offset
/// that no placed buffer with an overlapping lifetime occupies. Returns the
/// arena's size.
static int64_t assignOffsets(MutableArrayRef<PlannedBuffer> buffers) {
  SmallVector<PlannedBuffer *> order;
  for (PlannedBuffer &buffer : buffers)
    order.push_back(&buffer);
  llvm::stable_sort(order, [](const PlannedBuffer *a, const PlannedBuffer *b) {
    return a->bytes > b->bytes;
  });
  int64_t arenaBytes = 0;
  SmallVector<PlannedBuffer *> placed;
  SmallVector<PlannedBuffer *> conflicts;
  for (PlannedBuffer *buffer : order) {
    conflicts.clear();
    for (PlannedBuffer *other : placed)
      if (other->overlaps(*buffer))
        conflicts.push_back(other);
    llvm::sort(conflicts, [](const PlannedBuffer *a, const PlannedBuffer *b) {
      return a->offset < b->offset;
    });
    int64_t offset = 0;
    for (PlannedBuffer *other : conflicts) {
      if (other->offset >= offset + buffer->bytes)
        break;
      offset = std::max(offset, alignUp(other->offset + other->bytes));
    }
    buffer->offset = offset;
    arenaBytes = std::max(arenaBytes, offset + buffer->bytes);
    placed.push_back(buffer);
  }
  return alignUp(arenaBytes);
}

/// The most bytes live at once and the first entry-block position where
/// that many are.
static std::pair<int64_t, unsigned>
findPeak(ArrayRef<PlannedBuffer> buffers) {
  // Sweep over lifetime boundaries: +bytes at begin, -bytes after end.
  SmallVector<std::pair<unsigned, int64_t>> events;
  for (const PlannedBuffer &buffer : buffers) {
    events.push_back({buffer.begin, buffer.bytes});
    events.push_back({buffer.end + 1, -buffer.bytes});
  }
  llvm::sort(events, [](auto a, auto b) {
    return a.first != b.first ? a.first < b.first : a.second < b.second;
  });
  int64_t live = 0, peak = 0;
  unsigned peakPosition = 0;
  for (auto [position, delta] : events) {
    live += delta;
    if (live > peak) {
      peak = live;
      peakPosition = position;
    }
  }
  return {peak, peakPosition};
}

namespace {
struct SmxPlanMemoryPass
    : public smx::impl::SmxPlanMemoryPassBase<SmxPlanMemoryPass> {
  void runOnOperation() override {
    func::FuncOp function = getOperation();
    if (function.isExternal())
      return;
    Block &entry = function.getBody().front();
    computeResultsInPlace(entry);
    DataLayout layout = DataLayout::closest(function);

    DenseMap<Operation *, unsigned> positions;
    for (auto [position, op] : llvm::enumerate(entry))
      positions[&op] = position;

    SmallVector<PlannedBuffer> buffers;
    for (auto alloc : entry.getOps<memref::AllocOp>()) {
      std::optional<int64_t> bytes =
          getPlannableBytes(alloc.getType(), layout);
      if (!bytes || (alloc.getAlignment() &&
                     *alloc.getAlignment() > kArenaAlignment))
        continue;
      std::optional<unsigned> last = findLastUse(alloc, entry, positions);
      if (!last)
        continue;
      PlannedBuffer buffer;
      buffer.alloc = alloc;
      buffer.bytes = *bytes;
      buffer.begin = positions.lookup(alloc);
      buffer.end = *last;
      buffers.push_back(buffer);
    }

    int64_t arenaBytes = buffers.empty() ? 0 : assignOffsets(buffers);
    auto [peakBytes, peakPosition] = findPeak(buffers);
    MLIRContext *context = &getContext();
    Builder attrs(context);
    function->setAttr(kArenaBytesAttrName, attrs.getI64IntegerAttr(arenaBytes));
    function->setAttr(kPeakLiveBytesAttrName,
                      attrs.getI64IntegerAttr(peakBytes));
    if (!buffers.empty()) {
      StringRef path =
          getModelPath(std::next(entry.begin(), peakPosition)->getLoc());
      if (!path.empty())
        function->setAttr(kPeakAtAttrName, attrs.getStringAttr(path));
    }
    if (buffers.empty())
      return;

    // An entry function takes the arena from its caller, as a last argument
    // (the application allocates it once, docs/abi.md); any other function
    // allocates it, and the deallocation pipeline frees it. Every buffer
    // becomes a view at its offset.
    OpBuilder builder = OpBuilder::atBlockBegin(&entry);
    Location loc = function.getLoc();
    auto arenaType = MemRefType::get({arenaBytes}, builder.getI8Type());
    Value arena;
    if (function->hasAttr(kEntryArgumentsAttrName)) {
      unsigned index = function.getNumArguments();
      if (failed(function.insertArgument(
              index, arenaType,
              builder.getDictionaryAttr(builder.getNamedAttr(
                  kWorkspaceAttrName, builder.getUnitAttr())),
              loc)))
        return signalPassFailure();
      arena = function.getArgument(index);
    } else {
      arena = memref::AllocOp::create(
          builder, loc, arenaType, builder.getI64IntegerAttr(kArenaAlignment));
    }
    // One constant per distinct offset, next to the arena.
    DenseMap<int64_t, Value> offsets;
    for (PlannedBuffer &buffer : buffers) {
      Value &offset = offsets[buffer.offset];
      if (!offset)
        offset = arith::ConstantIndexOp::create(builder, loc, buffer.offset);
    }
    for (PlannedBuffer &buffer : buffers) {
      memref::AllocOp alloc = buffer.alloc;
      builder.setInsertionPoint(alloc);
      Value offset = offsets.lookup(buffer.offset);
      Value view = memref::ViewOp::create(builder, alloc.getLoc(),
                                          alloc.getType(), arena, offset,
                                          ValueRange());
      alloc.replaceAllUsesWith(view);
      alloc.erase();
    }
  }
};
} // namespace
