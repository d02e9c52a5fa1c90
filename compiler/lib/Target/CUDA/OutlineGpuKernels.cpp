//===- OutlineGpuKernels.cpp - loop nests as GPU kernels ------------------===//
//
// The CUDA target's counterpart of smx-outline-kernels: after the linalg
// lowering, each loop nest of the model's functions that only reads and
// writes memory becomes a launch of a `gpu.func`, one thread per iteration
// of its parallel dimensions; kernels of equal text are shared. See the
// pass description in Passes.td for the mapping and its contract.
//
//===----------------------------------------------------------------------===//

#include "smx/Target/CUDA/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "smx/Target/KernelOutlining.h"
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
        return isHostOnly(op) ? WalkResult::interrupt()
                              : WalkResult::advance();
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
    space.tripCounts.push_back(
        std::max<int64_t>(0, llvm::divideCeil(*upperValue - *lowerValue,
                                              *stepValue)));
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
    scope->getBlock()->getOperations().splice(
        scope->getIterator(), body.getOperations());
    scope->erase();
  }
  Block &entry = kernel.getBody().front();
  kernel.walk([&](memref::AllocaOp alloca) {
    if (alloca->getBlock() != &entry && alloca.getType().hasStaticShape() &&
        alloca.getDynamicSizes().empty())
      alloca->moveBefore(&entry, entry.begin());
  });
}

/// Builds the body of a kernel that runs `loop` over `space` with
/// `blockThreads` threads per block; `mapping` maps the loop's captures to
/// the kernel's arguments and cloned constants.
void buildKernelBody(OpBuilder &builder, Location loc, Operation *loop,
                     const ThreadSpace &space, int64_t blockThreads,
                     IRMapping &mapping) {
  auto parallel = dyn_cast<scf::ParallelOp>(loop);
  if (!parallel || space.tripCounts.empty()) {
    builder.clone(*loop, mapping);
    return;
  }
  auto indexConstant = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(builder, loc, value);
  };
  Value block = gpu::BlockIdOp::create(builder, loc, gpu::Dimension::x);
  Value thread = gpu::ThreadIdOp::create(builder, loc, gpu::Dimension::x);
  Value linear = arith::AddIOp::create(
      builder, loc,
      arith::MulIOp::create(builder, loc, block, indexConstant(blockThreads)),
      thread);
  Value inRange = arith::CmpIOp::create(builder, loc, arith::CmpIPredicate::ult,
                                        linear,
                                        indexConstant(space.getNumThreads()));
  auto guard = scf::IfOp::create(builder, loc, inRange);
  builder.setInsertionPointToStart(&guard.getThenRegion().front());

  // Last dimension fastest: index_d = lower_d + (linear / inner_d) % trip_d
  // * step_d, with inner_d the product of the trip counts after d.
  int64_t rank = space.tripCounts.size();
  int64_t inner = 1;
  SmallVector<Value> indices(rank);
  for (int64_t dim = rank - 1; dim >= 0; --dim) {
    Value position = linear;
    if (inner != 1)
      position = arith::DivUIOp::create(builder, loc, position,
                                        indexConstant(inner));
    if (dim != 0)
      position = arith::RemUIOp::create(builder, loc, position,
                                        indexConstant(space.tripCounts[dim]));
    if (space.steps[dim] != 1)
      position = arith::MulIOp::create(builder, loc, position,
                                       indexConstant(space.steps[dim]));
    if (space.lowerBounds[dim] != 0)
      position = arith::AddIOp::create(builder, loc, position,
                                       indexConstant(space.lowerBounds[dim]));
    indices[dim] = position;
    inner *= space.tripCounts[dim];
  }
  for (auto [inductionVar, index] :
       llvm::zip(parallel.getInductionVars(), indices))
    mapping.map(inductionVar, index);
  // The body without its `scf.reduce` terminator (the loop has no results).
  for (Operation &op : parallel.getBody()->without_terminator())
    builder.clone(op, mapping);
}

struct SmxOutlineGpuKernelsPass
    : public smx::impl::SmxOutlineGpuKernelsPassBase<
          SmxOutlineGpuKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (blockSize < kWarpSize || blockSize > 1024 ||
        blockSize % kWarpSize != 0) {
      module.emitError() << "smx-outline-gpu-kernels: block-size "
                         << blockSize
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
      bool isLoop = isa<scf::ParallelOp, scf::ForOp>(op) &&
                    op.getNumResults() == 0;
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
    buildKernelBody(builder, loc, loop, space, blockThreads, mapping);
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
    llvm::SmallDenseMap<int64_t, Value> launchConstants;
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
