//===- CudaLowering.cpp - stage 3 for CUDA: smx IR to LLVM and cubins -----===//
//
// The CUDA target shares the CPU target's lowering up to its memory plan:
// the same fused loop nests on the same buffers. From there each loop nest
// becomes a GPU kernel, compiled NVVM -> PTX -> cubin by the toolkit's
// ptxas and embedded in the host object, which MLIR's GPU lowering makes
// load and launch through the `mgpu*` functions of the smx runtime's CUDA
// layer (runtime/src/cuda); GEMMs call cuBLASLt (docs/gpu.md).
//
//===----------------------------------------------------------------------===//

#include "smx/Pipelines/Pipelines.h"
#include "PipelineStages.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"
#include "smx/Target/CPU/Passes.h"
#include "smx/Target/CUDA/Passes.h"

using namespace mlir;
using namespace mlir::smx;
using namespace mlir::smx::detail;

/// Loop nests to kernels.
static void addKernelMappingPasses(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  // Row kernels: a row's reductions and elementwise loops back to back, on
  // one block.
  pm.addNestedPass<func::FuncOp>(createSmxFuseRowLoopsPass());
  pm.addPass(createSmxOutlineGpuKernelsPass());
}

/// The kernels to NVVM, then to a binary for `options.gpuArch`.
static void addKernelCodegenPasses(OpPassManager &pm,
                                   const TargetOptions &options) {
  GpuNVVMAttachTargetOptions target;
  target.chip = options.gpuArch;
  target.optLevel = 3;
  // PTX ISA 8.0 is the first with sm_90.
  target.features = "+ptx80";
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  // Inside a thread, the nested parallel loops of a kernel run in order.
  kernels.addPass(createParallelForToNestedForsPass());
  kernels.addPass(createLowerAffinePass());
  kernels.addPass(memref::createExpandStridedMetadataPass());
  kernels.addPass(createLowerAffinePass());
  kernels.addPass(createSCFToControlFlowPass());
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = options.cudaToolkit;
  binary.compilationTarget = options.gpuBinaryFormat;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void mlir::smx::addCudaLoweringPasses(OpPassManager &pm,
                                      const TargetOptions &options) {
  addCpuMemoryPlanPasses(pm, options);
  addKernelMappingPasses(pm);
  pm.addPass(createSmxUseCudaRuntimePass());
  if (options.entryPoints)
    pm.addPass(createSmxEmitEntryPointsPass());
  addKernelCodegenPasses(pm, options);
  addHostCodegenPasses(pm, /*launchesKernels=*/true);
}

void mlir::smx::addCudaEmulatorLoweringPasses(OpPassManager &pm,
                                              const TargetOptions &options) {
  addCpuMemoryPlanPasses(pm, options);
  addKernelMappingPasses(pm);
  pm.addPass(createSmxEmulateGpuKernelsPass());
  if (options.entryPoints)
    pm.addPass(createSmxEmitEntryPointsPass());
  addHostCodegenPasses(pm, /*launchesKernels=*/false);
}
