//===- ModelBuilder.h - ModelSpec to smx/mix/moe IR -------------*- C++ -*-===//

#ifndef SMX_FRONTEND_SPEC_MODELBUILDER_H
#define SMX_FRONTEND_SPEC_MODELBUILDER_H

#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "smx/Frontend/Spec/ModelSpec.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::smx::spec {

/// The static shapes a model is compiled for.
struct CompileShape {
  int64_t batch = 0;
  int64_t sequence = 0;
  /// P, the masked-LM prediction slots per sequence (pre-training only);
  /// the builder uses at most `sequence` of them.
  int64_t maxPredictions = 80;

  /// The prediction slots the pre-training inputs have: min(P, sequence).
  int64_t predictionSlots() const {
    return maxPredictions < sequence ? maxPredictions : sequence;
  }
};

/// What the forward function is for: running the model, or one of the
/// training objectives that `smx-build-train-step` minimizes
/// (docs/training.md, "Objectives the frontend builds").
enum class ModelTask {
  /// The model's outputs (sequence output, pooled output, head logits) and
  /// per-MoE-layer routing and statistics.
  Inference,
  /// Masked-LM and sentence-order losses plus the MoE auxiliary losses.
  Pretrain,
  /// The classifier's loss plus the MoE auxiliary losses.
  Finetune,
};

/// Builds a module with the training-mode forward function of `spec` at
/// `shape` for `task`:
///
///   func.func @forward(%input_ids: tensor<BxSxi32>, %type_ids: tensor<BxSxi32>,
///                      %step: i64, <task inputs...>, <parameters...>)
///       -> (<outputs...>)
///
/// Dropout and router jitter are present (keyed by `step`) and routes use
/// the training capacity factor; `smx-strip-training-noise` and
/// `moe-set-capacity-factor` derive the evaluation form.
///
/// Inference outputs: `sequence_output`, then the pooled output and
/// sentence-level heads the spec has, then per MoE layer `i` its routing
/// and statistics (`moe.i.dispatch_indices`, `moe.i.combine_weights`,
/// `moe.i.tokens_per_expert`, `moe.i.dropped_fraction`,
/// `moe.i.router_z_loss`, and `moe.i.load_balance_loss` for tokens-choose).
///
/// Training tasks return loss terms (marked `smx.loss = weight`) and
/// metrics (marked `smx.metric`), plus Finetune's `classifier_logits`, and
/// build only the heads their objective uses:
/// - Pretrain: inputs `mlm_positions`, `mlm_labels` [B, P] i32,
///   `mlm_weights` [B, P] f32 (P = `shape.predictionSlots()`) and, with the
///   sentence-order head, `order_labels` [B] i32; results `mlm_loss` and
///   `sentence_order_loss` (weight 1).
/// - Finetune: input `labels` [B], i32 class indices or, for a regression
///   head, f32 targets; results `classifier_loss` (weight 1): the
///   cross-entropy of the classifier logits, or for a regression head the
///   mean squared error of its one output; and `classifier_logits` [B, C]
///   (batch-major) for evaluation, which the train step drops.
/// Both then add per MoE layer `i` `moe.i.router_z_loss` (weight
/// `moe.z_loss`), `moe.i.load_balance_loss` for tokens-choose (weight
/// `moe.load_balance_loss`; a zero factor makes either a metric), and the
/// metrics `moe.i.tokens_per_expert` and `moe.i.dropped_fraction`.
///
/// Returns null, after reporting an error at `location`, when `spec` lacks
/// what `task` needs: the MLM head for Pretrain, a classifier head
/// (`heads.classifier`, with classes or a regression) for Finetune.
OwningOpRef<ModuleOp> buildModel(MLIRContext *context, const ModelSpec &spec,
                                 CompileShape shape, Location location,
                                 ModelTask task = ModelTask::Inference);

} // namespace mlir::smx::spec

#endif // SMX_FRONTEND_SPEC_MODELBUILDER_H
