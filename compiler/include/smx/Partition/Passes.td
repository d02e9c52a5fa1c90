//===- Passes.td - smx partitioning passes -----------------*- tablegen -*-===//
//
// Stage 2 of the pipelines (docs/architecture.md): a model for one device
// becomes the program each device of a dp x ep grid runs.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_PARTITION_PASSES_TD
#define SMX_PARTITION_PASSES_TD

include "mlir/Pass/PassBase.td"

def SmxShardBatchPass : Pass<"smx-shard-batch", "ModuleOp"> {
  let summary = "Splits the batch over a dp x ep grid: each device's share of "
                "the losses and metrics";
  let description = [{
    Declares the grid `shard.grid @grid(shape = dp x ep)` and makes
    `@forward`, already built for the batch of one device (the global batch
    divided by dp·ep), compute that device's share of every loss and metric,
    so that the job's value is the plain sum of the devices' shares and the
    gradient of the job's loss the sum of their gradients
    (docs/distributed.md):

    - `smx.cross_entropy`, a mean whose count differs between devices (the
      masked positions), divides by the count summed over the grid
      (`count_over @grid`): the shares add up to the mean over the global
      batch, not to a mean of the devices' means;
    - every other f32 loss or metric is a mean over a count that is the
      same on every device (examples, tokens, routing groups): its share is
      the local mean divided by dp·ep;
    - i64 metrics (tokens per expert) are counts, their own shares.

    `smx-build-train-step` then sums gradients, losses and metrics over the
    grid; convert-shard-to-runtime lowers the collectives.

    Contract: runs on the frontend's `@forward`, before
    `smx-build-train-step`, once: fails on a module that already has a
    grid or a train step, and on a loss or metric that is neither an f32
    scalar nor an integer count.
  }];
  let options = [
    Option<"dataParallel", "dp", "int64_t", /*default=*/"1",
           "Devices along the data-parallel axis (grid axis 0)">,
    Option<"expertParallel", "ep", "int64_t", /*default=*/"1",
           "Devices along the expert-parallel axis (grid axis 1)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::shard::ShardDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // SMX_PARTITION_PASSES_TD
