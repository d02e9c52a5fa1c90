//===- PipelineStages.h - pieces the targets' pipelines share ---*- C++ -*-===//

#ifndef SMX_LIB_PIPELINES_PIPELINESTAGES_H
#define SMX_LIB_PIPELINES_PIPELINESTAGES_H

#include "mlir/Pass/PassManager.h"

namespace mlir::smx::detail {

/// The host's loop-level IR to the LLVM dialect: memrefs on the runtime's
/// heap, control flow, math; with `launchesKernels`, the GPU launches and
/// the embedded kernels to calls of the `mgpu*` functions.
void addHostCodegenPasses(OpPassManager &pm, bool launchesKernels);

} // namespace mlir::smx::detail

#endif // SMX_LIB_PIPELINES_PIPELINESTAGES_H
