//===- MixBase.td - mix dialect definition -----------------*- tablegen -*-===//

#ifndef SMX_DIALECT_MIX_IR_MIXBASE_TD
#define SMX_DIALECT_MIX_IR_MIXBASE_TD

include "smx/Dialect/Smx/IR/SmxBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Mix_Dialect : Dialect {
  let name = "mix";
  let cppNamespace = "::mlir::mix";
  let summary = "Token mixing: linear, Fourier, Hartley, structured, attention";
  let description = [{
    The `mix` dialect holds the token-mixing sublayers of an encoder block:
    ops that combine information across the positions of a sequence. A mixing
    op takes hidden states `[B, L, d]` (batch, sequence, hidden) and returns
    the same shape. Sparse Mixer stacks use cheap parameter-free or linear
    mixing in most layers and multi-head self-attention in a few.

    Non-attention mixing has no padding mask: inputs are padded to the
    model's maximum length `L`, and pad positions are mixed in, as in the
    released Sparse Mixer code. Fourier and Hartley mixing are unnormalized
    2-D transforms over `[L, d]`.
  }];
}

class Mix_Op<string mnemonic, list<Trait> traits = []>
    : Op<Mix_Dialect, mnemonic, traits>;

/// A parameter-free mixing op: `[B, L, d]` in, the same type out.
class Mix_TransformOp<string mnemonic, list<Trait> traits = []>
    : Mix_Op<mnemonic, !listconcat(traits, [Pure, SameOperandsAndResultType])> {
  let arguments = (ins Smx_FloatTensor:$input);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

/// A structured linear mixing op: `Y = A(seq_params) · X · B(hidden_params)ᵀ`
/// with `A` and `B` generated from a few parameters.
class Mix_StructuredOp<string mnemonic, list<Trait> traits = []>
    : Mix_Op<mnemonic,
             !listconcat(traits, [Pure, AllTypesMatch<["input", "result"]>])> {
  let arguments = (ins Smx_FloatTensor:$input, Smx_FloatTensor:$seq_params,
                       Smx_FloatTensor:$hidden_params);
  let results = (outs Smx_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $seq_params `,` $hidden_params attr-dict `:` type($input) `,`
    type($seq_params) `,` type($hidden_params)
  }];
  let hasVerifier = 1;
}

#endif // SMX_DIALECT_MIX_IR_MIXBASE_TD
