//===- MixOps.td - mix dialect ops -------------------------*- tablegen -*-===//
//
// Every op documents its semantics and the constraints (C1, C2, ...) its
// verifier checks; each verifier message names its constraint.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_DIALECT_MIX_IR_MIXOPS_TD
#define SMX_DIALECT_MIX_IR_MIXOPS_TD

include "smx/Dialect/Mix/IR/MixBase.td"
include "smx/Dialect/Smx/IR/SmxInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Mix_LinearOp : Mix_Op<"linear",
    [Pure, AllTypesMatch<["input", "result"]>,
     DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Dense linear mixing along sequence and hidden dimensions";
  let description = [{
    `Y[b] = W_seq · X[b] · W_hid` for every batch entry: `W_seq` `[L, L]`
    mixes positions, `W_hid` `[d, d]` mixes hidden features; no bias. This is
    Sparse Mixer's "linear" mixing (`L` is the model's maximum length).

    Constraints:
    - (C1) `input` has rank 3: `[B, L, d]`.
    - (C2) `seq_weight` has shape `[L, L]`.
    - (C3) `hidden_weight` has shape `[d, d]`.
    - (C4) both weights have the input's element type.

    Example:
    ```mlir
    %y = mix.linear %x, %w_seq, %w_hid
        : tensor<8x512x512xf32>, tensor<512x512xf32>, tensor<512x512xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, Smx_FloatTensor:$seq_weight,
                       Smx_FloatTensor:$hidden_weight);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $seq_weight `,` $hidden_weight attr-dict `:` type($input) `,`
    type($seq_weight) `,` type($hidden_weight)
  }];
  let hasVerifier = 1;
}

def Mix_LinearGradOp : Mix_Op<"linear_grad",
    [Pure, AllTypesMatch<["input", "result_grad", "input_grad"]>,
     AllTypesMatch<["seq_weight", "seq_weight_grad"]>,
     AllTypesMatch<["hidden_weight", "hidden_weight_grad"]>]> {
  let summary = "Gradients of dense linear mixing";
  let description = [{
    For `Y[b] = W_seq · X[b] · W_hid` and the result gradient `G`:
    ```
    input_grad[b]      = W_seqᵀ · G[b] · W_hidᵀ
    seq_weight_grad    = sum_b G[b] · (X[b] · W_hid)ᵀ
    hidden_weight_grad = sum_b (W_seq · X[b])ᵀ · G[b]
    ```

    Constraints: those of `mix.linear` on `input`, `seq_weight`,
    `hidden_weight` (C1–C4).

    Example:
    ```mlir
    %dx, %dws, %dwh = mix.linear_grad %x, %w_seq, %w_hid, %g
        : tensor<8x512x512xf32>, tensor<512x512xf32>, tensor<512x512xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$input, Smx_FloatTensor:$seq_weight,
                       Smx_FloatTensor:$hidden_weight,
                       Smx_FloatTensor:$result_grad);
  let results = (outs Smx_FloatTensor:$input_grad,
                      Smx_FloatTensor:$seq_weight_grad,
                      Smx_FloatTensor:$hidden_weight_grad);
  let assemblyFormat = [{
    $input `,` $seq_weight `,` $hidden_weight `,` $result_grad attr-dict `:`
    type($input) `,` type($seq_weight) `,` type($hidden_weight)
  }];
  let hasVerifier = 1;
}

def Mix_FourierOp : Mix_TransformOp<"fourier",
    [DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "FNet Fourier mixing: real part of the 2-D DFT";
  let description = [{
    `Y[b] = Re(F_L · X[b] · F_d)` with `F_N[j, k] = exp(-2πi·jk/N)`: the
    real part of the unnormalized 2-D discrete Fourier transform over the
    sequence and hidden dimensions (FNet).

    Constraints:
    - (C1) `input` has rank 3: `[B, L, d]`.

    Example:
    ```mlir
    %y = mix.fourier %x : tensor<8x512x768xf32>
    ```
  }];
}

