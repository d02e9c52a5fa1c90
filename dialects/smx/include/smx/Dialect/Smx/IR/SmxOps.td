//===- SmxOps.td - smx dialect ops -------------------------*- tablegen -*-===//
//
// Each op documents its semantics, operands, the constraints its verifier
// checks (C1, C2, ...; every verifier message names the constraint it
// checks), and an example.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_DIALECT_SMX_IR_SMXOPS_TD
#define SMX_DIALECT_SMX_IR_SMXOPS_TD

include "smx/Dialect/Smx/IR/SmxBase.td"
include "smx/Dialect/Smx/IR/SmxInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

//===----------------------------------------------------------------------===//
// Embeddings and dense layers
//===----------------------------------------------------------------------===//

def Smx_EmbeddingLookupOp : Smx_Op<"embedding_lookup",
    [Pure, InferTypeOpAdaptor]> {
  let summary = "Gathers rows of an embedding table";
  let description = [{
    `result[i..., :] = table[indices[i...], :]`. The result has the shape of
    `indices` followed by the embedding width. An index outside
    `[0, rows)` is undefined behaviour at run time; the frontend only emits
    indices that a tokenizer or position counter bounds.

    Constraints:
    - (C1) `table` has rank 2: `[rows, width]`.
    - (C2) the result element type is the table's element type.
    - (C3) for `<position>` lookups with a static sequence dimension, the
      table has at least as many rows as the last dimension of `indices`.

    Example:
    ```mlir
    %e = smx.embedding_lookup <word> %table[%ids]
        : tensor<30522x768xf32>, tensor<8x512xi32> -> tensor<8x512x768xf32>
    ```
  }];
  let arguments = (ins Smx_EmbeddingKindAttr:$kind, Smx_FloatTensor:$table,
                       Smx_IndexTensor:$indices);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $kind $table `[` $indices `]` attr-dict `:` type($table) `,`
    type($indices) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Smx_DenseOp : Smx_Op<"dense",
    [Pure, InferTypeOpAdaptor]> {
  let summary = "Matrix multiplication plus bias over the last dimension";
  let description = [{
    `result[i..., n] = sum_k input[i..., k] * W[k, n] + bias[n]`, for any
    number of leading dimensions `i...`. With `transpose_weight` the weight is
    stored `[N, K]` and used transposed: this is how the MLM head reuses the
    word embedding table `[vocab, width]` as its output projection. With
    `activation`, the activation is applied to the biased result (the
    epilogue `smx-fuse` folds in from a following `smx.activation`; GEMM
    libraries run it in the GEMM's epilogue).

    Constraints:
    - (C1) `input` has rank ≥ 1 and `weight` rank 2.
    - (C2) the contraction sizes agree: the last dimension of `input` equals
      `weight[0]` (`weight[1]` with `transpose_weight`).
    - (C3) `bias`, when present, has shape `[N]`.
    - (C4) `input`, `weight`, `bias` and the result share the element type.

    Example:
    ```mlir
    %y = smx.dense %x, %w, %b
        : tensor<8x512x768xf32>, tensor<768x3072xf32>, tensor<3072xf32>
        -> tensor<8x512x3072xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, Smx_FloatTensor:$weight,
                       Optional<Smx_FloatTensor>:$bias,
                       UnitAttr:$transpose_weight,
                       OptionalAttr<Smx_ActivationAttr>:$activation);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? (`transpose_weight` $transpose_weight^)?
    (`activation` `=` $activation^)?
    attr-dict `:` type($input) `,` type($weight) (`,` type($bias)^)?
    `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalization, activations, dropout, residuals
//===----------------------------------------------------------------------===//

def Smx_LayerNormOp : Smx_Op<"layer_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Layer normalization over the last dimension";
  let description = [{
    `result = (x - mean) / sqrt(var + epsilon) * scale + bias` with the
    mean and (biased) variance of `x` taken over the last dimension, where
    `x = input`, or `x = input + residual` with the optional `residual`: the
    post-LN block's residual add that `smx-fuse` folds in, so the sum is
    never materialized. Statistics are accumulated in f32 whatever the
    element type.

    Constraints:
    - (C1) `input` has rank ≥ 1.
    - (C2) `scale` and `bias` have shape `[D]`, D the last dimension of
      `input`, and the input's element type.
    - (C3) `epsilon` > 0.
    - (C4) `residual`, when present, has the input's type.

    Example:
    ```mlir
    %y = smx.layer_norm %x, %scale, %bias epsilon = 1.0e-12
        : tensor<8x512x768xf32>, tensor<768xf32>, tensor<768xf32>
    %z = smx.layer_norm %mixed + %x, %scale, %bias epsilon = 1.0e-12
        : tensor<8x512x768xf32> + tensor<8x512x768xf32>, tensor<768xf32>,
          tensor<768xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input,
                       Optional<Smx_FloatTensor>:$residual,
                       Smx_FloatTensor:$scale, Smx_FloatTensor:$bias,
                       DefaultValuedAttr<F64Attr, "1.0e-12">:$epsilon);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`+` $residual^)? `,` $scale `,` $bias `epsilon` `=` $epsilon
    attr-dict `:` type($input) (`+` type($residual)^)? `,` type($scale) `,`
    type($bias)
  }];
  let hasVerifier = 1;
}

def Smx_ActivationOp : Smx_Op<"activation",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Elementwise activation";
  let description = [{
    Applies `kind` (see `#smx.activation`) to every element.

    Example:
    ```mlir
    %y = smx.activation <gelu_tanh> %x : tensor<8x512x3072xf32>
    ```
  }];
  let arguments = (ins Smx_ActivationAttr:$kind, Smx_FloatTensor:$input);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input)";
}

def Smx_DropoutOp : Smx_Op<"dropout",
    [Pure, AllTypesMatch<["input", "result"]>,
     DeclareOpInterfaceMethods<Smx_TrainingNoiseOpInterface>]> {
  let summary = "Counter-based inverted dropout";
  let description = [{
    Zeroes each element with probability `rate` and scales the others by
    `1 / (1 - rate)`. The keep decision of an element is a pure function of
    `(seed, step, i)`, `i` its linear index in the unsharded tensor (a
    Philox-style counter-based generator): the same step draws the same mask
    on every run and on any sharding of the tensor. The frontend gives every
    dropout site its own `seed`; `step` is the training step.

    Dropout is the identity in evaluation: `smx-strip-training-noise` removes it,
    and a rate of 0 folds away.

    Constraints:
    - (C1) `0 <= rate < 1`.

    Example:
    ```mlir
    %y = smx.dropout %x, %step rate = 0.1 seed = 7 : tensor<8x512x768xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, I64:$step, F64Attr:$rate,
                       I64Attr:$seed);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $step `rate` `=` $rate `seed` `=` $seed attr-dict `:`
    type($input)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Smx_ResidualAddOp : Smx_Op<"residual_add",
    [Pure, Commutative, AllTypesMatch<["input", "residual", "result"]>]> {
  let summary = "Adds a sublayer's output to its residual stream";
  let description = [{
    `result = input + residual`, elementwise. A separate op (rather than
    `arith.addf`) so that fusion can match the residual+layer-norm pattern
    of post-LN blocks and the train-step builder knows the gradient fans out.

    Example:
    ```mlir
    %h = smx.residual_add %mixed, %x : tensor<8x512x768xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, Smx_FloatTensor:$residual);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = "$input `,` $residual attr-dict `:` type($input)";
}

def Smx_SoftmaxOp : Smx_Op<"softmax",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Numerically stable softmax along one dimension";
  let description = [{
    `result = exp(x - max(x)) / sum(exp(x - max(x)))` along `dimension`.

    Constraints:
    - (C1) `0 <= dimension < rank(input)`.

    Example:
    ```mlir
    %p = smx.softmax %logits dimension = 1 : tensor<64x2xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, I64Attr:$dimension);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $input `dimension` `=` $dimension attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Heads and losses
//===----------------------------------------------------------------------===//

def Smx_GatherPositionsOp : Smx_Op<"gather_positions",
    [Pure, InferTypeOpAdaptor]> {
  let summary = "Gathers the hidden states at given positions of each sequence";
  let description = [{
    `result[b, p, :] = input[b, positions[b, p], :]`: the MLM head reads only
    the masked positions (at most 80 per sequence) instead of all of them.

    Constraints:
    - (C1) `input` has rank 3 `[B, L, D]` and `positions` rank 2 `[B, P]`.
    - (C2) the batch sizes of `input` and `positions` agree.

    Example:
    ```mlir
    %m = smx.gather_positions %h[%positions]
        : tensor<8x512x768xf32>, tensor<8x80xi32> -> tensor<8x80x768xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, Smx_IndexTensor:$positions);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $input `[` $positions `]` attr-dict `:` type($input) `,` type($positions)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Smx_CrossEntropyOp : Smx_Op<"cross_entropy", [Pure, InferTypeOpAdaptor]> {
  let summary = "Mean softmax cross-entropy over the counted positions";
  let description = [{
    For logits `[N..., C]` and integer labels `[N...]`:
    `loss = sum_i w_i * (logsumexp(logits[i]) - logits[i, labels[i]]) /
    max(sum_i w_i, 1)`, where `w_i` is `weights[i]` (1 without `weights`)
    and 0 where `labels[i] == ignore_index`. Masked MLM positions carry
    weight 0 (padding of the 80 prediction slots). The result is a 0-d f32
    tensor; the sum is accumulated in f32.

    Constraints:
    - (C1) `logits` has rank ≥ 1 and `labels` has its leading dimensions
      (`logits` without its last dimension).
    - (C2) `weights`, when present, has the shape of `labels`.

    Example:
    ```mlir
    %loss = smx.cross_entropy %logits, %labels weights %w ignore_index = -100
        : tensor<8x80x30522xf32>, tensor<8x80xi32>, tensor<8x80xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$logits, Smx_IndexTensor:$labels,
                       Optional<Smx_FloatTensor>:$weights,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs Smx_ScalarFloatTensor:$loss);
  let assemblyFormat = [{
    $logits `,` $labels (`weights` $weights^)? `ignore_index` `=`
    $ignore_index attr-dict `:` type($logits) `,` type($labels)
    (`,` type($weights)^)?
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Optimizer
//===----------------------------------------------------------------------===//

def Smx_AdamWUpdateOp : Smx_Op<"adamw_update",
    [Pure, AllTypesMatch<["param", "grad", "first_moment", "second_moment",
                          "new_param", "new_first_moment",
                          "new_second_moment"]>]> {
  let summary = "One AdamW step of a parameter and its moments";
  let description = [{
    With `t = step` (1-based) and learning rate `lr`:
    ```
    m' = beta1 * m + (1 - beta1) * g
    v' = beta2 * v + (1 - beta2) * g^2
    p' = p - lr * (m' / (1 - beta1^t) / (sqrt(v' / (1 - beta2^t)) + epsilon)
                   + weight_decay * p)
    ```
    (decoupled weight decay, Loshchilov & Hutter). Parameters and moments are
    f32 master copies even when the forward pass runs in bf16.

    Constraints:
    - (C1) `0 <= beta1 < 1` and `0 <= beta2 < 1`.
    - (C2) `epsilon > 0` and `weight_decay >= 0`.

    Example:
    ```mlir
    %p1, %m1, %v1 = smx.adamw_update %p, %g, %m, %v, %lr, %step
        beta1 = 0.9 beta2 = 0.999 epsilon = 1.0e-06 weight_decay = 0.01
        : tensor<768x768xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$param, Smx_FloatTensor:$grad,
                       Smx_FloatTensor:$first_moment,
                       Smx_FloatTensor:$second_moment, F32:$learning_rate,
                       I64:$step,
                       DefaultValuedAttr<F64Attr, "0.9">:$beta1,
                       DefaultValuedAttr<F64Attr, "0.999">:$beta2,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon,
                       DefaultValuedAttr<F64Attr, "0.01">:$weight_decay);
  let results = (outs Smx_FloatTensor:$new_param,
                      Smx_FloatTensor:$new_first_moment,
                      Smx_FloatTensor:$new_second_moment);
  let assemblyFormat = [{
    $param `,` $grad `,` $first_moment `,` $second_moment `,` $learning_rate
    `,` $step `beta1` `=` $beta1 `beta2` `=` $beta2 `epsilon` `=` $epsilon
    `weight_decay` `=` $weight_decay attr-dict `:` type($param)
  }];
  let hasVerifier = 1;
}

def Smx_LRScheduleOp : Smx_Op<"lr_schedule", [Pure]> {
  let summary = "Learning rate at a training step";
  let description = [{
    `<linear_warmup_linear_decay>`: `peak * step / warmup` while
    `step < warmup`, then `peak * (total - step) / (total - warmup)`, and 0
    from `total` on. `<linear_warmup_constant>`: the warmup, then `peak`.
    `step` counts from 0.

    Constraints:
    - (C1) `peak >= 0`.
    - (C2) `0 <= warmup_steps <= total_steps` and `total_steps > 0`.

    Example:
    ```mlir
    %lr = smx.lr_schedule <linear_warmup_linear_decay> %step peak = 1.0e-04
        warmup_steps = 10000 total_steps = 1000000 : f32
    ```
  }];
  let arguments = (ins Smx_LRScheduleAttr:$kind, I64:$step, F64Attr:$peak,
                       I64Attr:$warmup_steps, I64Attr:$total_steps);
  let results = (outs F32:$learning_rate);
  let assemblyFormat = [{
    $kind $step `peak` `=` $peak `warmup_steps` `=` $warmup_steps
    `total_steps` `=` $total_steps attr-dict `:` type($learning_rate)
  }];
  let hasVerifier = 1;
}

#endif // SMX_DIALECT_SMX_IR_SMXOPS_TD
