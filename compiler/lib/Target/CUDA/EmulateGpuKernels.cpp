//===- EmulateGpuKernels.cpp - GPU kernels run on the CPU -----------------===//
//
// `smxc --target=cuda-emulator`: the CUDA target's kernels, as
// smx-outline-gpu-kernels maps them, run on the CPU with their threads one
// after another, so that the mapping's numerics (rows on blocks, split
// scratch, reductions combined across threads, interchanged and coalesced
// loop nests) are checked against the CPU path where there is no GPU. See
// the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "smx/Target/CUDA/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

#include "Reductions.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXEMULATEGPUKERNELSPASS
#include "smx/Target/CUDA/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

namespace {

/// Emulates one kernel: a function of the kernel's arguments and a block
/// index that runs that block's threads.
class KernelEmulator {
public:
  KernelEmulator(gpu::GPUFuncOp kernel, int64_t threads)
      : kernel(kernel), threads(threads) {}

  FailureOr<func::FuncOp> emulate(OpBuilder &moduleBuilder) {
    Location loc = kernel.getLoc();
    SmallVector<Type> inputs(kernel.getArgumentTypes());
    inputs.push_back(moduleBuilder.getIndexType());
    auto function = func::FuncOp::create(
        moduleBuilder, loc, (kernel.getName() + "_emulated").str(),
        moduleBuilder.getFunctionType(inputs, {}));
    function.setPrivate();
    Block *entry = function.addEntryBlock();
    for (auto [from, to] :
         llvm::zip(kernel.getArguments(), entry->getArguments()))
      mapping.map(from, to);
    block = entry->getArguments().back();
    OpBuilder builder = OpBuilder::atBlockEnd(entry);
    bool waits = kernel
                     .walk([](Operation *op) {
                       return isa<gpu::AllReduceOp, gpu::BarrierOp>(op)
                                  ? WalkResult::interrupt()
                                  : WalkResult::advance();
                     })
                     .wasInterrupted();
    LogicalResult emulated = waits ? emulateRowsOnBlock(builder)
                                   : emulateIndependentThreads(builder);
    if (failed(emulated)) {
      function.erase();
      return failure();
    }
    func::ReturnOp::create(builder, loc);
    return function;
  }

private:
  /// Threads that never wait for each other: the whole body per thread.
  LogicalResult emulateIndependentThreads(OpBuilder &builder) {
    Location loc = kernel.getLoc();
    LogicalResult result = success();
    Block *entry = builder.getInsertionBlock();
    forEachThread(builder, loc, [&](OpBuilder &nested, Value thread) {
      for (Operation &op : kernel.getBody().front().without_terminator())
        if (failed(cloneUniform(nested, op, thread)))
          result = failure();
    });
    // Per-thread scratch (static sizes) allocated once: the threads run one
    // after another, each writing its scratch before reading it.
    SmallVector<memref::AllocaOp> scratch;
    entry->walk([&](memref::AllocaOp alloca) {
      if (alloca->getBlock() != entry && alloca.getDynamicSizes().empty())
        scratch.push_back(alloca);
    });
    for (memref::AllocaOp alloca : scratch)
      alloca->moveBefore(entry, entry->begin());
    return result;
  }

