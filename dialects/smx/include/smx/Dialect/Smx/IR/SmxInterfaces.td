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
      "void", "removeTrainingNoise", (ins "::mlir::RewriterBase &":$rewriter)>
  ];
}

#endif // SMX_DIALECT_SMX_IR_SMXINTERFACES_TD
