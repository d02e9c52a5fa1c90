//===- Passes.td - smx training passes ---------------------*- tablegen -*-===//

#ifndef SMX_TRAINING_PASSES_TD
#define SMX_TRAINING_PASSES_TD

include "mlir/Pass/PassBase.td"

def SmxBuildTrainStepPass : Pass<"smx-build-train-step", "ModuleOp"> {
  let summary = "Builds the train step: loss, reverse-mode gradients, AdamW";
  let description = [{
    Adds `@train_step` next to the forward function (`@forward`, which it
    leaves as it is). The train step runs the forward pass, sums the results
    marked `smx.loss = <weight>` into the total loss, builds the gradient
    of that loss with respect to every `smx.parameter` argument by walking
    the forward ops backwards through `DifferentiableOpInterface`
    (docs/training.md), optionally clips the gradients by their global norm,
    and updates each parameter and its two Adam moments with
    `smx.adamw_update` at the rate of `smx.lr_schedule`.

    `@train_step` takes, in order: the forward function's non-parameter
    arguments (the batch and `step`), the schedule's `peak_learning_rate`
    (f32), `warmup_steps` and `total_steps` (i64), then the parameters, their
    first moments and their second moments (each in the forward function's
    parameter order, `smx.parameter` / `smx.first_moment` /
    `smx.second_moment` naming them). It returns the new parameters, first
    and second moments, then `loss` (the total), `grad_norm` (before
    clipping), `learning_rate`, then every forward result marked
    `smx.loss` or `smx.metric`, each named by `smx.output`.

    Weight decay applies to the parameters initialized from a normal
    distribution (`smx.init = "normal"`: matrices and embeddings), not to
    biases and layer-norm scales. A parameter the loss does not depend on
    (a head the task does not train) keeps its value and moments, as in
    PyTorch, where such a parameter has no gradient.

    On a partitioned model (a `shard.grid @grid`, from `smx-shard-batch`),
    each device's forward pass computes its share of the loss: the
    gradients, the total loss and the reported results are summed over
    every device of the grid (`shard.all_reduce`) before the gradient norm,
    so every device applies the same update. The gradients summed over the
    same axes travel together: packed, in parameter order, into flat
    buckets of at most `grad-bucket-mib` MiB, one all-reduce per bucket
    (each collective costs a latency besides its bytes; PyTorch's DDP
    buckets for the same reason). With `overlap-grad-sums`, the buckets are
    filled in reverse parameter order (the order the backward pass
    finishes gradients in), and each bucket's sum is started
    (`smx.all_reduce_start`) right after its last gradient is computed and
    waited for (`smx.all_reduce_wait`) before the gradient norm, so it
    travels while the rest of the backward pass computes.

    With `recompute` other than `none`, the backward pass computes parts of
    the forward pass again (activation checkpointing) instead of keeping
    their values alive from the forward pass: `attention`, the mixing
    sublayers of attention layers (their Q, K, V and attention outputs);
    `layers`, every encoder layer, so that only the layers' inputs are kept.
    Each such part is cloned from its inputs right before its gradients;
    the gradient rules read the copies. Training noise is counter-based and
    routing deterministic, so the copies compute the same values: the step
    is bit-identical, it keeps less and computes that part's forward pass
    twice.

    Contract: runs on the spec-level IR of a training-mode forward function
    (dropout and other noise still in place), before `smx-fuse`. Fails with
    an error on the first op on a gradient path that does not implement
    `DifferentiableOpInterface`.
  }];
  let options = [
    Option<"maxGradNorm", "max-grad-norm", "double", /*default=*/"0.0",
           "Clip gradients to this global norm (0: no clipping)">,
    Option<"gradBucketMiB", "grad-bucket-mib", "double", /*default=*/"25.0",
           "On a grid: the most MiB of gradients one all-reduce sums (0: "
           "one all-reduce per gradient)">,
    Option<"overlapGradSums", "overlap-grad-sums", "bool", /*default=*/"false",
           "On a grid: start each gradient bucket's sum as soon as its "
           "gradients are computed, and wait for it before the norm">,
    Option<"schedule", "schedule", "std::string",
           /*default=*/"\"linear_warmup_linear_decay\"",
           "Learning-rate schedule (linear_warmup_linear_decay or "
           "linear_warmup_constant)">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9",
           "Adam's first-moment decay">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999",
           "Adam's second-moment decay">,
    Option<"epsilon", "epsilon", "double", /*default=*/"1.0e-6",
           "Adam's epsilon">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.01",
           "Decoupled weight decay of matrices and embeddings">,
    Option<"recompute", "recompute", "std::string", /*default=*/"\"none\"",
           "Forward values the backward pass computes again instead of "
           "keeping them: none, attention (the mixing sublayers of "
           "attention layers) or layers (every encoder layer)">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::math::MathDialect",
    "::mlir::shard::ShardDialect",
    "::mlir::smx::SmxDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

def SmxBuildVjpPass : Pass<"smx-build-vjp", "ModuleOp"> {
  let summary = "Adds the vector-Jacobian product of a function";
  let description = [{
    For `@f(x...) -> (y...)` adds `@f_vjp(x..., dy...) -> (y..., dx...)`:
    one cotangent argument `dy` per float tensor result, and one gradient
    result `dx` per float tensor argument, `dx = (∂y/∂x)ᵀ · dy` summed over
    the results. It is the same reverse sweep as `smx-build-train-step`
    (DifferentiableOpInterface), without a loss or an optimizer: what
    `smx-gradcheck` compares with finite differences, and a way to inspect
    the gradient of any function with `smx-opt`. An argument the results do
    not depend on gets a zero gradient.

    Contract: `@f` has one block and static shapes.
  }];
  let options = [
    Option<"function", "function", "std::string", /*default=*/"\"forward\"",
           "The function to differentiate">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect",
    "::mlir::tensor::TensorDialect",
  ];
}

#endif // SMX_TRAINING_PASSES_TD