  /// A kernel of rows on blocks: its top-level ops in order, element loops
  /// once per thread, the reductions' partial results combined in thread
  /// order.
  LogicalResult emulateRowsOnBlock(OpBuilder &builder) {
    Block &body = kernel.getBody().front();
    Value threadIndex;
    for (Operation &op : body)
      if (auto thread = dyn_cast<gpu::ThreadIdOp>(op))
        threadIndex = thread.getResult();
    // Element loops: from the thread index, by the block size.
    llvm::SmallPtrSet<Operation *, 8> elementLoops;
    for (auto loop : body.getOps<scf::ForOp>())
      if (threadIndex && loop.getLowerBound() == threadIndex)
        elementLoops.insert(loop);
    auto inElementLoop = [&](Operation *op) {
      for (Operation *parent = op->getParentOp(); parent;
           parent = parent->getParentOp())
        if (elementLoops.contains(parent))
          return true;
      return false;
    };

    Location loc = kernel.getLoc();
    for (Operation &op : body.without_terminator()) {
      // Threads one after another are already in step at a barrier.
      if (isa<gpu::ThreadIdOp, gpu::AllReduceOp, gpu::BarrierOp>(op))
        continue;
      if (auto id = dyn_cast<gpu::BlockIdOp>(op)) {
        mapping.map(id.getResult(), block);
        continue;
      }
      // Scratch only element loops touch: one buffer per thread.
      auto alloca = dyn_cast<memref::AllocaOp>(op);
      if (alloca && !alloca->use_empty() &&
          llvm::all_of(alloca->getUsers(), inElementLoop)) {
        MemRefType type = alloca.getType();
        SmallVector<int64_t> shape{threads};
        llvm::append_range(shape, type.getShape());
        perThread[alloca.getResult()] = memref::AllocaOp::create(
            builder, loc, MemRefType::get(shape, type.getElementType()));
        continue;
      }
      if (!elementLoops.contains(&op)) {
        if (failed(cloneUniform(builder, op, Value())))
          return failure();
        continue;
      }
      if (failed(emulateElementLoop(builder, cast<scf::ForOp>(op))))
        return failure();
    }
    return success();
  }

  /// An element loop once per thread; where a `gpu.all_reduce` reads one of
  /// its results, the threads' results combined.
  LogicalResult emulateElementLoop(OpBuilder &builder, scf::ForOp loop) {
    Location loc = loop.getLoc();
    SmallVector<gpu::AllReduceOp> reductions;
    for (Value result : loop.getResults()) {
      auto reduction = result.hasOneUse()
                           ? dyn_cast<gpu::AllReduceOp>(*result.user_begin())
                           : gpu::AllReduceOp();
      if (!reduction || !reduction.getOp())
        return loop.emitError()
               << "smx-emulate-gpu-kernels: an element loop's result is not "
                  "read by one gpu.all_reduce with a kind";
      reductions.push_back(reduction);
    }
    // The totals start from the loop's initial values, the identities.
    SmallVector<Value> initial;
    for (Value init : loop.getInitArgs())
      initial.push_back(mapping.lookupOrDefault(init));
    LogicalResult result = success();
    scf::ForOp threadLoop = forEachThread(
        builder, loc,
        [&](OpBuilder &nested, Value thread, ValueRange totals) {
          for (auto [scratch, buffer] : perThread) {
            // This thread's row of the per-thread scratch.
            auto type = cast<MemRefType>(scratch.getType());
            SmallVector<OpFoldResult> offsets{thread},
                sizes{nested.getIndexAttr(1)},
                strides(type.getRank() + 1, nested.getIndexAttr(1));
            for (int64_t size : type.getShape()) {
              offsets.push_back(nested.getIndexAttr(0));
              sizes.push_back(nested.getIndexAttr(size));
            }
            auto row = memref::SubViewOp::create(
                nested, loc,
                cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
                    type.getShape(), cast<MemRefType>(buffer.getType()),
                    offsets, sizes, strides)),
                buffer, offsets, sizes, strides);
            mapping.map(scratch, row.getResult());
          }
          mapping.map(loop.getLowerBound(), thread);
          Operation *clone = nested.clone(*loop, mapping);
          SmallVector<Value> combined;
          for (auto [total, partial, reduction] :
               llvm::zip(totals, clone->getResults(), reductions)) {
            Value next = createReductionCombine(nested, loc, *reduction.getOp(),
                                                total, partial);
            if (!next)
              result = failure();
            combined.push_back(next);
          }
          return combined;
        },
        initial);
    for (auto [reduction, total] :
         llvm::zip(reductions, threadLoop.getResults()))
      mapping.map(reduction.getResult(), total);
    return result;
  }

  /// Clones `op`, which must be the same in every thread unless `thread` is
  /// given (then it is the thread index).
  LogicalResult cloneUniform(OpBuilder &builder, Operation &op, Value thread) {
    if (auto id = dyn_cast<gpu::ThreadIdOp>(op)) {
      if (!thread)
        return op.emitError() << "smx-emulate-gpu-kernels: a thread index "
                                 "outside element loops";
      mapping.map(id.getResult(), thread);
      return success();
    }
    if (auto id = dyn_cast<gpu::BlockIdOp>(op)) {
      mapping.map(id.getResult(), block);
      return success();
    }
    WalkResult gpuOps = op.walk([](Operation *nested) {
      return isa<gpu::GPUDialect>(nested->getDialect())
                 ? WalkResult::interrupt()
                 : WalkResult::advance();
    });
    if (gpuOps.wasInterrupted())
      return op.emitError() << "smx-emulate-gpu-kernels: a gpu op the "
                               "emulator does not know";
    builder.clone(op, mapping);
    return success();
  }

  /// `scf.for %t = 0 to threads` around what `body` builds.
  scf::ForOp forEachThread(
      OpBuilder &builder, Location loc,
      function_ref<SmallVector<Value>(OpBuilder &, Value, ValueRange)> body,
      ValueRange initial) {
    Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
    Value count = arith::ConstantIndexOp::create(builder, loc, threads);
    Value one = arith::ConstantIndexOp::create(builder, loc, 1);
    return scf::ForOp::create(builder, loc, zero, count, one, initial,
                              [&](OpBuilder &nested, Location nestedLoc,
                                  Value thread, ValueRange carried) {
                                scf::YieldOp::create(
                                    nested, nestedLoc,
                                    body(nested, thread, carried));
                              });
  }
  void forEachThread(OpBuilder &builder, Location loc,
                     function_ref<void(OpBuilder &, Value)> body) {
    forEachThread(
        builder, loc,
        [&](OpBuilder &nested, Value thread, ValueRange) {
          body(nested, thread);
          return SmallVector<Value>();
        },
        ValueRange());
  }

  gpu::GPUFuncOp kernel;
  int64_t threads;
  IRMapping mapping;
  Value block;
  llvm::MapVector<Value, Value> perThread;
};

