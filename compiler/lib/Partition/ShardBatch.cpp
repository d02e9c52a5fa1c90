//===- ShardBatch.cpp - each device's share of the losses and metrics -----===//
//
// The batch splits over every device of a dp x ep grid: the model is built
// for one device's batch, and its losses and metrics become that device's
// shares, which the train step sums over the grid (docs/distributed.md,
// "The data-parallel train step").
//
//===----------------------------------------------------------------------===//

#include "smx/Partition/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/Builders.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "smx/Dialect/Smx/IR/SmxOps.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXSHARDBATCHPASS
#include "smx/Partition/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

shard::GridOp mlir::smx::getModelGrid(ModuleOp module) {
  return module.lookupSymbol<shard::GridOp>(kGridName);
}

namespace {

struct SmxShardBatchPass
    : smx::impl::SmxShardBatchPassBase<SmxShardBatchPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(shardBatch()))
      signalPassFailure();
  }

  LogicalResult shardBatch();
};

} // namespace

LogicalResult SmxShardBatchPass::shardBatch() {
  ModuleOp module = getOperation();
  if (dataParallel < 1 || expertParallel < 1)
    return module.emitError()
           << "smx-shard-batch: a grid axis needs at least one device, got dp="
           << dataParallel << ", ep=" << expertParallel;
  if (getModelGrid(module))
    return module.emitError()
           << "smx-shard-batch: the module already has a grid @" << kGridName;
  if (module.lookupSymbol(kTrainStepFunctionName))
    return module.emitError() << "smx-shard-batch: runs before the train step "
                                 "is built, on @"
                              << kForwardFunctionName << " alone";
  auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunctionName);
  if (!forward || forward.isExternal())
    return module.emitError()
           << "smx-shard-batch: no @" << kForwardFunctionName << " function";

  OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
  shard::GridOp::create(
      builder, module.getLoc(), kGridName,
      builder.getDenseI64ArrayAttr({dataParallel, expertParallel}));
  int64_t devices = dataParallel * expertParallel;
  auto countOver = FlatSymbolRefAttr::get(builder.getContext(), kGridName);
  auto allAxes = builder.getDenseI16ArrayAttr({0, 1});

  // Cross-entropies count their positions over the whole grid.
  forward.walk([&](CrossEntropyOp op) {
    op.setCountOverAttr(countOver);
    op.setGridAxesAttr(allAxes);
  });

  // Training noise draws the numbers of this device's block of the
  // unsharded tensor: its counters start at the device's index times the
  // block's size (the batch is split along the leading, batch-major
  // dimension of every noisy tensor).
  SmallVector<TrainingNoiseOpInterface> noisy;
  forward.walk([&](TrainingNoiseOpInterface op) {
    if (op.hasTrainingNoise())
      noisy.push_back(op);
  });
  if (devices > 1 && !noisy.empty()) {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPointToStart(&forward.getBody().front());
    Location loc = forward.getLoc();
    Value index = shard::ProcessLinearIndexOp::create(builder, loc, kGridName);
    Value index64 = arith::IndexCastOp::create(builder, loc,
                                               builder.getI64Type(), index);
    for (TrainingNoiseOpInterface op : noisy) {
      if (op.getNoiseCounterOffset())
        return op->emitOpError()
               << "already has a noise counter offset: smx-shard-batch sets "
                  "it from the device's share of the batch";
      builder.setInsertionPoint(op);
      Value count = arith::ConstantOp::create(
          builder, op->getLoc(),
          builder.getI64IntegerAttr(op.getNoiseCounterCount()));
      op.setNoiseCounterOffset(
          arith::MulIOp::create(builder, op->getLoc(), index64, count));
    }
  }

  // Every other mean is over a count that is the same on every device.
  auto returnOp = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
  builder.setInsertionPoint(returnOp);
  for (OpOperand &operand : returnOp->getOpOperands()) {
    unsigned index = operand.getOperandNumber();
    if (!forward.getResultAttr(index, kLossAttrName) &&
        !forward.getResultAttr(index, kMetricAttrName))
      continue;
    Value value = operand.get();
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getElementType().isInteger(64))
      continue;
    if (type.getRank() != 0 || !type.getElementType().isF32()) {
      auto name = forward.getResultAttrOfType<StringAttr>(index,
                                                          kOutputAttrName);
      return forward.emitOpError()
             << "result " << index << " ("
             << (name ? name.getValue() : StringRef("unnamed"))
             << ") is a loss or metric of type " << type
             << ", which smx-shard-batch cannot split: expected an f32 "
                "scalar (a mean) or an i64 count";
    }
    if (value.getDefiningOp<CrossEntropyOp>() || devices == 1)
      continue;
    Value share = arith::ConstantOp::create(
        builder, value.getLoc(),
        DenseElementsAttr::get(type, builder.getF32FloatAttr(
                                         1.0 / static_cast<double>(devices))));
    operand.set(arith::MulFOp::create(builder, value.getLoc(), value, share));
  }
  return success();
}
