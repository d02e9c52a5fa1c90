//===- ShardToRuntime.cpp - grid collectives to runtime calls -------------===//
//
// The collectives of a partitioned model become calls into the runtime's
// grid (smx_runtime/grid.h), which runs them on the communicator of their
// axes with the job's deadline, rather than upstream's convert-shard-to-mpi:
// its blocking `mpi` calls would bypass the deadline that keeps a failed
// rank from hanging the job, would make every executable link MPI, and have
// no all-to-all (docs/distributed.md, "Which path each collective takes").
// Axes of one device drop out; a collective over none is its input.
//
//===----------------------------------------------------------------------===//

#include "smx/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/ADT/TypeSwitch.h"
#include "smx/Conversion/LoweringUtils.h"
#include "smx/Dialect/Moe/IR/MoeOps.h"
#include "smx/Dialect/Smx/IR/SmxOps.h"

namespace mlir::smx {
#define GEN_PASS_DEF_CONVERTSHARDTORUNTIMEPASS
#include "smx/Conversion/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;
using mlir::smx::AllReduceStartOp;
using mlir::smx::AllReduceWaitOp;

/// The runtime's bit mask of the axes of `axes` that have more than one
/// device; 0 when none does.
static int64_t getAxesMask(shard::GridOp grid, ArrayRef<int16_t> axes) {
  int64_t mask = 0;
  ArrayRef<int64_t> shape = grid.getShape();
  for (int16_t axis : axes)
    if (shape[axis] != 1)
      mask |= int64_t{1} << axis;
  return mask;
}

/// The mask of the axes of the collective `op` (a grid op with grid axes)
/// that have more than one device.
template <typename CollectiveOp>
static int64_t getDevicesMask(CollectiveOp op) {
  SymbolTableCollection symbols;
  return getAxesMask(shard::getGrid(op, symbols), op.getGridAxes());
}

namespace {

/// Checks that smx lowers `op`: a sum of a static f32 or i64 tensor.
LogicalResult verifyLowerable(shard::AllReduceOp op) {
  auto type = dyn_cast<RankedTensorType>(op.getType());
  if (!type || !type.hasStaticShape() ||
      op.getInput().getType() != op.getType())
    return op.emitOpError()
           << "is lowered for static tensors of one element type only";
  if (op.getReduction() != shard::ReductionKind::Sum)
    return op.emitOpError() << "is lowered for sums only";
  Type element = type.getElementType();
  if (!element.isF32() && !element.isInteger(64))
    return op.emitOpError() << "is lowered for f32 and i64 only, not "
                            << element;
  return success();
}

struct AllReduceLowering : OpRewritePattern<shard::AllReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(shard::AllReduceOp op,
                                PatternRewriter &rewriter) const override {
    int64_t mask = getDevicesMask(op);
    if (mask == 0) {
      rewriter.replaceOp(op, op.getInput());
      return success();
    }
    auto type = cast<RankedTensorType>(op.getType());
    StringRef name = type.getElementType().isF32()
                         ? "smxrt_grid_all_reduce_sum_f32_memref"
                         : "smxrt_grid_all_reduce_sum_i64_memref";
    Value maskValue = arith::ConstantOp::create(
        rewriter, op.getLoc(), rewriter.getI64IntegerAttr(mask));
    rewriter.replaceOp(op, emitRuntimeCall(rewriter, op.getLoc(), name,
                                           maskValue, op.getInput(), type));
    return success();
  }
};

/// Checks that smx lowers `op`: an exchange of static f32 tensors.
LogicalResult verifyLowerable(moe::AllToAllOp op) {
  RankedTensorType type = op.getInput().getType();
  if (!type.hasStaticShape() || !op.getType().hasStaticShape())
    return op.emitOpError() << "is lowered for static tensors only";
  if (!type.getElementType().isF32())
    return op.emitOpError() << "is lowered for f32 only, not "
                            << type.getElementType();
  return success();
}

struct AllToAllLowering : OpRewritePattern<moe::AllToAllOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(moe::AllToAllOp op,
                                PatternRewriter &rewriter) const override {
    int64_t mask = getDevicesMask(op);
    // Over one device the exchange keeps every block where it is, and the
    // result type is the input's.
    if (mask == 0) {
      rewriter.replaceOp(op, op.getInput());
      return success();
    }
    Location loc = op.getLoc();
    SmallVector<Value> scalars = {
        createI64Constant(rewriter, loc, mask),
        createI64Constant(rewriter, loc, op.getSplitAxis()),
        createI64Constant(rewriter, loc, op.getConcatAxis())};
    rewriter.replaceOp(op, emitRuntimeCall(rewriter, loc,
                                           "smxrt_grid_all_to_all_f32_memref",
                                           scalars, op.getInput(),
                                           op.getType()));
    return success();
  }
};

