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
    The train step (`@train_step`) is the training form by construction: this
    pass leaves it unchanged.

    Contract: accepts any IR; guarantees that no op outside `@train_step`
    reports `hasTrainingNoise()` afterwards.
  }];
}

def SmxFusePass : Pass<"smx-fuse"> {
  let summary = "Folds elementwise epilogues into the ops that produce them";
  let description = [{
    Rewrites, where the intermediate has no other use:
    - `smx.activation` of an `smx.dense` into the dense layer's `activation`
      epilogue (bias + activation, as GEMM libraries run it);
    - `smx.layer_norm` of an `smx.residual_add` into the layer norm's
      `residual` operand (post-LN blocks), so the sum is never stored.

    Contract: accepts any IR; guarantees the same values with fewer ops.
    Runs after `smx-strip-training-noise` in evaluation pipelines (dropout
    between a residual add and its producer blocks nothing, but dropout
    between a dense layer and an activation would).
  }];
}

#endif // SMX_DIALECT_SMX_TRANSFORMS_PASSES_TD
