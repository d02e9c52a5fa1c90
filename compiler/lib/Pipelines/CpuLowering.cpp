//===- CpuLowering.cpp - stage 3 for the CPU: smx IR to LLVM --------------===//

#include "smx/Pipelines/Pipelines.h"
#include "PipelineStages.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"
#include "smx/Conversion/Passes.h"
#include "smx/Dialect/Mix/Transforms/Passes.h"
#include "smx/Dialect/Smx/Transforms/Passes.h"
#include "smx/Target/CPU/Passes.h"

using namespace mlir;
using namespace mlir::smx;
using namespace mlir::smx::detail;

/// smx/mix/moe ops to linalg, arith, math and runtime calls on tensors,
/// fused and with polynomial math. Target-independent: a CUDA target shares
/// it up to bufferization.
static void addTensorLoweringPasses(OpPassManager &pm,
                                    const TargetOptions &options) {
  pm.addPass(createSmxFusePass());
  pm.addPass(mix::createMixMaterializeStructuredWeightsPass());
  // The manifest is read off the model's functions before they lower.
  if (options.entryPoints)
    pm.addPass(createSmxBuildManifestPass());
  pm.addPass(createConvertSmxToLinalgPass());
  pm.addPass(createConvertMixToLinalgPass());
  pm.addPass(createConvertMoeToLinalgPass());
  pm.addPass(createConvertShardToRuntimePass());
  pm.addNestedPass<func::FuncOp>(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  // No CSE from here to bufferization: runtime calls read their tensors
  // through `bufferization.to_buffer` placed right before the call, and CSE
  // would merge those reads into the first one, hiding later reads from
  // One-Shot Bufferize (docs/rationale.md).
  pm.addNestedPass<func::FuncOp>(createLinalgElementwiseOpFusionPass());
  pm.addNestedPass<func::FuncOp>(createSmxApproximateMathPass());
}

/// Tensors to buffers: function boundaries with identity layouts, results
/// as out-parameters (the entry points' calling convention), the training
/// state updated in place, static buffers of loop bodies (attention's
/// per-example scores) hoisted out of their loops, every static buffer in
/// one arena planned by liveness, deallocation.
static void addBufferizationPasses(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  pm.addNestedPass<func::FuncOp>(createSmxUpdateStateInPlacePass());
  pm.addNestedPass<func::FuncOp>(bufferization::createBufferLoopHoistingPass());
  pm.addNestedPass<func::FuncOp>(createSmxPlanMemoryPass());
  bufferization::buildBufferDeallocationPipeline(pm);
}

void mlir::smx::detail::addHostCodegenPasses(OpPassManager &pm,
                                             bool launchesKernels) {
  // Memrefs before control flow: the bodies of OpenMP loops sit in
  // single-block `memref.alloca_scope` regions until the memref lowering
  // inlines them.
  pm.addPass(createLowerAffinePass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  FinalizeMemRefToLLVMConversionPassOptions memrefToLLVM;
  // Compiled code's heap is the runtime's (docs/abi.md); with a GPU,
  // managed memory.
  memrefToLLVM.useGenericFunctions = true;
  pm.addPass(createFinalizeMemRefToLLVMConversionPass(memrefToLLVM));
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  // `gpu.launch_func` and `gpu.binary` to `mgpu*` calls and a global.
  if (launchesKernels)
    pm.addPass(createGpuToLLVMConversionPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

/// Buffers to the LLVM dialect for the CPU, loops on OpenMP threads.
static void addCpuCodegenPasses(OpPassManager &pm,
                                const TargetOptions &options) {
  if (options.threads) {
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
    pm.addNestedPass<func::FuncOp>(createSmxFuseRowLoopsPass());
    pm.addNestedPass<func::FuncOp>(createSmxPrepareParallelLoopsPass());
  } else {
    pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  }
  pm.addPass(createSmxOutlineKernelsPass());
  // Profile sites and the manifest that lists them, once every call the
  // entry functions make is in place.
  if (options.profile)
    pm.addPass(createSmxProfileCallsPass());
  if (options.entryPoints)
    pm.addPass(createSmxEmitEntryPointsPass());
  if (options.threads)
    pm.addPass(createConvertSCFToOpenMPPass());
  addHostCodegenPasses(pm, /*launchesKernels=*/false);
}

void mlir::smx::addCpuMemoryPlanPasses(OpPassManager &pm,
                                       const TargetOptions &options) {
  addTensorLoweringPasses(pm, options);
  addBufferizationPasses(pm);
}

void mlir::smx::addCpuLoweringPasses(OpPassManager &pm,
                                     const TargetOptions &options) {
  addCpuMemoryPlanPasses(pm, options);
  addCpuCodegenPasses(pm, options);
}
