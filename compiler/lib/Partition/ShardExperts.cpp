//===- ShardExperts.cpp - the experts of each MoE layer over ep -----------===//
//
// Expert parallelism (docs/distributed.md, "Expert parallelism"): every
// device keeps E/ep experts of each MoE layer, and the slots its tokens
// were dispatched to travel to the experts' device and back by
// moe.all_to_all over the grid's ep axis.
//
//===----------------------------------------------------------------------===//

#include "smx/Partition/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/Builders.h"
#include "smx/Dialect/Moe/IR/MoeOps.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXSHARDEXPERTSPASS
#include "smx/Partition/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

namespace {

struct SmxShardExpertsPass
    : smx::impl::SmxShardExpertsPassBase<SmxShardExpertsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(shardExperts()))
      signalPassFailure();
  }

  LogicalResult shardExperts();
};

/// `type` with its dimension `dim` multiplied by `numerator / denominator`.
RankedTensorType scaleDim(RankedTensorType type, int64_t dim,
                          int64_t numerator, int64_t denominator) {
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] = shape[dim] * numerator / denominator;
  return type.clone(shape);
}

} // namespace

LogicalResult SmxShardExpertsPass::shardExperts() {
  ModuleOp module = getOperation();
  shard::GridOp grid = getModelGrid(module);
  if (!grid || grid.getRank() <= kExpertParallelAxis)
    return module.emitError() << "smx-shard-experts: runs after "
                                 "smx-shard-batch, on a module with a dp x "
                                 "ep grid @"
                              << kGridName;
  if (module.lookupSymbol(kTrainStepFunctionName))
    return module.emitError() << "smx-shard-experts: runs before the train "
                                 "step is built, on @"
                              << kForwardFunctionName << " alone";
  auto forward = module.lookupSymbol<func::FuncOp>(kForwardFunctionName);
  if (!forward || forward.isExternal())
    return module.emitError()
           << "smx-shard-experts: no @" << kForwardFunctionName << " function";
  const int64_t devices = grid.getShape()[kExpertParallelAxis];
  if (devices == 1)
    return success();

  SmallVector<moe::ExpertFFNOp> experts;
  forward.walk([&](moe::ExpertFFNOp op) { experts.push_back(op); });
  llvm::SetVector<BlockArgument> weights;
  for (moe::ExpertFFNOp op : experts) {
    int64_t numExperts = op.getInWeight().getType().getDimSize(0);
    if (numExperts % devices != 0)
      return op.emitOpError()
             << "has " << numExperts
             << " experts, which do not split over the " << devices
             << " devices of the grid's ep axis";
    for (Value weight : {op.getInWeight(), op.getInBias(), op.getOutWeight(),
                         op.getOutBias()}) {
      auto argument = dyn_cast<BlockArgument>(weight);
      if (!argument || argument.getOwner()->getParentOp() != forward ||
          !forward.getArgAttr(argument.getArgNumber(), kParameterAttrName))
        return op.emitOpError()
               << "has an expert weight that is not a parameter of @"
               << kForwardFunctionName
               << ": smx-shard-experts splits parameters only";
      weights.insert(argument);
    }
  }
  // A weight shared with anything but an expert FFN (tied weights) would
  // need its whole value there.
  for (BlockArgument weight : weights)
    for (OpOperand &use : weight.getUses())
      if (!isa<moe::ExpertFFNOp>(use.getOwner()) ||
          use.getOperandNumber() == 0)
        return use.getOwner()->emitOpError()
               << "uses the expert weight "
               << forward.getArgAttr(weight.getArgNumber(), kParameterAttrName)
               << ", which smx-shard-experts splits over ep: expert weights "
                  "may feed moe.expert_ffn alone";

  MLIRContext *context = module.getContext();
  auto gridRef = FlatSymbolRefAttr::get(grid);
  auto epAxes = DenseI16ArrayAttr::get(context, {kExpertParallelAxis});
  OpBuilder builder(context);
  // This device's place in the grid, for the expert dropout counters.
  Value dataIndex, expertIndex;
  if (llvm::any_of(experts, [](moe::ExpertFFNOp op) {
        return op.hasTrainingNoise();
      })) {
    builder.setInsertionPointToStart(&forward.getBody().front());
    Location loc = forward.getLoc();
    Value linear = arith::IndexCastOp::create(
        builder, loc, builder.getI64Type(),
        shard::ProcessLinearIndexOp::create(builder, loc, grid));
    Value epSize = arith::ConstantOp::create(
        builder, loc, builder.getI64IntegerAttr(devices));
    dataIndex = arith::DivSIOp::create(builder, loc, linear, epSize);
    expertIndex = arith::RemSIOp::create(builder, loc, linear, epSize);
  }
  for (moe::ExpertFFNOp op : experts) {
    if (op.hasTrainingNoise()) {
      // The activations [n·G, E/n, C, F] hold, for every device i of this
      // ep row, its G groups' slots of this device's experts: unsharded,
      // activation (i·G + g, e, c, f) is at group (d·n + i)·G + g (d this
      // row's dp index) and expert j·E/n + e (j this device's ep index).
      // With rows of E experts, the counter is the local row-major index
      // plus d·n·G·E·C·F + j·(E/n)·C·F.
      RankedTensorType slots = op.getInput().getType();
      int64_t groups = slots.getDimSize(0), numExperts = slots.getDimSize(1);
      int64_t rowSize = slots.getDimSize(2) *
                        op.getInWeight().getType().getDimSize(2);
      builder.setInsertionPoint(op);
      Location loc = op.getLoc();
      auto constant = [&](int64_t value) -> Value {
        return arith::ConstantOp::create(builder, loc,
                                         builder.getI64IntegerAttr(value));
      };
      Value rowStart = arith::MulIOp::create(
          builder, loc, dataIndex,
          constant(devices * groups * numExperts * rowSize));
      Value expertStart = arith::MulIOp::create(
          builder, loc, expertIndex, constant(numExperts / devices * rowSize));
      op.setNoiseCounterOffset(
          arith::AddIOp::create(builder, loc, rowStart, expertStart));
      op.setCounterExperts(numExperts);
    }
    // [G, E, C, d] -> [n·G, E/n, C, d]: this device's experts, every
    // device's groups.
    RankedTensorType slotsType = op.getInput().getType();
    RankedTensorType localType =
        scaleDim(scaleDim(slotsType, 1, 1, devices), 0, devices, 1);
    builder.setInsertionPoint(op);
    Value mine = moe::AllToAllOp::create(
        builder, op.getLoc(), localType, op.getInput(), gridRef, epAxes,
        builder.getI64IntegerAttr(1), builder.getI64IntegerAttr(0));
    op.getInputMutable().assign(mine);
    Value result = op.getResult();
    RankedTensorType resultType = op.getType();
    result.setType(scaleDim(scaleDim(resultType, 1, 1, devices), 0, devices, 1));
    builder.setInsertionPointAfter(op);
    auto back = moe::AllToAllOp::create(
        builder, op.getLoc(), resultType, result, gridRef, epAxes,
        builder.getI64IntegerAttr(0), builder.getI64IntegerAttr(1));
    result.replaceAllUsesExcept(back, back);
  }
  for (BlockArgument weight : weights) {
    weight.setType(scaleDim(cast<RankedTensorType>(weight.getType()), 0, 1,
                            devices));
    forward.setArgAttr(weight.getArgNumber(), kShardAxesAttrName, epAxes);
  }
  forward.setFunctionType(FunctionType::get(
      context, forward.getBody().getArgumentTypes(),
      forward.getFunctionType().getResults()));
  return success();
}
