//===- Pipelines.h - smx compilation pipelines ------------------*- C++ -*-===//
//
// The pipelines smxc runs and smx-opt registers, built from typed addPass
// calls. A model goes through three stages (docs/architecture.md):
//
//   1. model forms   what the executable computes: the train step built from
//                    the frontend's training form, @forward in evaluation
//                    form (no training noise, the evaluation capacity factor)
//   2. partitioning  the model of one device's batch as the program of each
//                    device of a dp x ep grid (smx-shard-batch,
//                    smx-shard-experts)
//   3. target        lowering for one target: to linalg and runtime calls,
//                    bufferization, then code for the CPU or, with
//                    target=cuda, GPU kernels and host code (docs/gpu.md)
//
// `smxc --task=inference` runs the inference pipeline, `--task=pretrain`
// and `--task=finetune` the training pipeline; `smx-opt
// --smx-inference-pipeline` and `--smx-training-pipeline` run the same ones.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_PIPELINES_PIPELINES_H
#define SMX_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::smx {

/// The targets of stage 3. CudaEmulator is the CUDA target's kernels run
/// on the CPU, one thread after another (smx-emulate-gpu-kernels): the GPU
/// mapping's numerics, checked where there is no GPU.
enum class TargetKind { Cpu, Cuda, CudaEmulator };

/// Options shared by every target lowering.
struct TargetOptions {
  TargetKind target = TargetKind::Cpu;
  /// CUDA: the architecture the kernels are compiled for, the toolkit whose
  /// ptxas and libdevice compile them (empty: CUDA_HOME, CUDA_ROOT,
  /// CUDA_PATH, then MLIR's default), and what is embedded: "fatbin" (a
  /// cubin for `gpuArch` and its PTX), "bin" (the cubin) or "isa" (PTX).
  std::string gpuArch = "sm_90";
  std::string cudaToolkit;
  std::string gpuBinaryFormat = "fatbin";
  /// Record the manifest and add the C entry points of docs/abi.md. Off for
  /// modules run by a JIT (smx-gradcheck).
  bool entryPoints = true;
  /// Run parallel loops on OpenMP threads.
  bool threads = true;
  /// Time every kernel and runtime call of the entry points
  /// (smx-profile-calls; `smxc --profile`).
  bool profile = false;
};

/// The stage-3 options both executables' pipelines take.
template <typename Derived>
struct TargetPipelineOptions : public PassPipelineOptions<Derived> {
  template <typename DataType>
  using Option = mlir::detail::PassOptions::Option<DataType>;

  Option<bool> threads{*this, "threads",
                       llvm::cl::desc("Run parallel loops on OpenMP threads"),
                       llvm::cl::init(true)};
  Option<bool> profile{*this, "profile",
                       llvm::cl::desc("Time every kernel and runtime call "
                                      "of the entry points (OUT profile)"),
                       llvm::cl::init(false)};
  Option<TargetKind> target{
      *this, "target", llvm::cl::desc("Where the model runs"),
      llvm::cl::init(TargetKind::Cpu),
      llvm::cl::values(
          clEnumValN(TargetKind::Cpu, "cpu",
                     "LLVM for this machine, loops on OpenMP threads"),
          clEnumValN(TargetKind::Cuda, "cuda",
                     "GPU kernels and cuBLASLt GEMMs"),
          clEnumValN(TargetKind::CudaEmulator, "cuda-emulator",
                     "the CUDA target's kernels run on the CPU, one thread "
                     "after another (slow; checks the GPU mapping)"))};
  Option<std::string> gpuArch{
      *this, "gpu-arch",
      llvm::cl::desc("With target=cuda: the GPU architecture (sm_XX)"),
      llvm::cl::init("sm_90")};
  Option<std::string> cudaToolkit{
      *this, "cuda-toolkit",
      llvm::cl::desc("With target=cuda: the CUDA toolkit whose ptxas "
                     "compiles the kernels (default: CUDA_HOME)"),
      llvm::cl::init("")};
  Option<std::string> gpuBinaryFormat{
      *this, "gpu-format",
      llvm::cl::desc("With target=cuda: what the executable embeds: "
                     "fatbin, bin (a cubin) or isa (PTX)"),
      llvm::cl::init("fatbin")};

  /// These options, with `entryPoints`.
  TargetOptions getTargetOptions(bool entryPoints = true) const {
    TargetOptions options;
    options.target = target;
    options.entryPoints = entryPoints;
    options.threads = threads;
    options.profile = profile;
    options.gpuArch = gpuArch;
    options.cudaToolkit = cudaToolkit;
    options.gpuBinaryFormat = gpuBinaryFormat;
    return options;
  }
};

/// Options of the inference executable's pipeline (`smxc
/// --task=inference`, `smx-opt --smx-inference-pipeline`).
struct InferencePipelineOptions
    : public TargetPipelineOptions<InferencePipelineOptions> {
  Option<double> capacityFactor{
      *this, "capacity-factor",
      llvm::cl::desc("Capacity factor of every route (the model's "
                     "evaluation factor); 0 keeps the routes' own"),
      llvm::cl::init(0.0)};
  Option<bool> entryPoints{
      *this, "entry-points",
      llvm::cl::desc("Record the manifest and add the C entry points of "
                     "docs/abi.md. Off for modules run by a JIT"),
      llvm::cl::init(true)};
};

