//===- SmxInterfaces.td - interfaces shared by smx dialects -*- tablegen -*-===//

#ifndef SMX_DIALECT_SMX_IR_SMXINTERFACES_TD
#define SMX_DIALECT_SMX_IR_SMXINTERFACES_TD

include "mlir/IR/OpBase.td"

def Smx_TrainingNoiseOpInterface : OpInterface<"TrainingNoiseOpInterface"> {
  let cppNamespace = "::mlir::smx";
  let description = [{
    An op that draws random noise in training only: dropout, attention
    dropout, router jitter. Evaluation and prediction remove the noise
    (`smx-strip-training-noise`) without knowing which dialect the op is from.
  }];
  let methods = [
    InterfaceMethod<"Returns true when the op draws noise as it stands.",
      "bool", "hasTrainingNoise">,
    InterfaceMethod<[{
        Rewrites the op into its noise-free form through `rewriter`: it may
        update the op in place or replace it.
      }],
      "void", "removeTrainingNoise", (ins "::mlir::RewriterBase &":$rewriter)>,
    InterfaceMethod<[{
        The number of noise values the op draws: the elements of the tensor
        its counters index (the input of dropout and jitter, the attention
        probabilities `[B, H, L, L]`, the experts' activations
        `[G, E, C, F]`).
      }],
      "int64_t", "getNoiseCounterCount">,
    InterfaceMethod<[{
        The i64 counter of the op's first noise value (null: 0). The
        counters are the row-major indices in the unsharded tensor: a
        device holding a block of it (its share of the batch) passes the
        index of the block's first element, and draws the block's numbers.
      }],
      "::mlir::Value", "getNoiseCounterOffset">,
    InterfaceMethod<"Sets the counter offset (null: none).",
      "void", "setNoiseCounterOffset", (ins "::mlir::Value":$offset)>
  ];
}

def Smx_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::mlir::smx";
  let description = [{
    An op that knows its reverse-mode derivative (its vector-Jacobian
    product). `smx-build-train-step` walks the forward function backwards
    and asks each op, through this interface, for the gradients of its
    operands given the gradients of its results; it never needs to know the
    op. Ops of every smx dialect (`smx`, `mix`, `moe`) implement it, and
    upstream ops the model uses (`arith.addf`, tensor reshapes and slices)
    get it as external models (`smx::registerGradientExternalModels`).

    Rules every implementation follows (docs/training.md):
    - gradients are built with ops at the op's own level (smx ops and their
      `*_grad` companions), before any lowering, so the train step reads
      like the forward pass and every gradient lowers through the same
      conversions;
    - an op that needs a value of the forward pass uses it directly (the
      train step keeps the forward values alive) or recomputes it from its
      operands when that is cheaper (dropout masks are redrawn from their
      counter);
    - integer operands (token ids, routing slots) and non-differentiable
      results get no gradient.
  }];
  let methods = [
    InterfaceMethod<[{
        Builds, at the builder's insertion point (after the op), the
        gradients of the op's operands. `resultGradients` holds one value per
        result: the gradient of the loss with respect to that result, or a
        null value when the loss does not depend on it. Fills
        `operandGradients`, already sized to the number of operands with
        null values, leaving null the operands that get no gradient
        (integers, values the loss does not depend on). Fails, with an error
        on the op, for a configuration that has no derivative.
      }],
      "::llvm::LogicalResult", "buildGradients",
      (ins "::mlir::OpBuilder &":$builder,
           "::llvm::ArrayRef<::mlir::Value>":$resultGradients,
           "::llvm::MutableArrayRef<::mlir::Value>":$operandGradients)>
  ];
}

#endif // SMX_DIALECT_SMX_IR_SMXINTERFACES_TD
