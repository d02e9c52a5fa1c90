//===- ModelFormPipelines.cpp - the executables' pipelines ----------------===//
//
// Stage 1 (model forms) and the two executable pipelines that chain the
// stages. Partitioning (stage 2) runs before the train step is built, so
// that the step differentiates each device's share of the loss; a new
// target (CUDA) is another add*LoweringPasses chosen where the CPU one is
// added.
//
//===----------------------------------------------------------------------===//

#include "smx/Pipelines/Pipelines.h"

#include "mlir/Pass/PassRegistry.h"
#include "smx/Dialect/Moe/Transforms/Passes.h"
#include "smx/Dialect/Smx/Transforms/Passes.h"
#include "smx/Partition/Passes.h"
#include "smx/Training/Passes.h"

using namespace mlir;
using namespace mlir::smx;

void mlir::smx::addEvaluationFormPasses(OpPassManager &pm,
                                        double capacityFactor) {
  // Both leave @train_step alone: it is the training form by construction.
  pm.addPass(createSmxStripTrainingNoisePass());
  if (capacityFactor > 0.0) {
    moe::MoeSetCapacityFactorPassOptions capacity;
    capacity.capacityFactor = capacityFactor;
    pm.addPass(moe::createMoeSetCapacityFactorPass(capacity));
  }
}

void mlir::smx::addPartitionPasses(OpPassManager &pm, int64_t dataParallel,
                                   int64_t expertParallel) {
  SmxShardBatchPassOptions batch;
  batch.dataParallel = dataParallel;
  batch.expertParallel = expertParallel;
  pm.addPass(createSmxShardBatchPass(batch));
  pm.addPass(createSmxShardExpertsPass());
}

void mlir::smx::addTrainingFormPasses(OpPassManager &pm,
                                      const TrainingPipelineOptions &options) {
  // Stage 2 runs first: the train step differentiates each device's share
  // of the loss and sums the gradients over the grid.
  if (options.isPartitioned())
    addPartitionPasses(pm, options.dataParallel, options.expertParallel);
  // The train step is built from the frontend's training form (dropout, the
  // training capacity factor) before @forward becomes the evaluation form.
  SmxBuildTrainStepPassOptions trainStep;
  trainStep.maxGradNorm = options.maxGradNorm;
  trainStep.recompute = options.recompute;
  trainStep.gradBucketMiB = options.gradBucketMiB;
  trainStep.overlapGradSums = options.overlapGradSums;
  pm.addPass(createSmxBuildTrainStepPass(trainStep));
  addEvaluationFormPasses(pm, options.evalCapacityFactor);
}

void mlir::smx::addTargetLoweringPasses(OpPassManager &pm,
                                        const TargetOptions &options) {
  switch (options.target) {
  case TargetKind::Cpu:
    return addCpuLoweringPasses(pm, options);
  case TargetKind::Cuda:
    return addCudaLoweringPasses(pm, options);
  case TargetKind::CudaEmulator:
    return addCudaEmulatorLoweringPasses(pm, options);
  }
}

void mlir::smx::buildInferencePipeline(
    OpPassManager &pm, const InferencePipelineOptions &options) {
  addEvaluationFormPasses(pm, options.capacityFactor);
  addTargetLoweringPasses(pm, options.getTargetOptions(options.entryPoints));
}

void mlir::smx::buildTrainingPipeline(OpPassManager &pm,
                                      const TrainingPipelineOptions &options) {
  addTrainingFormPasses(pm, options);
  addTargetLoweringPasses(pm, options.getTargetOptions());
}

void mlir::smx::buildTrainingMemoryPlanPipeline(
    OpPassManager &pm, const TrainingPipelineOptions &options) {
  addTrainingFormPasses(pm, options);
  // The memory plan is the same for every target.
  addCpuMemoryPlanPasses(pm, options.getTargetOptions());
}

void mlir::smx::registerSmxPipelines() {
  PassPipelineRegistration<InferencePipelineOptions>(
      "smx-inference-pipeline",
      "The inference executable: the evaluation form of a model, lowered to "
      "LLVM for the CPU with its C entry points (smxc --task=inference)",
      buildInferencePipeline);
  PassPipelineRegistration<TrainingPipelineOptions>(
      "smx-training-pipeline",
      "The training executable: @train_step built from the frontend's "
      "training form next to @forward in evaluation form, lowered to LLVM "
      "for the CPU with their C entry points (smxc --task=pretrain|finetune)",
      buildTrainingPipeline);
}
