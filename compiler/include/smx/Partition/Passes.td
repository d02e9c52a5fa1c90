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

    Training noise (dropout, attention dropout, router jitter, expert
    dropout) draws the numbers of the device's block of the unsharded
    tensor: each noise op gets the counter offset `process index × the
    numbers it draws`, so a run on any grid drops what one device would.

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

def SmxShardExpertsPass : Pass<"smx-shard-experts", "ModuleOp"> {
  let summary = "Splits the experts of every MoE layer over the grid's ep "
                "axis, with an all-to-all exchange each way";
  let description = [{
    Expert parallelism on the grid `smx-shard-batch` declared (axis 1 is
    ep, of `n` devices). Every `moe.expert_ffn` of `@forward` comes to run
    the `E/n` experts of this device on the slots that every device of its
    ep row dispatched to them:

    ```mlir
    %slots = moe.dispatch ... -> tensor<GxExCxdxf32>
    %mine = moe.all_to_all %slots on @grid grid_axes = [1] split_axis = 1
        concat_axis = 0 : tensor<GxExCxdxf32> -> tensor<(n·G)x(E/n)xCxdxf32>
    %out = moe.expert_ffn %mine, %w1, %b1, %w2, %b2 ...  // weights [E/n, ...]
    %back = moe.all_to_all %out on @grid grid_axes = [1] split_axis = 0
        concat_axis = 1 : tensor<(n·G)x(E/n)xCxdxf32> -> tensor<GxExCxdxf32>
    %y = moe.combine %back[...] ...
    ```

    Routing, dispatch and combine stay local: every device routes its own
    tokens. The capacity `C` is static (the router fixes it from the group
    size and capacity factor), so the exchange is equal-split: every device
    sends and receives the same number of slots, whatever the routing
    decided. Empty slots travel too (as zeros); that is the price of static
    shapes, and what lets the exchange be one plain all-to-all.

    The expert weights become this device's slice `[E/n, ...]` of the
    global tensor; their `@forward` arguments carry
    `smx.shard_axes = array<i16: 1>`, so that `smx-build-train-step` sums
    their gradients over the other axes (dp) only, and the manifest records
    their global shapes (checkpoints hold the global layout). Expert
    dropout keeps indexing the unsharded activations: the op gets
    `counter_experts = E` and the offset of this device's first activation.

    Contract: runs after `smx-shard-batch` and before
    `smx-build-train-step`, once. Fails, naming the numbers, when the
    experts of a layer do not divide over ep, and when an expert weight is
    not a parameter of `@forward` used by expert FFNs alone. On a grid with
    one device along ep it changes nothing.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::moe::MoeDialect",
    "::mlir::shard::ShardDialect",
  ];
}

#endif // SMX_PARTITION_PASSES_TD
