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
};

/// Builds a module with the training-mode forward function of `spec` at
/// `shape`:
///
///   func.func @forward(%input_ids: tensor<BxSxi32>, %type_ids: tensor<BxSxi32>,
///                      %step: i64, <parameters...>) -> (<outputs...>)
///
/// Dropout and router jitter are present (keyed by `step`) and routes use
/// the training capacity factor; `smx-strip-training-noise` and
/// `moe-set-capacity-factor` derive the evaluation form. Outputs:
/// `sequence_output`, then the pooled output and sentence-level heads the
/// spec has, then per MoE layer `i` its routing and statistics
/// (`moe.i.dispatch_indices`, `moe.i.combine_weights`,
/// `moe.i.tokens_per_expert`, `moe.i.dropped_fraction`,
/// `moe.i.router_z_loss`, and `moe.i.load_balance_loss` for tokens-choose).
OwningOpRef<ModuleOp> buildModel(MLIRContext *context, const ModelSpec &spec,
                                 CompileShape shape, Location location);

} // namespace mlir::smx::spec

#endif // SMX_FRONTEND_SPEC_MODELBUILDER_H
