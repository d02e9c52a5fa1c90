//===- Passes.td - smx dialect passes ----------------------*- tablegen -*-===//

#ifndef SMX_DIALECT_SMX_TRANSFORMS_PASSES_TD
#define SMX_DIALECT_SMX_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SmxStripTrainingNoisePass : Pass<"smx-strip-training-noise"> {
  let summary = "Removes dropout and other training-only noise";
  let description = [{
    Dropout, attention dropout and router jitter are the identity outside
    training. This pass asks every op that implements
    `TrainingNoiseOpInterface` (`smx.dropout`, `mix.self_attention`,
    `moe.router`) to drop its noise, so the evaluation and prediction entry
    points that `smxc` builds from a training model carry no randomness.

    Contract: accepts any IR; guarantees that no op reports
    `hasTrainingNoise()` afterwards (no `smx.dropout` remains).
  }];
}

#endif // SMX_DIALECT_SMX_TRANSFORMS_PASSES_TD
