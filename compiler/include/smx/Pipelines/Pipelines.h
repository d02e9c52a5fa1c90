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
  Option<bool> evaluation{
      *this, "evaluation",
      llvm::cl::desc("Remove training noise (dropout) first: the form of "
                     "predict and eval. Off for train steps and gradient "
                     "checks"),
      llvm::cl::init(true)};
  Option<bool> entryPoints{
      *this, "entry-points",
      llvm::cl::desc("Record the manifest and add the C entry points of "
                     "docs/abi.md for @forward. Off for modules run by a JIT"),
      llvm::cl::init(true)};
  Option<bool> threads{
      *this, "threads",
      llvm::cl::desc("Run parallel loops on OpenMP threads"),
      llvm::cl::init(true)};
};

/// A spec-level module to the LLVM dialect: evaluation form (no training
/// noise, the evaluation capacity factor) unless `evaluation` is off,
/// lowering to linalg and runtime calls, elementwise fusion, polynomial
/// math, One-Shot Bufferize, results as out-parameters, deallocation, the C
/// entry points of docs/abi.md for @forward (with `entry-points`), loops on
/// OpenMP threads (with `threads`), LLVM.
void buildCpuPipeline(OpPassManager &pm, const CpuPipelineOptions &options);

/// Registers `smx-cpu-pipeline` with the pass registry (smx-opt).
void registerSmxPipelines();

} // namespace mlir::smx

#endif // SMX_PIPELINES_PIPELINES_H