struct ProcessLinearIndexLowering
    : OpRewritePattern<shard::ProcessLinearIndexOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(shard::ProcessLinearIndexOp op,
                                PatternRewriter &rewriter) const override {
    SymbolTableCollection symbols;
    shard::GridOp grid = shard::getGrid(op, symbols);
    Location loc = op.getLoc();
    if (llvm::all_of(grid.getShape(), [](int64_t size) { return size == 1; })) {
      rewriter.replaceOpWithNewOp<arith::ConstantIndexOp>(op, 0);
      return success();
    }
    StringRef name = "smxrt_grid_process_index";
    auto module = op->getParentOfType<ModuleOp>();
    auto functionType = rewriter.getFunctionType({}, rewriter.getI64Type());
    if (!SymbolTable::lookupSymbolIn(module, name)) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(module.getBody());
      func::FuncOp::create(rewriter, module.getLoc(), name, functionType)
          .setPrivate();
    }
    Value index = func::CallOp::create(rewriter, loc, name,
                                       rewriter.getI64Type(), ValueRange())
                      .getResult(0);
    rewriter.replaceOpWithNewOp<arith::IndexCastOp>(
        op, rewriter.getIndexType(), index);
    return success();
  }
};

/// Lowers the started sums: each wait, then each start. Over axes without
/// devices, the wait is the start's input and both go.
LogicalResult lowerStartedSums(ModuleOp module) {
  SymbolTableCollection symbols;
  IRRewriter rewriter(module.getContext());
  SmallVector<AllReduceWaitOp> waits;
  module.walk([&](AllReduceWaitOp op) { waits.push_back(op); });
  for (AllReduceWaitOp wait : waits) {
    auto start = wait.getHandle().getDefiningOp<AllReduceStartOp>();
    shard::GridOp grid =
        shard::getGridOrNull(start, start.getGridAttr(), symbols);
    if (!grid)
      return start.emitOpError()
             << "names " << start.getGridAttr() << ", not a shard.grid";
    auto type = cast<RankedTensorType>(wait.getType());
    if (!type.hasStaticShape() || !type.getElementType().isF32())
      return start.emitOpError() << "is lowered for static f32 tensors only";
    int64_t mask = getAxesMask(grid, start.getGridAxes());
    rewriter.setInsertionPoint(start);
    if (mask == 0) {
      rewriter.replaceOp(wait, start.getInput());
      rewriter.eraseOp(start);
      continue;
    }
    Value handle = emitRuntimeScalarCall(
        rewriter, start.getLoc(), "smxrt_grid_all_reduce_sum_start_f32_memref",
        createI64Constant(rewriter, start.getLoc(), mask), start.getInput(),
        rewriter.getI64Type());
    rewriter.setInsertionPoint(wait);
    rewriter.replaceOp(
        wait, emitRuntimeCall(rewriter, wait.getLoc(),
                              "smxrt_grid_all_reduce_sum_wait_f32_memref",
                              handle, ValueRange(), type));
    rewriter.eraseOp(start);
  }
  return success();
}

struct ConvertShardToRuntimePass
    : smx::impl::ConvertShardToRuntimePassBase<ConvertShardToRuntimePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(lowerStartedSums(module)))
      return signalPassFailure();
    WalkResult checked = module.walk([](Operation *op) {
      LogicalResult lowerable =
          llvm::TypeSwitch<Operation *, LogicalResult>(op)
              .Case<shard::AllReduceOp, moe::AllToAllOp>(
                  [](auto collective) { return verifyLowerable(collective); })
              .Default(success());
      return failed(lowerable) ? WalkResult::interrupt()
                               : WalkResult::advance();
    });
    if (checked.wasInterrupted())
      return signalPassFailure();
    ConversionTarget target(getContext());
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    target.addIllegalOp<shard::AllReduceOp, shard::ProcessLinearIndexOp,
                        moe::AllToAllOp>();
    RewritePatternSet patterns(&getContext());
    patterns.add<AllReduceLowering, AllToAllLowering,
                 ProcessLinearIndexLowering>(&getContext());
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    // The grids have served their collectives; code generation has no use
    // for them (the manifest recorded them earlier).
    for (auto grid : llvm::make_early_inc_range(module.getOps<shard::GridOp>())) {
      if (!SymbolTable::symbolKnownUseEmpty(grid, module)) {
        grid.emitOpError() << "is still used after convert-shard-to-runtime: "
                              "a collective smx does not lower yet";
        return signalPassFailure();
      }
      grid.erase();
    }
  }
};

} // namespace