struct SmxEmulateGpuKernelsPass
    : public smx::impl::SmxEmulateGpuKernelsPassBase<SmxEmulateGpuKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto kernels = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModuleName);
    if (!kernels)
      return;
    OpBuilder moduleBuilder(kernels);
    llvm::StringMap<func::FuncOp> emulated;
    for (auto kernel : kernels.getOps<gpu::GPUFuncOp>()) {
      std::optional<ArrayRef<int32_t>> blockSize = kernel.getKnownBlockSize();
      if (!blockSize || (*blockSize)[1] != 1 || (*blockSize)[2] != 1) {
        kernel.emitError() << "smx-emulate-gpu-kernels: a kernel without a "
                              "one-dimensional known_block_size";
        return signalPassFailure();
      }
      KernelEmulator emulator(kernel, (*blockSize)[0]);
      FailureOr<func::FuncOp> function = emulator.emulate(moduleBuilder);
      if (failed(function))
        return signalPassFailure();
      emulated[kernel.getName()] = *function;
    }

    WalkResult launches = module.walk([&](gpu::LaunchFuncOp launch) {
      func::FuncOp function = emulated.lookup(launch.getKernelName());
      if (!function || launch.getAsyncToken()) {
        launch.emitError() << "smx-emulate-gpu-kernels: cannot emulate this "
                              "launch";
        return WalkResult::interrupt();
      }
      OpBuilder builder(launch);
      Location loc = launch.getLoc();
      Value zero = arith::ConstantIndexOp::create(builder, loc, 0);
      Value one = arith::ConstantIndexOp::create(builder, loc, 1);
      scf::ForOp::create(
          builder, loc, zero, launch.getGridSizeX(), one, ValueRange(),
          [&](OpBuilder &nested, Location nestedLoc, Value block, ValueRange) {
            SmallVector<Value> operands(launch.getKernelOperands());
            operands.push_back(block);
            func::CallOp::create(nested, nestedLoc, function, operands);
            scf::YieldOp::create(nested, nestedLoc);
          });
      launch.erase();
      return WalkResult::advance();
    });
    if (launches.wasInterrupted())
      return signalPassFailure();
    kernels.erase();
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};

} // namespace
