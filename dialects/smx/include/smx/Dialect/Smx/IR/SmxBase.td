//===- SmxBase.td - smx dialect definition, attributes -----*- tablegen -*-===//
//
// The smx dialect holds the model-level building blocks of an encoder that
// are not token mixing (mix) or mixtures of experts (moe): embeddings, dense
// layers, normalization, activations, dropout, losses and the optimizer.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_DIALECT_SMX_IR_SMXBASE_TD
#define SMX_DIALECT_SMX_IR_SMXBASE_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"

def Smx_Dialect : Dialect {
  let name = "smx";
  let cppNamespace = "::mlir::smx";
  let summary = "Model-level ops of sparse mixer encoders";
  let description = [{
    The `smx` dialect is the entry point of the smx compiler: the spec
    frontend emits a forward function built from `smx`, `mix` (token mixing)
    and `moe` (mixture of experts) ops on ranked tensors. `smx` holds
    everything that is neither mixing nor routing: embedding lookups, dense
    layers with any number of leading dimensions, layer normalization,
    activations, counter-based dropout, residual adds, softmax, the losses of
    the pre-training and fine-tuning heads, and the ops of the optimizer
    (an AdamW update and a learning-rate schedule value).

    All ops are value-semantic (tensors in, tensors out). Randomness is
    counter-based: a dropout mask is a pure function of (seed, step, element
    index in the unsharded tensor), so a training step is reproducible from
    its step number and a sharded computation draws the same mask as the
    unsharded one.
  }];
  let useDefaultAttributePrinterParser = 1;
}

//===----------------------------------------------------------------------===//
// Enums and attributes
//===----------------------------------------------------------------------===//

def Smx_Activation : I32EnumAttr<"Activation",
    "elementwise activation function", [
      I32EnumAttrCase<"gelu_tanh", 0>,
      I32EnumAttrCase<"gelu", 1>,
      I32EnumAttrCase<"relu", 2>,
      I32EnumAttrCase<"tanh", 3>
    ]> {
  let cppNamespace = "::mlir::smx";
  let genSpecializedAttr = 0;
}

def Smx_ActivationAttr : EnumAttr<Smx_Dialect, Smx_Activation, "activation"> {
  let summary = "Elementwise activation function";
  let description = [{
    `gelu_tanh`: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (BERT's and the
    released Sparse Mixer code's GELU); `gelu`: 0.5·x·(1 + erf(x/√2));
    `relu`: max(x, 0); `tanh`.
  }];
  let assemblyFormat = "`<` $value `>`";
}

def Smx_EmbeddingKind : I32EnumAttr<"EmbeddingKind",
    "which embedding table a lookup reads", [
      I32EnumAttrCase<"word", 0>,
      I32EnumAttrCase<"position", 1>,
      I32EnumAttrCase<"type", 2>
    ]> {
  let cppNamespace = "::mlir::smx";
  let genSpecializedAttr = 0;
}

def Smx_EmbeddingKindAttr
    : EnumAttr<Smx_Dialect, Smx_EmbeddingKind, "embedding_kind"> {
  let summary = "Word, position or token-type embedding";
  let description = [{
    Word lookups are sparse (a batch touches few rows, so their gradient
    accumulates sparsely); position lookups index a table of the model's
    maximum length; type lookups index the few segment types.
  }];
  let assemblyFormat = "`<` $value `>`";
}

def Smx_LRSchedule : I32EnumAttr<"LRSchedule",
    "shape of the learning-rate schedule", [
      I32EnumAttrCase<"linear_warmup_linear_decay", 0>,
      I32EnumAttrCase<"linear_warmup_constant", 1>
    ]> {
  let cppNamespace = "::mlir::smx";
  let genSpecializedAttr = 0;
}

def Smx_LRScheduleAttr : EnumAttr<Smx_Dialect, Smx_LRSchedule, "lr_schedule"> {
  let summary = "Learning-rate schedule shape";
  let assemblyFormat = "`<` $value `>`";
}

//===----------------------------------------------------------------------===//
// Type constraints shared by the smx, mix and moe dialects
//===----------------------------------------------------------------------===//

def Smx_FloatTensor : RankedTensorOf<[F16, BF16, F32, F64]>;
def Smx_IndexTensor : RankedTensorOf<[I32, I64]>;
def Smx_ScalarFloatTensor : 0DTensorOf<[F32]>;

class Smx_Op<string mnemonic, list<Trait> traits = []>
    : Op<Smx_Dialect, mnemonic, traits>;

#endif // SMX_DIALECT_SMX_IR_SMXBASE_TD
