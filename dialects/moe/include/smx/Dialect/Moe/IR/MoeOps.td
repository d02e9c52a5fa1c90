//===- MoeOps.td - moe dialect ops -------------------------*- tablegen -*-===//
//
// Every op documents its semantics and the constraints (C1, C2, ...) its
// verifier checks; each verifier message names its constraint.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_DIALECT_MOE_IR_MOEOPS_TD
#define SMX_DIALECT_MOE_IR_MOEOPS_TD

include "smx/Dialect/Moe/IR/MoeBase.td"
include "smx/Dialect/Smx/IR/SmxInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Moe_F32Tensor : RankedTensorOf<[F32]>;
def Moe_I32Tensor : RankedTensorOf<[I32]>;

def Moe_JitterOp : Moe_Op<"jitter",
    [Pure, AttrSizedOperandSegments, AllTypesMatch<["input", "result"]>,
     DeclareOpInterfaceMethods<Smx_TrainingNoiseOpInterface>,
     DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Multiplies the router's input by uniform noise in training";
  let description = [{
    Router jitter (Switch Transformer, ST-MoE): `result = input · n` with
    `n` drawn uniformly from `[1 - jitter, 1 + jitter]` per element. The
    noise is counter-based, keyed by `seed`, `step` and the element's
    row-major index in the unsharded tensor (the stream of `smx.dropout`,
    read as a uniform number in `[0, 1)` from its top 24 bits; `offset` is
    the index of this device's first element), so it is the same whenever it is
    recomputed: the gradient is `moe.jitter` of the result's gradient with
    the same key. Evaluation removes the op (`smx-strip-training-noise`).

    Constraints:
    - (C1) `0 < jitter < 1`, with a `step` operand to key the stream.

    Example:
    ```mlir
    %noisy = moe.jitter %x jitter(0.01, seed = 5, step = %step)
        : tensor<8192x512xf32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$input, Optional<I64>:$step,
                       Optional<I64>:$counter_offset,
                       DefaultValuedAttr<F64Attr, "0.0">:$jitter,
                       DefaultValuedAttr<I64Attr, "0">:$seed);
  let results = (outs Moe_F32Tensor:$result);
  let assemblyFormat = [{
    $input `` custom<Jitter>($jitter, $seed, $step, $counter_offset)
    attr-dict `:`
    type($input)
  }];
  let hasVerifier = 1;
}

def Moe_RouterOp : Moe_Op<"router",
    [Pure, InferTypeOpAdaptor,
     DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Scores every token for every expert";
  let description = [{
    `logits = x · W + b` and `probs = softmax(logits)` over experts, both
    f32 whatever the input's element type (routing decisions are sensitive
    to rounding; ST-MoE keeps the router in f32). Router jitter in training
    is a `moe.jitter` on `x`.

    Constraints:
    - (C1) `input` has rank 2 `[T, d]` and `weight` rank 2 `[d, E]`.
    - (C2) the input width matches the weight rows.
    - (C3) `bias` has shape `[E]`.

    Example:
    ```mlir
    %logits, %probs = moe.router %x, %w, %b
        : tensor<8192x512xbf16>, tensor<512x16xbf16>, tensor<16xbf16>
        -> tensor<8192x16xf32>, tensor<8192x16xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, Smx_FloatTensor:$weight,
                       Smx_FloatTensor:$bias);
  let results = (outs Moe_F32Tensor:$logits, Moe_F32Tensor:$probs);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias attr-dict `:` type($input) `,` type($weight)
    `,` type($bias) `->` type($logits) `,` type($probs)
  }];
  let hasVerifier = 1;
}