/// Options of the training executable's pipeline (`smxc
/// --task=pretrain|finetune`, `smx-opt --smx-training-pipeline`).
struct TrainingPipelineOptions
    : public TargetPipelineOptions<TrainingPipelineOptions> {
  Option<double> maxGradNorm{
      *this, "max-grad-norm",
      llvm::cl::desc("Clip gradients to this global norm in the train step "
                     "(0: no clipping)"),
      llvm::cl::init(1.0)};
  Option<std::string> recompute{
      *this, "recompute",
      llvm::cl::desc("Forward values the train step's backward pass "
                     "computes again instead of keeping: none, attention or "
                     "layers (smx-build-train-step)"),
      llvm::cl::init("none")};
  Option<double> evalCapacityFactor{
      *this, "eval-capacity-factor",
      llvm::cl::desc("Capacity factor of @forward (evaluation); 0 keeps the "
                     "routes' own. The train step keeps the training factor"),
      llvm::cl::init(0.0)};
  Option<int64_t> dataParallel{
      *this, "dp",
      llvm::cl::desc("Devices along the grid's data-parallel axis; with "
                     "ep, partitions the model over dp x ep devices (the "
                     "frontend built it for one device's batch)"),
      llvm::cl::init(1)};
  Option<int64_t> expertParallel{
      *this, "ep",
      llvm::cl::desc("Devices along the grid's expert-parallel axis"),
      llvm::cl::init(1)};
  Option<double> gradBucketMiB{
      *this, "grad-bucket-mib",
      llvm::cl::desc("On a grid: the most MiB of gradients one all-reduce "
                     "sums (0: one all-reduce per gradient)"),
      llvm::cl::init(25.0)};
  Option<bool> overlapGradSums{
      *this, "overlap-grad-sums",
      llvm::cl::desc("On a grid: start each gradient bucket's sum as soon as "
                     "its gradients are computed, wait before the norm"),
      llvm::cl::init(false)};

  bool isPartitioned() const {
    return dataParallel != 1 || expertParallel != 1;
  }
};

/// Stage 2: the model of one device's batch as the program of each device
/// of a dp x ep grid (smx-shard-batch).
void addPartitionPasses(OpPassManager &pm, int64_t dataParallel,
                        int64_t expertParallel);

/// Stage 1, inference: the evaluation form of every function (no training
/// noise; `capacityFactor` on every route unless 0).
void addEvaluationFormPasses(OpPassManager &pm, double capacityFactor);

/// Stage 1, training: `@train_step` from the frontend's training-form
/// `@forward`, then `@forward` (alone) in evaluation form.
void addTrainingFormPasses(OpPassManager &pm,
                           const TrainingPipelineOptions &options);

/// Stage 3, CPU: a module of smx/mix/moe functions in the form to run, to
/// the LLVM dialect: fusion, lowering to linalg and runtime calls,
/// polynomial math, One-Shot Bufferize, results as out-parameters,
/// deallocation, the C entry points (with `entryPoints`), loops on OpenMP
/// threads (with `threads`), LLVM.
void addCpuLoweringPasses(OpPassManager &pm, const TargetOptions &options);

/// Stage 3, CUDA: the same tensor lowering and bufferization as the CPU,
/// then each loop nest a GPU kernel (smx-outline-gpu-kernels) compiled
/// NVVM -> PTX -> cubin by the toolkit's ptxas and embedded in the object,
/// GEMMs on cuBLASLt (smx-use-cuda-runtime), the host code to LLVM.
void addCudaLoweringPasses(OpPassManager &pm, const TargetOptions &options);

/// Stage 3, the CUDA target's kernels on the CPU: as addCudaLoweringPasses
/// up to the kernels, which smx-emulate-gpu-kernels then turns into CPU
/// functions run one thread after another; GEMMs stay on the CPU runtime.
void addCudaEmulatorLoweringPasses(OpPassManager &pm,
                                   const TargetOptions &options);

/// Stage 3 for `options.target`.
void addTargetLoweringPasses(OpPassManager &pm, const TargetOptions &options);

/// Stage 3, CPU, up to the memory plan: bufferized functions whose buffers
/// smx-plan-memory has placed in their arenas, no code generated.
void addCpuMemoryPlanPasses(OpPassManager &pm, const TargetOptions &options);

/// The inference executable: stages 1 and 3.
void buildInferencePipeline(OpPassManager &pm,
                            const InferencePipelineOptions &options);

/// The training executable: stages 1 and 3.
void buildTrainingPipeline(OpPassManager &pm,
                           const TrainingPipelineOptions &options);

/// The training executable up to its memory plan (stages 1 and 3 without
/// code generation): what `smxc --memory-limit` compares recompute
/// policies by.
void buildTrainingMemoryPlanPipeline(OpPassManager &pm,
                                     const TrainingPipelineOptions &options);

/// Registers `smx-inference-pipeline` and `smx-training-pipeline` (smx-opt).
void registerSmxPipelines();

} // namespace mlir::smx

#endif // SMX_PIPELINES_PIPELINES_H
