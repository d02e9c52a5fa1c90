//===- Passes.td - smx conversion passes -------------------*- tablegen -*-===//

#ifndef SMX_CONVERSION_PASSES_TD
#define SMX_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

defvar loweringDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::shard::ShardDialect",
                           "::mlir::tensor::TensorDialect"];

def ConvertSmxToLinalgPass : Pass<"convert-smx-to-linalg", "ModuleOp"> {
  let summary = "Lowers smx ops to linalg, tensor and runtime GEMM calls";
  let description = [{
    `smx.dense` becomes a call of the runtime's GEMM (`smxrt_cpu_sgemm_memref`,
    OpenBLAS) on its input collapsed to a matrix, with the bias as an
    elementwise `linalg.generic` epilogue that elementwise fusion merges
    with a following activation. Embedding lookups and position gathers
    become gathers (`tensor.extract` in a `linalg.generic`); layer norm
    (two-pass, f32 statistics), activations, residual adds and softmax
    become `linalg.generic` reductions and maps.

    The training ops (dropout, cross-entropy, mean squared error, global
    norm, AdamW, LR schedule) and the gradient ops that
    `smx-build-train-step` emits are lowered by this pass too.

    Contract: accepts every smx op on f32 tensors with static shapes, and
    fails on a dynamic shape naming the op. Guarantees that no smx op
    remains but the started collectives (`smx.all_reduce_start` /
    `smx.all_reduce_wait`), which convert-shard-to-runtime lowers; runtime
    calls exchange buffers through
    `bufferization.to_buffer` / `to_tensor`, ready for One-Shot Bufferize.
  }];
  let dependentDialects = loweringDialects;
}

def ConvertMixToLinalgPass : Pass<"convert-mix-to-linalg", "ModuleOp"> {
  let summary = "Lowers token mixing to runtime GEMMs and linalg";
  let description = [{
    `mix.linear` becomes two GEMMs (`X · W_hid` on the flattened tokens, then
    `W_seq · Y` batched over the batch with a broadcast `W_seq`). Fourier and
    Hartley mixing are computed exactly as real DFTs by GEMM: with
    `A = X · C_d` and `B = X · S_d` (cosine and sine matrices),
    `Re(F X F) = C_L · A − S_L · B` and Hartley
    `= (C_L + S_L) · A + (C_L − S_L) · B`. Self-attention becomes batched
    GEMMs over (batch, head) with a masked, scaled softmax in between.

    Contract: accepts mix ops on f32 tensors with static shapes, attention
    dropout and the gradient ops that `smx-build-train-step` emits included,
    except `mix.circulant` and `mix.toeplitz` (run
    `mix-materialize-structured-weights` first). Guarantees that no mix op
    remains.
  }];
  let dependentDialects = loweringDialects;
}

def ConvertMoeToLinalgPass : Pass<"convert-moe-to-linalg", "ModuleOp"> {
  let summary = "Lowers routing, dispatch, experts and combine";
  let description = [{
    Router jitter is a counter-based elementwise product (the stream of
    `smx.dropout`); the router becomes a GEMM and an f32 softmax; `moe.route` calls the
    runtime's routing kernel (`smxrt_cpu_route_memref`: sorting-based, exact
    tie rules); dispatch is a gather, the expert FFN two GEMMs batched over
    (group, expert) with fused bias and activation, combine a weighted
    scatter-add over the filled slots; the auxiliary losses and load
    statistics are reductions.

    Contract: accepts moe ops on f32 tensors with static shapes, the
    gradient ops that `smx-build-train-step` emits included. Guarantees
    that no moe op remains but `moe.all_to_all`, a collective of the grid
    that convert-shard-to-runtime lowers.
  }];
  let dependentDialects = loweringDialects;
}

def ConvertShardToRuntimePass : Pass<"convert-shard-to-runtime", "ModuleOp"> {
  let summary = "Lowers the collectives of a partitioned model to runtime calls";
  let description = [{
    `shard.all_reduce` (sums of f32 or i64 tensors) becomes a call of
    `smxrt_grid_all_reduce_sum_{f32,i64}_memref` on the axes of the grid
    that have more than one device, or its input when none has;
    `shard.process_linear_index` becomes `smxrt_grid_process_index`;
    `smx.all_reduce_start` / `smx.all_reduce_wait` become
    `smxrt_grid_all_reduce_sum_{start,wait}_f32_memref` (the runtime sums a
    copy of the input while the code goes on), or the input itself over
    axes without devices;
    `moe.all_to_all` (f32) becomes `smxrt_grid_all_to_all_f32_memref`, which
    packs each device's block along `split_axis`, exchanges equal blocks
    and unpacks them along `concat_axis`, or its input over one device. The
    runtime runs them on the grid the application installed
    (smx_runtime/grid.h), with the job's deadline. Then the `shard.grid`
    symbols go.

    Contract: accepts the collectives `smx-shard-batch`, `smx-shard-experts`,
    `smx-build-train-step` and the cross-entropy lowering emit, on tensors
    of static shape. Guarantees that no `shard` op and no `moe.all_to_all`
    remains; fails, naming the op, on a grid still in use.
  }];
  let dependentDialects = loweringDialects;
}

#endif // SMX_CONVERSION_PASSES_TD
