//===- Pipelines.h - smx compilation pipelines ------------------*- C++ -*-===//

#ifndef SMX_PIPELINES_PIPELINES_H
#define SMX_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::smx {

struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  Option<double> capacityFactor{
      *this, "capacity-factor",
      llvm::cl::desc("Capacity factor for every route (the model's "
                     "evaluation factor); 0 keeps the routes' own"),
      llvm::cl::init(0.0)};
};

/// The forward pass of a spec-level module to the LLVM dialect with the C
/// entry points of docs/abi.md: evaluation form (no training noise, the
/// evaluation capacity factor), lowering to linalg and runtime calls,
/// elementwise fusion, One-Shot Bufferize, results as out-parameters,
/// deallocation, entry points, loops, LLVM.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers `smx-cpu-pipeline` with the pass registry (smx-opt).
void registerSmxPipelines();

} // namespace mlir::smx

#endif // SMX_PIPELINES_PIPELINES_H