def Moe_RouteOp : Moe_Op<"route", [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Fills every expert's slots in every group by a routing policy";
  let description = [{
    Splits the `T` tokens of `probs` `[T, E]` into `G` contiguous groups of
    `T / G` tokens and, per group, fills `C` slots per expert by `policy`
    (see the policy attributes). `G` and `C` follow from `T`, `E`,
    `group_size` and `capacity_factor` (see the dialect description), so the
    result shapes are inferred: static when `T` is static.

    Results, both `[G, E, C]`:
    - `dispatch_indices` (i32): the index within its group of the token in
      each slot, or -1 for an empty slot;
    - `combine_weights` (f32): the weight of the slot's expert output in the
      token's result (0 for an empty slot).

    Constraints:
    - (C1) `probs` has rank 2 `[T, E]`.
    - (C2) `capacity_factor > 0`.
    - (C3) `group_size > 0`.
    - (C4) `token_ids` is present if and only if the policy routes by token
      id, and then has shape `[T]`.
    - (C5) a policy's `k` is at most `E`.

    Example (SM-Base, a batch of 16 × 512 tokens):
    ```mlir
    %indices, %weights = moe.route %probs policy = #moe.experts_choose
        capacity_factor = 1.0 group_size = 4096
        : tensor<8192x16xf32> -> tensor<2x16x256xi32>, tensor<2x16x256xf32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$probs, Optional<Smx_IndexTensor>:$token_ids,
                       Moe_RoutingPolicyAttrInterface:$policy,
                       F64Attr:$capacity_factor,
                       DefaultValuedAttr<I64Attr, "4096">:$group_size);
  let results = (outs Moe_I32Tensor:$dispatch_indices,
                      Moe_F32Tensor:$combine_weights);
  let assemblyFormat = [{
    $probs (`token_ids` $token_ids^)? `policy` `=` $policy
    `capacity_factor` `=` $capacity_factor `group_size` `=` $group_size
    attr-dict `:` type($probs) (`,` type($token_ids)^)? `->`
    type($dispatch_indices) `,` type($combine_weights)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The number of groups `G` for `numTokens` tokens (dynamic when
    /// `numTokens` is).
    static int64_t computeGroupCount(int64_t numTokens, int64_t groupSize);
  }];
}

def Moe_DispatchOp : Moe_Op<"dispatch", [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Gathers tokens into expert slots";
  let description = [{
    `result[g, e, c, :] = input[g · (T/G) + indices[g, e, c], :]`, or zeros
    for an empty slot (`indices[g, e, c] == -1`).

    Constraints:
    - (C1) `input` has rank 2 `[T, d]` and `indices` rank 3 `[G, E, C]`.
    - (C2) `T` is divisible by `G`.

    Example:
    ```mlir
    %slots = moe.dispatch %x[%indices]
        : tensor<8192x512xf32>, tensor<2x16x256xi32> -> tensor<2x16x256x512xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, Moe_I32Tensor:$indices);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $input `[` $indices `]` attr-dict `:` type($input) `,` type($indices)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Moe_ExpertFFNOp : Moe_Op<"expert_ffn",
    [Pure, AttrSizedOperandSegments, InferTypeOpAdaptor,
     DeclareOpInterfaceMethods<Smx_TrainingNoiseOpInterface>,
     DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Every expert's feed-forward network on its slots";
  let description = [{
    For every expert `e`, on its slots `input[:, e]` `[G, C, d]`:
    `result[:, e] = act(input[:, e] · W_in[e] + b_in[e]) · W_out[e] + b_out[e]`.
    One batched computation over experts (a batched or grouped GEMM), not a
    loop of small ones. Empty slots compute garbage that `moe.combine`
    weights by 0. With `dropout_rate > 0` (expert dropout, in training
    only), the activations `act(...)` `[G, E, C, F]` go through
    counter-based dropout (as `smx.dropout`, keyed by `seed` and `step`)
    before `W_out`. The counter of activation `(g, e, c, f)` is
    `offset + ((g·E' + e)·C + c)·F + f`, its index in the unsharded
    activations: `E'` is `counter_experts` (default `E`), the experts of
    the unsharded layer when this device holds `E` of them, and `offset`
    (default 0) the index of this device's first activation (set by
    smx-shard-batch and smx-shard-experts).

    Constraints:
    - (C1) `input` has rank 4 `[G, E, C, d]`.
    - (C2) `in_weight` has shape `[E, d, F]`.
    - (C3) `in_bias` has shape `[E, F]`.
    - (C4) `out_weight` has shape `[E, F, d]`.
    - (C5) `out_bias` has shape `[E, d]`.
    - (C6) all weights have the input's element type.
    - (C7) `0 <= dropout_rate < 1`; a positive rate needs a `step` operand.
    - (C8) `counter_experts`, when present, is a positive multiple of `E`.

    Example:
    ```mlir
    %out = moe.expert_ffn %slots, %w1, %b1, %w2, %b2 activation = <gelu_tanh>
        dropout(0.2, seed = 9, step = %step)
        : tensor<2x16x256x512xf32>, tensor<16x512x2048xf32>,
          tensor<16x2048xf32>, tensor<16x2048x512xf32>, tensor<16x512xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, Smx_FloatTensor:$in_weight,
                       Smx_FloatTensor:$in_bias, Smx_FloatTensor:$out_weight,
                       Smx_FloatTensor:$out_bias, Optional<I64>:$step,
                       Optional<I64>:$counter_offset,
                       Smx_ActivationAttr:$activation,
                       DefaultValuedAttr<F64Attr, "0.0">:$dropout_rate,
                       DefaultValuedAttr<I64Attr, "0">:$seed,
                       OptionalAttr<I64Attr>:$counter_experts);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $in_weight `,` $in_bias `,` $out_weight `,` $out_bias
    `activation` `=` $activation ``
    custom<ExpertDropout>($dropout_rate, $seed, $step, $counter_offset)
    attr-dict `:`
    type($input) `,` type($in_weight) `,` type($in_bias) `,`
    type($out_weight) `,` type($out_bias)
  }];
  let hasVerifier = 1;
}

def Moe_CombineOp : Moe_Op<"combine", [Pure, DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Scatters weighted expert outputs back to tokens";
  let description = [{
    `result[g · (T/G) + indices[g, e, c], :] += weights[g, e, c] ·
    input[g, e, c, :]` over all filled slots; a token no expert took gets
    zeros (its residual connection carries it). The number of tokens `T`
    comes from the result type.

    Constraints:
    - (C1) `input` has rank 4 `[G, E, C, d]` and the result rank 2 `[T, d]`
      with the input's element type.
    - (C2) `indices` and `weights` have shape `[G, E, C]`.
    - (C3) the result width is `d`.
    - (C4) `T` is divisible by `G`.

    Example:
    ```mlir
    %y = moe.combine %out[%indices], %weights
        : tensor<2x16x256x512xf32>, tensor<2x16x256xi32>, tensor<2x16x256xf32>
        -> tensor<8192x512xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, Moe_I32Tensor:$indices,
                       Moe_F32Tensor:$weights);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $input `[` $indices `]` `,` $weights attr-dict `:` type($input) `,`
    type($indices) `,` type($weights) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Moe_LoadBalanceLossOp : Moe_Op<"load_balance_loss",
    [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Switch-style auxiliary loss that spreads tokens over experts";
  let description = [{
    Per group of `T / groups` tokens: `E² · mean_e(f_e · P_e)`, where `f_e`
    is the fraction of the group's tokens that have `e` among their `top_k`
    most probable experts (before capacity drops) and `P_e` is the mean
    probability of `e` over the group. The result is the mean over groups:
    1 for a perfectly uniform router with `top_k = 1`.

    Constraints:
    - (C1) `probs` has rank 2 `[T, E]`.
    - (C2) `1 <= top_k <= E`.
    - (C3) `groups > 0` and `T` is divisible by `groups`.

    Example:
    ```mlir
    %aux = moe.load_balance_loss %probs top_k = 2 groups = 2
        : tensor<8192x16xf32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$probs, I64Attr:$top_k,
                       I64Attr:$groups);
  let results = (outs 0DTensorOf<[F32]>:$loss);
  let assemblyFormat = [{
    $probs `top_k` `=` $top_k `groups` `=` $groups attr-dict `:` type($probs)
  }];
  let hasVerifier = 1;
}

def Moe_RouterZLossOp : Moe_Op<"router_z_loss",
    [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "ST-MoE router z-loss: mean squared logsumexp of the logits";
  let description = [{
    `mean_t(logsumexp_e(logits[t, e])²)`: penalizes large router logits,
    which keeps the f32 softmax of the router well-conditioned.

    Constraints:
    - (C1) `logits` has rank 2 `[T, E]`.

    Example:
    ```mlir
    %z = moe.router_z_loss %logits : tensor<8192x16xf32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$logits);
  let results = (outs 0DTensorOf<[F32]>:$loss);
  let assemblyFormat = "$logits attr-dict `:` type($logits)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Gradients (DifferentiableOpInterface, docs/training.md). The router's
// rule uses smx ops (dense and softmax gradients); dispatch's gradient is a
// combine with unit weights. Routing decisions are piecewise constant: the
// gradient reaches the router through the combine weights (the gate
// probabilities) and the auxiliary losses only.
//===----------------------------------------------------------------------===//

def Moe_RouteGradOp : Moe_Op<"route_grad", [Pure]> {
  let summary = "Gradient of the routing probabilities through the gates";
  let description = [{
    `moe.route` copies `probs[token, e]` into `combine_weights[g, e, c]` for
    every filled slot; its gradient adds the slot's gradient back:
    `probs_grad[g · (T/G) + indices[g, e, c], e] += weights_grad[g, e, c]`,
    zeros elsewhere.

    Constraints:
    - (C1) `indices` and `weights_grad` have shape `[G, E, C]`; the result
      is `[T, E]` with `T` divisible by `G`.

    Example:
    ```mlir
    %dp = moe.route_grad %dw[%indices]
        : tensor<1x4x32xf32>, tensor<1x4x32xi32> -> tensor<128x4xf32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$weights_grad, Moe_I32Tensor:$indices);
  let results = (outs Moe_F32Tensor:$probs_grad);
  let assemblyFormat = [{
    $weights_grad `[` $indices `]` attr-dict `:` type($weights_grad) `,`
    type($indices) `->` type($probs_grad)
  }];
  let hasVerifier = 1;
}

def Moe_ExpertFFNGradOp : Moe_Op<"expert_ffn_grad",
    [Pure, AttrSizedOperandSegments, AllTypesMatch<["input", "result_grad", "input_grad"]>,
     AllTypesMatch<["in_weight", "in_weight_grad"]>,
     AllTypesMatch<["in_bias", "in_bias_grad"]>,
     AllTypesMatch<["out_weight", "out_weight_grad"]>,
     AllTypesMatch<["out_bias", "out_bias_grad"]>]> {
  let summary = "Gradients of every expert's feed-forward network";
  let description = [{
    With `h = input[:, e] · W_in[e] + b_in[e]` recomputed and
    `dh = (result_grad[:, e] · W_out[e]ᵀ) ⊙ act'(h)`:
    `input_grad[:, e] = dh · W_in[e]ᵀ`, `in_weight_grad[e] = Σ input[:, e]ᵀ ·
    dh`, `in_bias_grad[e] = Σ dh`, `out_weight_grad[e] = Σ act(h)ᵀ ·
    result_grad[:, e]`, `out_bias_grad[e] = Σ result_grad[:, e]`, sums over
    the groups and slots of expert `e`.

    With expert dropout the activations are dropped with the same
    counter-based mask as in the forward op, and so is their gradient.

    Constraints: those of `moe.expert_ffn` (C1–C8).

    Example:
    ```mlir
    %dx, %dw1, %db1, %dw2, %db2 = moe.expert_ffn_grad %x, %w1, %b1, %w2, %b2, %dy
        activation = <gelu_tanh> : tensor<1x4x32x64xf32>, tensor<4x64x128xf32>,
        tensor<4x128xf32>, tensor<4x128x64xf32>, tensor<4x64xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, Smx_FloatTensor:$in_weight,
                       Smx_FloatTensor:$in_bias, Smx_FloatTensor:$out_weight,
                       Smx_FloatTensor:$out_bias, Smx_FloatTensor:$result_grad,
                       Optional<I64>:$step, Optional<I64>:$counter_offset,
                       Smx_ActivationAttr:$activation,
                       DefaultValuedAttr<F64Attr, "0.0">:$dropout_rate,
                       DefaultValuedAttr<I64Attr, "0">:$seed,
                       OptionalAttr<I64Attr>:$counter_experts);
  let results = (outs Smx_FloatTensor:$input_grad,
                      Smx_FloatTensor:$in_weight_grad,
                      Smx_FloatTensor:$in_bias_grad,
                      Smx_FloatTensor:$out_weight_grad,
                      Smx_FloatTensor:$out_bias_grad);
  let assemblyFormat = [{
    $input `,` $in_weight `,` $in_bias `,` $out_weight `,` $out_bias `,`
    $result_grad `activation` `=` $activation ``
    custom<ExpertDropout>($dropout_rate, $seed, $step, $counter_offset)
    attr-dict `:`
    type($input) `,` type($in_weight) `,` type($in_bias) `,`
    type($out_weight) `,` type($out_bias)
  }];
  let hasVerifier = 1;
}

def Moe_CombineGradOp : Moe_Op<"combine_grad",
    [Pure, AllTypesMatch<["input", "input_grad"]>,
     AllTypesMatch<["weights", "weights_grad"]>]> {
  let summary = "Gradients of the weighted combine";
  let description = [{
    For every filled slot, with `t = g · (T/G) + indices[g, e, c]`:
    `input_grad[g, e, c, :] = weights[g, e, c] · result_grad[t, :]` and
    `weights_grad[g, e, c] = <result_grad[t, :], input[g, e, c, :]>`; zeros
    at empty slots.

    Constraints: those of `moe.combine` (C1–C4), `result_grad` being its
    result.

    Example:
    ```mlir
    %dy, %dw = moe.combine_grad %out[%indices], %weights, %dresult
        : tensor<1x4x32x64xf32>, tensor<1x4x32xi32>, tensor<1x4x32xf32>,
          tensor<128x64xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, Moe_I32Tensor:$indices,
                       Moe_F32Tensor:$weights, Smx_FloatTensor:$result_grad);
  let results = (outs Smx_FloatTensor:$input_grad,
                      Moe_F32Tensor:$weights_grad);
  let assemblyFormat = [{
    $input `[` $indices `]` `,` $weights `,` $result_grad attr-dict `:`
    type($input) `,` type($indices) `,` type($weights) `,` type($result_grad)
  }];
  let hasVerifier = 1;
}

def Moe_RouterZLossGradOp : Moe_Op<"router_z_loss_grad",
    [Pure, AllTypesMatch<["logits", "logits_grad"]>]> {
  let summary = "Gradient of the router z-loss";
  let description = [{
    `logits_grad[t, e] = loss_grad · 2 · lse_t · softmax(logits[t])[e] / T`
    with `lse_t = logsumexp_e(logits[t, e])`.

    Constraints:
    - (C1) `logits` has rank 2 `[T, E]`.

    Example:
    ```mlir
    %dl = moe.router_z_loss_grad %logits, %dz : tensor<128x4xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$logits, 0DTensorOf<[F32]>:$loss_grad);
  let results = (outs Moe_F32Tensor:$logits_grad);
  let assemblyFormat = [{
    $logits `,` $loss_grad attr-dict `:` type($logits) `,` type($loss_grad)
  }];
  let hasVerifier = 1;
}

def Moe_LoadBalanceLossGradOp : Moe_Op<"load_balance_loss_grad",
    [Pure, AllTypesMatch<["probs", "probs_grad"]>]> {
  let summary = "Gradient of the load-balance loss through the mean probabilities";
  let description = [{
    `probs_grad[t, e] = loss_grad · E · f_{g,e} / (groups · T/groups)` where
    `g` is the group of token `t` and `f_{g,e}` the fraction of its tokens
    with `e` among their `top_k` most probable experts (recomputed; the
    fractions count decisions and carry no gradient).

    Constraints: those of `moe.load_balance_loss` (C1–C3).

    Example:
    ```mlir
    %dp = moe.load_balance_loss_grad %probs, %dloss top_k = 2 groups = 1
        : tensor<128x4xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Moe_F32Tensor:$probs, 0DTensorOf<[F32]>:$loss_grad,
                       I64Attr:$top_k, I64Attr:$groups);
  let results = (outs Moe_F32Tensor:$probs_grad);
  let assemblyFormat = [{
    $probs `,` $loss_grad `top_k` `=` $top_k `groups` `=` $groups attr-dict
    `:` type($probs) `,` type($loss_grad)
  }];
  let hasVerifier = 1;
}

def Moe_AllToAllOp : Moe_Op<"all_to_all",
    [Pure, SameOperandsAndResultElementType,
     DeclareOpInterfaceMethods<SymbolUserOpInterface>,
     DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Exchanges expert slots between the devices of a grid axis";
  let description = [{
    Expert parallelism: each of the `n` devices along `grid_axes` of the
    `shard.grid` `grid` splits its input into `n` pieces along `split_axis`,
    sends piece `i` to device `i`, and concatenates what it receives along
    `concat_axis` (the semantics of `shard.all_to_all`, which this op lowers
    to; a separate op so that MoE passes can find dispatch and return
    exchanges). Dispatch sends `[G, E, C, d]` with experts split over `ep`
    and receives `[n·G, E/n, C, d]`; the return exchange is the inverse.
    The exchange only moves elements, so its gradient is the inverse
    exchange of the result's gradient (`split_axis` and `concat_axis`
    swapped).

    Constraints:
    - (C1) `grid` names a `shard.grid`.
    - (C2) every grid axis is in range for the grid, and none repeats.
    - (C3) `split_axis` and `concat_axis` are in range for the input rank.
    - (C4) the input's `split_axis` size is divisible by the number of
      devices along `grid_axes`.
    - (C5) the result shape is the input shape with `split_axis` divided and
      `concat_axis` multiplied by that number.

    Example:
    ```mlir
    shard.grid @grid(shape = 2x4)
    %r = moe.all_to_all %slots on @grid grid_axes = [1] split_axis = 1
        concat_axis = 0 : tensor<2x16x256x512xf32> -> tensor<8x4x256x512xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, FlatSymbolRefAttr:$grid,
                       DenseI16ArrayAttr:$grid_axes, I64Attr:$split_axis,
                       I64Attr:$concat_axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $input `on` $grid `grid_axes` `=` $grid_axes `split_axis` `=` $split_axis
    `concat_axis` `=` $concat_axis attr-dict `:` type($input) `->`
    type($result)
  }];
  let extraClassDeclaration = [{
    /// The result type (C5) of exchanging the current input over the
    /// devices of `grid_axes`; failure when the grid is not found or the
    /// split axis does not divide.
    ::mlir::FailureOr<::mlir::RankedTensorType>
    inferResultType(::mlir::SymbolTableCollection &symbolTables);
  }];
  let hasVerifier = 1;
}

def Moe_ExpertLoadOp : Moe_Op<"expert_load", [Pure, InferTypeOpAdaptor]> {
  let summary = "Tokens per expert and the fraction of dropped tokens";
  let description = [{
    Statistics of one routing of the `T` tokens of `probs` into
    `dispatch_indices` (the operands and result of one `moe.route`):
    `tokens_per_expert[e]` counts the filled slots of expert `e` over all
    groups; `dropped_fraction` is the fraction of the `T` tokens that no
    expert took. Reported per MoE layer in training metrics.

    Constraints:
    - (C1) `dispatch_indices` has rank 3 `[G, E, C]` and `probs` rank 2
      `[T, E]`.
    - (C2) both agree on `E`.
    - (C3) `T` is divisible by `G`.

    Example:
    ```mlir
    %load, %dropped = moe.expert_load %indices for %probs
        : tensor<2x16x256xi32>, tensor<8192x16xf32>
    ```
  }];
  let arguments = (ins Moe_I32Tensor:$dispatch_indices, Moe_F32Tensor:$probs);
  let results = (outs RankedTensorOf<[I64]>:$tokens_per_expert,
                      0DTensorOf<[F32]>:$dropped_fraction);
  let assemblyFormat = [{
    $dispatch_indices `for` $probs attr-dict `:` type($dispatch_indices) `,`
    type($probs)
  }];
  let hasVerifier = 1;
}

#endif // SMX_DIALECT_MOE_IR_MOEOPS_TD