def Mix_HartleyOp : Mix_TransformOp<"hartley",
    [DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Hartley mixing: Re(Z) - Im(Z) of the 2-D DFT";
  let description = [{
    With `Z = F_L · X[b] · F_d` (see `mix.fourier`), `Y[b] = Re(Z) - Im(Z)`:
    the 2-D Hartley transform, a real-to-real transform that keeps the
    information the Fourier mixing's real part discards.

    Constraints:
    - (C1) `input` has rank 3: `[B, L, d]`.

    Example:
    ```mlir
    %y = mix.hartley %x : tensor<8x512x768xf32>
    ```
  }];
}

def Mix_CirculantOp : Mix_StructuredOp<"circulant", [DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Circulant mixing: C(s) · X · C(h)ᵀ";
  let description = [{
    With the circulant matrix `C(v)[r, c] = v[(r - c) mod N]`,
    `Y[b] = C(seq_params) · X[b] · C(hidden_params)ᵀ`: a learned mixing with
    `L + d` parameters that an FFT can apply in `O(L·d·log(L·d))`.

    Constraints:
    - (C1) `input` has rank 3: `[B, L, d]`.
    - (C2) `seq_params` has shape `[L]`.
    - (C3) `hidden_params` has shape `[d]`.
    - (C4) both parameter vectors have the input's element type.

    Example:
    ```mlir
    %y = mix.circulant %x, %s, %h
        : tensor<8x512x512xf32>, tensor<512xf32>, tensor<512xf32>
    ```
  }];
}

def Mix_ToeplitzOp : Mix_StructuredOp<"toeplitz", [DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Toeplitz mixing: T(s) · X · T(h)ᵀ";
  let description = [{
    With the Toeplitz matrix `T(t)[r, c] = t[N - 1 + c - r]` (2N−1
    parameters, one per diagonal),
    `Y[b] = T(seq_params) · X[b] · T(hidden_params)ᵀ`.

    Constraints:
    - (C1) `input` has rank 3: `[B, L, d]`.
    - (C2) `seq_params` has shape `[2L - 1]`.
    - (C3) `hidden_params` has shape `[2d - 1]`.
    - (C4) both parameter vectors have the input's element type.

    Example:
    ```mlir
    %y = mix.toeplitz %x, %s, %h
        : tensor<8x512x512xf32>, tensor<1023xf32>, tensor<1023xf32>
    ```
  }];
}

