//===- ModelInterface.h - attributes describing a model function -*- C++ -*-===//
//
// The spec frontend describes the interface of a model's functions with
// discardable `smx.*` attributes that later passes read (the manifest of
// docs/abi.md is built from them).
//
//===----------------------------------------------------------------------===//

#ifndef SMX_DIALECT_SMX_IR_MODELINTERFACE_H
#define SMX_DIALECT_SMX_IR_MODELINTERFACE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringRef.h"

#include "smx_runtime/model_abi.h"

namespace mlir::smx {

/// On a function argument: the weight name of a parameter (docs/weights.md).
inline constexpr llvm::StringLiteral kParameterAttrName = "smx.parameter";
/// On a function argument: how the parameter starts without given weights,
/// "normal" (N(0, 0.02)), "zeros" or "ones".
inline constexpr llvm::StringLiteral kInitAttrName = "smx.init";
/// On a parameter argument of a partitioned model (a DenseI16ArrayAttr of
/// axes of the module's `shard.grid`): the parameter is split along its
/// first dimension over the devices along these axes, and the argument is
/// this device's slice, the one at its linear index over the axes
/// (smx-shard-experts splits expert weights over ep).
inline constexpr llvm::StringLiteral kShardAxesAttrName = "smx.shard_axes";
/// On a function argument: the name of a per-call input (`input_ids`, ...).
inline constexpr llvm::StringLiteral kInputAttrName = "smx.input";
/// On a function result: the name of an output.
inline constexpr llvm::StringLiteral kOutputAttrName = "smx.output";
/// On a function result: present when the result has one row per sequence
/// of the batch (the runtime concatenates those over batches).
inline constexpr llvm::StringLiteral kBatchMajorAttrName = "smx.batch_major";
/// On an op: the index of the model layer it belongs to.
inline constexpr llvm::StringLiteral kLayerAttrName = "smx.layer";
/// On the module: the training objective of a training module, "pretrain"
/// or "finetune" (the manifest's `task`).
inline constexpr llvm::StringLiteral kTaskAttrName = "smx.task";
/// On the module: the model's name.
inline constexpr llvm::StringLiteral kModelAttrName = "smx.model";
/// On the module: the precision of GEMM operands, "f32" (the default when
/// absent) or "bf16": every GEMM's operands are rounded to bfloat16 (round
/// to nearest even) and their products summed in f32; parameters,
/// optimizer state and every other op stay f32. The rounding points of the
/// GPU path's bf16 GEMMs, on the CPU (`smxc --precision=bf16`).
inline constexpr llvm::StringLiteral kPrecisionAttrName = "smx.precision";
/// On the module: the GPU architecture its kernels are compiled for
/// ("sm_90"), set by `smxc --target=cuda`; absent for the CPU. The manifest
/// says "target": "cuda" and "gpu_arch" then.
inline constexpr llvm::StringLiteral kGpuArchAttrName = "smx.gpu_arch";
/// On a function result: a term of the training loss and its weight (an
/// F64 attribute); `smx-build-train-step` minimizes the weighted sum.
inline constexpr llvm::StringLiteral kLossAttrName = "smx.loss";
/// On a function result: a statistic the train step reports (expert load,
/// dropped tokens).
inline constexpr llvm::StringLiteral kMetricAttrName = "smx.metric";
/// On a train-step argument: the parameter whose Adam moment it is.
inline constexpr llvm::StringLiteral kFirstMomentAttrName =
    "smx.first_moment";
inline constexpr llvm::StringLiteral kSecondMomentAttrName =
    "smx.second_moment";
/// The model's forward function; the manifest's entry point of that name.
inline constexpr llvm::StringLiteral kForwardFunctionName =
    SMXRT_ENTRY_FORWARD;
/// The function `smx-build-train-step` adds; the manifest's entry point of
/// that name.
inline constexpr llvm::StringLiteral kTrainStepFunctionName =
    SMXRT_ENTRY_TRAIN_STEP;

/// Whether `op` is in the train step, which is the training form by
/// construction: passes that make the evaluation form (no training noise,
/// the evaluation capacity factor) leave it unchanged.
inline bool isInTrainStep(Operation *op) {
  auto function = isa<func::FuncOp>(op) ? cast<func::FuncOp>(op)
                                        : op->getParentOfType<func::FuncOp>();
  return function && function.getSymName() == kTrainStepFunctionName;
}

/// The model path ("layers.3.mixing") the frontend names an operation's
/// location after: the first NameLoc in `loc` (fused and call-site
/// locations included), or "" when it has none.
inline llvm::StringRef getModelPath(Location loc) {
  llvm::StringRef path;
  loc->walk([&](Location inner) {
    if (auto name = llvm::dyn_cast<NameLoc>(inner)) {
      path = name.getName().getValue();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return path;
}

} // namespace mlir::smx

#endif // SMX_DIALECT_SMX_IR_MODELINTERFACE_H
