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
    [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
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
    [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
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
    [Pure, AllTypesMatch<["input", "result"]>, DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
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
    [Pure, AllTypesMatch<["input", "result"]>, DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
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
    [Pure, AllTypesMatch<["input", "result"]>, DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>,
     DeclareOpInterfaceMethods<Smx_TrainingNoiseOpInterface>]> {
  let summary = "Counter-based inverted dropout";
  let description = [{
    Zeroes each element with probability `rate` and scales the others by
    `1 / (1 - rate)`. The keep decision of an element is a pure function of
    `(seed, step, i)`, `i` its linear index in the unsharded tensor (a
    Philox-style counter-based generator): the same step draws the same mask
    on every run and on any sharding of the tensor. The frontend gives every
    dropout site its own `seed`; `step` is the training step. A device that
    holds a block of the tensor (its share of the batch) passes the index
    of the block's first element as `offset` (smx-shard-batch does).

    Dropout is the identity in evaluation: `smx-strip-training-noise` removes it,
    and a rate of 0 folds away.

    Constraints:
    - (C1) `0 <= rate < 1`.

    Example:
    ```mlir
    %y = smx.dropout %x, %step rate = 0.1 seed = 7 : tensor<8x512x768xf32>
    %z = smx.dropout %x, %step rate = 0.1 seed = 7 offset %first
        : tensor<8x512x768xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, I64:$step,
                       Optional<I64>:$counter_offset, F64Attr:$rate,
                       I64Attr:$seed);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $step `rate` `=` $rate `seed` `=` $seed
    (`offset` $counter_offset^)? attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Smx_ResidualAddOp : Smx_Op<"residual_add",
    [Pure, Commutative, AllTypesMatch<["input", "residual", "result"]>,
     DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
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
    [Pure, AllTypesMatch<["input", "result"]>, DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
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
    [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
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

def Smx_CrossEntropyOp : Smx_Op<"cross_entropy",
    [Pure, InferTypeOpAdaptor, DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Mean softmax cross-entropy over the counted positions";
  let description = [{
    For logits `[N..., C]` and integer labels `[N...]`:
    `loss = sum_i w_i * (logsumexp(logits[i]) - logits[i, labels[i]]) /
    max(sum_i w_i, 1)`, where `w_i` is `weights[i]` (1 without `weights`)
    and 0 where `labels[i] == ignore_index`. Masked MLM positions carry
    weight 0 (padding of the 80 prediction slots). The result is a 0-d f32
    tensor; the sum is accumulated in f32.

    On a partitioned model, `count_over @grid grid_axes = [...]` makes the
    result this device's share of the mean over the whole batch: the
    denominator becomes `max(sum of w_i over the devices along grid_axes,
    1)` (an all-reduce of the local sums), so that the shares of the
    devices add up to the mean over all their positions, not to a mean of
    per-device means (`smx-shard-batch`).

    Constraints:
    - (C1) `logits` has rank ≥ 1 and `labels` has its leading dimensions
      (`logits` without its last dimension).
    - (C2) `weights`, when present, has the shape of `labels`.
    - (C3) `grid_axes` is present exactly when `count_over` names a grid.

    Example:
    ```mlir
    %loss = smx.cross_entropy %logits, %labels weights %w ignore_index = -100
        : tensor<8x80x30522xf32>, tensor<8x80xi32>, tensor<8x80xf32>
    %share = smx.cross_entropy %logits, %labels weights %w ignore_index = -100
        count_over @grid grid_axes = [0, 1]
        : tensor<2x80x30522xf32>, tensor<2x80xi32>, tensor<2x80xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$logits, Smx_IndexTensor:$labels,
                       Optional<Smx_FloatTensor>:$weights,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index,
                       OptionalAttr<FlatSymbolRefAttr>:$count_over,
                       OptionalAttr<DenseI16ArrayAttr>:$grid_axes);
  let results = (outs Smx_ScalarFloatTensor:$loss);
  let assemblyFormat = [{
    $logits `,` $labels (`weights` $weights^)? `ignore_index` `=`
    $ignore_index (`count_over` $count_over^ `grid_axes` `=` $grid_axes)?
    attr-dict `:` type($logits) `,` type($labels) (`,` type($weights)^)?
  }];
  let hasVerifier = 1;
}

def Smx_MeanSquaredErrorOp : Smx_Op<"mean_squared_error",
    [Pure, InferTypeOpAdaptor, AllTypesMatch<["predictions", "targets"]>,
     DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Mean squared error of a regression head";
  let description = [{
    `loss = mean_i (predictions[i] − targets[i])²` over all elements, a 0-d
    f32 tensor accumulated in f32: the loss of a regression classifier head
    (`heads.classifier: {regression: true}`).

    Example:
    ```mlir
    %loss = smx.mean_squared_error %scores, %labels : tensor<8xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$predictions,
                       Smx_FloatTensor:$targets);
  let results = (outs Smx_ScalarFloatTensor:$loss);
  let assemblyFormat = [{
    $predictions `,` $targets attr-dict `:` type($predictions)
  }];
}

//===----------------------------------------------------------------------===//
// Gradients: the companions `smx-build-train-step` builds through the
// DifferentiableOpInterface. Where a gradient is another forward op (the
// input gradient of `smx.dense` is `smx.dense` with the weight transposed;
// dropout's is the same dropout), the forward op is used instead.
//===----------------------------------------------------------------------===//

def Smx_ActivationGradOp : Smx_Op<"activation_grad",
    [Pure, AllTypesMatch<["input", "result_grad", "input_grad"]>]> {
  let summary = "Gradient of an elementwise activation";
  let description = [{
    `input_grad = result_grad * f'(input)` for the activation `f` named by
    `kind` (the exact derivative of the form `smx.activation` computes:
    `gelu_tanh` differentiates the tanh approximation).

    Example:
    ```mlir
    %dx = smx.activation_grad <gelu_tanh> %x, %dy : tensor<8x512x3072xf32>
    ```
  }];
  let arguments = (ins Smx_ActivationAttr:$kind, Smx_FloatTensor:$input,
                       Smx_FloatTensor:$result_grad);
  let results = (outs Smx_FloatTensor:$input_grad);
  let assemblyFormat = [{
    $kind $input `,` $result_grad attr-dict `:` type($input)
  }];
}

def Smx_LayerNormGradOp : Smx_Op<"layer_norm_grad",
    [Pure, AllTypesMatch<["input", "result_grad", "input_grad"]>,
     AllTypesMatch<["scale", "scale_grad", "bias_grad"]>]> {
  let summary = "Gradients of layer normalization";
  let description = [{
    For `y = x̂ * scale + bias`, `x̂ = (x - mean) * rstd` over the last
    dimension `D` (`x = input`, or `input + residual` with the optional
    `residual`), recomputes `x̂` and
    returns
    ```
    input_grad = rstd * (g - mean(g) - x̂ * mean(g * x̂)),  g = dy * scale
    scale_grad = sum over leading dims of dy * x̂
    bias_grad  = sum over leading dims of dy
    ```
    `input_grad` is also the residual's gradient.

    Constraints:
    - (C1) `input` has rank ≥ 1; `scale` has shape `[D]`.
    - (C2) `residual`, when present, has the input's type.
    - (C3) `epsilon` > 0.

    Example:
    ```mlir
    %dx, %dscale, %dbias = smx.layer_norm_grad %x, %scale, %dy
        epsilon = 1.0e-12 : tensor<8x512x768xf32>, tensor<768xf32>
    ```
  }];
  // The optional residual comes last: ODS infers result types from operand
  // positions, which an optional operand in the middle would shift.
  let arguments = (ins Smx_FloatTensor:$input, Smx_FloatTensor:$scale,
                       Smx_FloatTensor:$result_grad,
                       Optional<Smx_FloatTensor>:$residual,
                       F64Attr:$epsilon);
  let results = (outs Smx_FloatTensor:$input_grad,
                      Smx_FloatTensor:$scale_grad,
                      Smx_FloatTensor:$bias_grad);
  let assemblyFormat = [{
    $input `,` $scale `,` $result_grad (`residual` $residual^)? `epsilon` `=`
    $epsilon attr-dict `:` type($input) `,` type($scale)
    (`,` type($residual)^)?
  }];
  let hasVerifier = 1;
}

def Smx_DenseWeightGradOp : Smx_Op<"dense_weight_grad",
    [Pure, InferTypeOpAdaptor]> {
  let summary = "Weight gradient of a dense layer";
  let description = [{
    `weight_grad[k, n] = sum_i input[i..., k] * result_grad[i..., n]` over
    all leading dimensions `i...` (one GEMM, `inputᵀ · result_grad`, with
    the leading dimensions flattened). With `transpose_weight` the result is
    `[N, K]`, the layout of a transposed dense weight.

    Constraints:
    - (C1) `input` and `result_grad` have rank ≥ 1, the same leading
      dimensions and the same element type.

    Example:
    ```mlir
    %dw = smx.dense_weight_grad %x, %dy
        : tensor<8x512x768xf32>, tensor<8x512x3072xf32> -> tensor<768x3072xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, Smx_FloatTensor:$result_grad,
                       UnitAttr:$transpose_weight);
  let results = (outs Smx_FloatTensor:$weight_grad);
  let assemblyFormat = [{
    $input `,` $result_grad (`transpose_weight` $transpose_weight^)?
    attr-dict `:` type($input) `,` type($result_grad) `->` type($weight_grad)
  }];
  let hasVerifier = 1;
}

def Smx_SumLeadingOp : Smx_Op<"sum_leading", [Pure, InferTypeOpAdaptor]> {
  let summary = "Sum over every dimension but the last";
  let description = [{
    `result[n] = sum_i input[i..., n]`: the gradient of a bias broadcast
    over leading dimensions. Accumulates in the element type.

    Constraints:
    - (C1) `input` has rank ≥ 1.

    Example:
    ```mlir
    %db = smx.sum_leading %dy : tensor<8x512x768xf32> -> tensor<768xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Smx_EmbeddingGradOp : Smx_Op<"embedding_grad", [Pure]> {
  let summary = "Table gradient of an embedding lookup (a scatter-add)";
  let description = [{
    `table_grad[r, :] = sum of result_grad[i..., :] over the i... with
    indices[i...] == r`: a scatter-add of the result gradient into a zeroed
    table, so its cost grows with the tokens, not the vocabulary.

    Constraints:
    - (C1) `table_grad` has rank 2 `[rows, width]`; `result_grad` has the
      shape of `indices` followed by `width`; element types agree.

    Example:
    ```mlir
    %dt = smx.embedding_grad %dy[%ids]
        : tensor<8x512x768xf32>, tensor<8x512xi32> -> tensor<30522x768xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$result_grad, Smx_IndexTensor:$indices);
  let results = (outs Smx_FloatTensor:$table_grad);
  let assemblyFormat = [{
    $result_grad `[` $indices `]` attr-dict `:` type($result_grad) `,`
    type($indices) `->` type($table_grad)
  }];
  let hasVerifier = 1;
}

def Smx_ScatterPositionsOp : Smx_Op<"scatter_positions", [Pure]> {
  let summary = "Adds per-position values back into their sequences";
  let description = [{
    The gradient of `smx.gather_positions`:
    `result[b, l, :] = sum over p with positions[b, p] == l of
    input[b, p, :]`, and 0 at positions no slot names.

    Constraints:
    - (C1) `input` is `[B, P, D]`, `positions` `[B, P]` and the result
      `[B, L, D]` with the input's element type.

    Example:
    ```mlir
    %dh = smx.scatter_positions %dm[%positions]
        : tensor<8x80x768xf32>, tensor<8x80xi32> -> tensor<8x512x768xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, Smx_IndexTensor:$positions);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $input `[` $positions `]` attr-dict `:` type($input) `,`
    type($positions) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Smx_SoftmaxGradOp : Smx_Op<"softmax_grad",
    [Pure, AllTypesMatch<["result", "result_grad", "input_grad"]>]> {
  let summary = "Gradient of a softmax, from its result";
  let description = [{
    `input_grad = result * (result_grad - sum(result_grad * result))`, the
    sum along `dimension`.

    Constraints:
    - (C1) `0 <= dimension < rank(result)`.

    Example:
    ```mlir
    %dx = smx.softmax_grad %p, %dp dimension = 1 : tensor<64x2xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$result, Smx_FloatTensor:$result_grad,
                       I64Attr:$dimension);
  let results = (outs Smx_FloatTensor:$input_grad);
  let assemblyFormat = [{
    $result `,` $result_grad `dimension` `=` $dimension attr-dict `:`
    type($result)
  }];
  let hasVerifier = 1;
}

def Smx_CrossEntropyGradOp : Smx_Op<"cross_entropy_grad",
    [Pure, AllTypesMatch<["logits", "logits_grad"]>]> {
  let summary = "Gradient of the mean softmax cross-entropy";
  let description = [{
    For `smx.cross_entropy` with the same operands:
    `logits_grad[i, c] = loss_grad * w_i * (softmax(logits[i])[c] -
    [c == labels[i]]) / max(sum_i w_i, 1)`, with `w_i` as there (0 where the
    label is `ignore_index`), and the same `count_over` denominator.

    Constraints:
    - (C1) as `smx.cross_entropy`; `loss_grad` is a 0-d f32 tensor.

    Example:
    ```mlir
    %dl = smx.cross_entropy_grad %logits, %labels, %dloss ignore_index = -100
        : tensor<8x2xf32>, tensor<8xi32>, tensor<f32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$logits, Smx_IndexTensor:$labels,
                       Optional<Smx_FloatTensor>:$weights,
                       Smx_ScalarFloatTensor:$loss_grad,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index,
                       OptionalAttr<FlatSymbolRefAttr>:$count_over,
                       OptionalAttr<DenseI16ArrayAttr>:$grid_axes);
  let results = (outs Smx_FloatTensor:$logits_grad);
  let assemblyFormat = [{
    $logits `,` $labels `,` $loss_grad (`weights` $weights^)? `ignore_index`
    `=` $ignore_index (`count_over` $count_over^ `grid_axes` `=` $grid_axes)?
    attr-dict `:` type($logits) `,` type($labels) `,` type($loss_grad)
    (`,` type($weights)^)?
  }];
  let hasVerifier = 1;
}

def Smx_GlobalNormOp : Smx_Op<"global_norm", [Pure]> {
  let summary = "Euclidean norm of several tensors taken together";
  let description = [{
    `norm = sqrt(sum over every tensor t and element i of t[i]^2)`, a 0-d
    f32 tensor, accumulated in f32: the global gradient norm that clipping
    compares with its limit and training logs.

    Example:
    ```mlir
    %n = smx.global_norm %g0, %g1
        : tensor<768x768xf32>, tensor<768xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins Variadic<Smx_FloatTensor>:$inputs);
  let results = (outs Smx_ScalarFloatTensor:$norm);
  let assemblyFormat = [{
    $inputs attr-dict `:` type($inputs) `->` type($norm)
  }];
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
    `<linear_warmup_linear_decay>`: `peak * (step + 1) / warmup` while
    `step < warmup`, then `peak * (total - step) / (total - warmup)`, and 0
    from `total` on. `<linear_warmup_constant>`: the warmup, then `peak`.
    `step` counts from 0, so the first step trains at `peak / warmup`, not
    at 0. The peak and step counts are operands: the executable takes them
    from its command line (`--lr`, `--warmup`, `--steps`).

    Example:
    ```mlir
    %lr = smx.lr_schedule <linear_warmup_linear_decay> %step, %peak,
        %warmup, %total : f32
    ```
  }];
  let arguments = (ins Smx_LRScheduleAttr:$kind, I64:$step, F32:$peak,
                       I64:$warmup_steps, I64:$total_steps);
  let results = (outs F32:$learning_rate);
  let assemblyFormat = [{
    $kind $step `,` $peak `,` $warmup_steps `,` $total_steps attr-dict `:`
    type($learning_rate)
  }];
}

//===----------------------------------------------------------------------===//
// Started collectives
//===----------------------------------------------------------------------===//

def Smx_AllReduceStartOp : Smx_Op<"all_reduce_start",
    [MemoryEffects<[MemWrite]>]> {
  let summary = "Starts summing a tensor over devices of a grid";
  let description = [{
    The sum of `shard.all_reduce` (over the devices along `grid_axes` of the
    `shard.grid` `grid`), split in two so that work can run while it
    travels: this op starts it and returns a handle; `smx.all_reduce_wait`
    on the handle is its result. `smx-build-train-step` starts each
    gradient bucket's sum as soon as the bucket's last gradient is computed
    and waits for it before the gradient norm. The ops have effects: every
    device starts and waits its sums in the same order, which no pass may
    change or drop.

    Constraints:
    - (C1) `grid_axes` is not empty and names no axis twice.
    - (C2) the handle has exactly one user, an `smx.all_reduce_wait`.

    Example:
    ```mlir
    %h = smx.all_reduce_start %bucket on @grid grid_axes = [0, 1] : tensor<4096xf32>
    ...
    %sum = smx.all_reduce_wait %h : tensor<4096xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, FlatSymbolRefAttr:$grid,
                       DenseI16ArrayAttr:$grid_axes);
  let results = (outs I64:$handle);
  let assemblyFormat = [{
    $input `on` $grid `grid_axes` `=` $grid_axes attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

def Smx_AllReduceWaitOp : Smx_Op<"all_reduce_wait",
    [MemoryEffects<[MemWrite]>]> {
  let summary = "Waits for a started sum and returns it";
  let description = [{
    The sum that `smx.all_reduce_start` started.

    Constraints:
    - (C1) `handle` is the result of an `smx.all_reduce_start` whose input
      has the result's type.

    Example:
    ```mlir
    %sum = smx.all_reduce_wait %h : tensor<4096xf32>
    ```
  }];
  let arguments = (ins I64:$handle);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = "$handle attr-dict `:` type($result)";
  let hasVerifier = 1;
}

#endif // SMX_DIALECT_SMX_IR_SMXOPS_TD