def Mix_SelfAttentionOp : Mix_Op<"self_attention",
    [Pure, AttrSizedOperandSegments, AllTypesMatch<["query", "key", "value",
                          "result"]>,
     DeclareOpInterfaceMethods<Smx_TrainingNoiseOpInterface>,
     DeclareOpInterfaceMethods<Smx_DifferentiableOpInterface>]> {
  let summary = "Multi-head scaled dot-product self-attention with padding mask";
  let description = [{
    `query`, `key` and `value` are the projected hidden states `[B, L, d]`
    (the projections are `smx.dense` ops, so fusion and sharding see them).
    They are split into `num_heads` heads of width `d / num_heads`; for each
    head `P = softmax(Q·Kᵀ / sqrt(d / num_heads) + M)`, where `M[b, i, j]` is
    `-inf` where `padding_mask[b, j]` is false (a pad key), and the head's
    output is `P · V`. Heads are concatenated back to `[B, L, d]`; the output
    projection is a separate `smx.dense`.

    With `dropout_rate > 0`, `P` goes through counter-based dropout (as
    `smx.dropout`, keyed by `seed` and `step`; `offset`, the counter of
    `P`'s first element in the unsharded `[B, H, L, L]`) before
    multiplying `V`.

    Constraints:
    - (C1) `query`, `key` and `value` have rank 3: `[B, L, d]`.
    - (C2) `num_heads > 0` and `d` is divisible by `num_heads`.
    - (C3) `padding_mask` has shape `[B, L]`.
    - (C4) `0 <= dropout_rate < 1`; a positive rate needs a `step` operand.

    Example:
    ```mlir
    %y = mix.self_attention %q, %k, %v, %mask heads = 8
        dropout(0.1, seed = 3, step = %step)
        : tensor<8x512x512xf32>, tensor<8x512xi1>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$query, Smx_FloatTensor:$key,
                       Smx_FloatTensor:$value, RankedTensorOf<[I1]>:$padding_mask,
                       Optional<I64>:$step, Optional<I64>:$counter_offset,
                       I64Attr:$num_heads,
                       DefaultValuedAttr<F64Attr, "0.0">:$dropout_rate,
                       DefaultValuedAttr<I64Attr, "0">:$seed);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $padding_mask `heads` `=` $num_heads ``
    custom<AttentionDropout>($dropout_rate, $seed, $step, $counter_offset)
    attr-dict `:` type($query) `,` type($padding_mask)
  }];
  let hasVerifier = 1;
}

def Mix_StructuredParamsGradOp : Mix_Op<"structured_params_grad", [Pure]> {
  let summary = "Gradient of a structured matrix's parameters";
  let description = [{
    The gradient of the parameter vector of a circulant or Toeplitz matrix
    from the gradient of the matrix: every entry of `matrix_grad` adds into
    the parameter the matrix reads there,
    `params_grad[k] = sum of matrix_grad[r, c] over the (r, c) with
    index(r, c) = k` (`index(c, r)` with `transpose`), the index of
    `mix.circulant` (`(r - c) mod N`) or `mix.toeplitz` (`N - 1 + c - r`).
    The gradient rules of those two ops use it after `mix.linear_grad` on
    the materialized matrices.

    Constraints:
    - (C1) `structure` is `circulant` or `toeplitz`.
    - (C2) `matrix_grad` is `[N, N]`; the result is `[N]` (circulant) or
      `[2N - 1]` (Toeplitz) with the same element type.

    Example:
    ```mlir
    %ds = mix.structured_params_grad %dw structure = "toeplitz"
        : tensor<512x512xf32> -> tensor<1023xf32>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$matrix_grad, StrAttr:$structure,
                       UnitAttr:$transpose);
  let results = (outs Smx_FloatTensor:$params_grad);
  let assemblyFormat = [{
    $matrix_grad `structure` `=` $structure (`transpose` $transpose^)?
    attr-dict `:` type($matrix_grad) `->` type($params_grad)
  }];
  let hasVerifier = 1;
}

def Mix_SelfAttentionGradOp : Mix_Op<"self_attention_grad",
    [Pure, AttrSizedOperandSegments, AllTypesMatch<["query", "key", "value", "result_grad",
                          "query_grad", "key_grad", "value_grad"]>]> {
  let summary = "Gradients of multi-head self-attention";
  let description = [{
    For `mix.self_attention` with the same operands and attributes and the
    result gradient `dO`, per head, with `P` recomputed and `P'` its
    dropped-out form (the same counter-based mask):
    ```
    dV = P'ᵀ · dO,   dP = dropout(dO · Vᵀ),   dS = P ⊙ (dP − rowsum(dP ⊙ P))
    dQ = dS · K / sqrt(d_h),   dK = dSᵀ · Q / sqrt(d_h)
    ```
    Masked keys have `P = 0`, so they get no gradient.

    Constraints: those of `mix.self_attention` (C1–C4).

    Example:
    ```mlir
    %dq, %dk, %dv = mix.self_attention_grad %q, %k, %v, %mask, %dout heads = 8
        : tensor<8x512x512xf32>, tensor<8x512xi1>
    ```
  }];
  let arguments = (ins Smx_FloatTensor:$query, Smx_FloatTensor:$key,
                       Smx_FloatTensor:$value,
                       RankedTensorOf<[I1]>:$padding_mask,
                       Smx_FloatTensor:$result_grad, Optional<I64>:$step,
                       Optional<I64>:$counter_offset, I64Attr:$num_heads,
                       DefaultValuedAttr<F64Attr, "0.0">:$dropout_rate,
                       DefaultValuedAttr<I64Attr, "0">:$seed);
  let results = (outs Smx_FloatTensor:$query_grad, Smx_FloatTensor:$key_grad,
                      Smx_FloatTensor:$value_grad);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $padding_mask `,` $result_grad `heads` `=`
    $num_heads `` custom<AttentionDropout>($dropout_rate, $seed, $step,
                                           $counter_offset)
    attr-dict `:` type($query) `,` type($padding_mask)
  }];
  let hasVerifier = 1;
}

#endif // SMX_DIALECT_MIX_IR_MIXOPS_TD
