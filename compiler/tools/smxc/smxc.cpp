//===- smxc.cpp - the smx compiler driver ---------------------------------===//
//
// smxc SPEC.yaml [-o OUT] [--emit=smx|mlir|llvm|obj|exe] [--batch N] [--seq N]
//      [--task=inference|pretrain|finetune] [--max-predictions N]
//      [--recompute=none|attention|layers] [--memory-limit=8GiB]
//      [--grid dp=D,ep=E] [--static-runtime]
//
// parse -> run a pipeline -> emit -> link. Reads a model spec, builds its
// smx/mix/moe IR (the frontend), runs the inference or the training
// pipeline on it (smx/Pipelines/Pipelines.h; smx-opt runs the same ones),
// and writes the stage that --emit names: the frontend's IR, the lowered
// MLIR, LLVM IR, an object file, or (the default) an executable linked with
// the model application and the runtime (libsmx_model_main.a,
// libsmx_application, libsmx_runtime; their static archives with
// --static-runtime). --task picks the executable: inference, or training
// for an objective (a train step next to the evaluation-form forward
// function).
// Spec errors are reported as file:line:col and exit 1.
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "smx/Frontend/Spec/ModelBuilder.h"
#include "smx/Frontend/Spec/SpecParser.h"
#include "smx/InitAll.h"
#include "smx/Pipelines/Pipelines.h"
#include "smx/Target/CPU/ObjectEmitter.h"
#include "smx/Target/CPU/Passes.h"
#include "smx/Target/CPU/StaticSizes.h"
#include "smx/Training/Gradients.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include <functional>

using namespace mlir;
namespace cl = llvm::cl;

namespace {
enum class EmitKind { Frontend, Mlir, Ptx, Llvm, Object, Executable };

cl::OptionCategory smxcCategory("smxc options");
cl::opt<std::string> specPath(cl::Positional, cl::desc("<model spec .yaml>"),
                              cl::Required, cl::cat(smxcCategory));
cl::opt<std::string> outputPath(
    "o", cl::desc("Output file ('-' for stdout; default: the spec's name for "
                  "an executable, stdout otherwise)"),
    cl::value_desc("path"), cl::cat(smxcCategory));
cl::opt<EmitKind> emitKind(
    "emit", cl::desc("What to produce"), cl::init(EmitKind::Executable),
    cl::values(
        clEnumValN(EmitKind::Frontend, "smx",
                   "the frontend's smx/mix/moe IR (the training form of "
                   "@forward), before any pipeline"),
        clEnumValN(EmitKind::Mlir, "mlir",
                   "the module after the pipeline (LLVM dialect)"),
        clEnumValN(EmitKind::Ptx, "ptx",
                   "with --target=cuda: the PTX of the GPU kernels"),
        clEnumValN(EmitKind::Llvm, "llvm", "optimized LLVM IR"),
        clEnumValN(EmitKind::Object, "obj", "an object file"),
        clEnumValN(EmitKind::Executable, "exe",
                   "an executable linked with the model application and "
                   "the runtime (default)")),
    cl::cat(smxcCategory));
cl::opt<unsigned> optLevel("O", cl::desc("LLVM optimization level (0-3)"),
                           cl::init(3), cl::Prefix, cl::cat(smxcCategory));
cl::opt<std::string> targetCpu(
    "cpu",
    cl::desc("CPU to generate code for: an LLVM CPU name, or 'native' for "
             "this machine's (default x86-64-v3: AVX2, like the OpenBLAS "
             "kernels the tests run, and half the code-generation time of "
             "AVX-512)"),
    cl::init("x86-64-v3"), cl::cat(smxcCategory));
cl::opt<int64_t> batchSize("batch",
                           cl::desc("Compiled batch size (default: the "
                                    "spec's compile.batch)"),
                           cl::init(0), cl::cat(smxcCategory));
cl::opt<int64_t> sequenceLength("seq",
                                cl::desc("Compiled sequence length (default: "
                                         "the spec's compile.seq)"),
                                cl::init(0), cl::cat(smxcCategory));

cl::opt<smx::spec::ModelTask> task(
    "task", cl::desc("What the forward function computes"),
    cl::init(smx::spec::ModelTask::Inference),
    cl::values(
        clEnumValN(smx::spec::ModelTask::Inference, "inference",
                   "the model's outputs (default)"),
        clEnumValN(smx::spec::ModelTask::Pretrain, "pretrain",
                   "the masked-LM and sentence-order losses (plus MoE "
                   "auxiliary losses)"),
        clEnumValN(smx::spec::ModelTask::Finetune, "finetune",
                   "the classifier's loss (plus MoE auxiliary losses)")),
    cl::cat(smxcCategory));
cl::opt<double> maxGradNorm(
    "max-grad-norm",
    cl::desc("Clip gradients to this global norm in the train step "
             "(0: no clipping; training tasks only)"),
    cl::init(1.0), cl::cat(smxcCategory));
cl::opt<double> gradBucketMiB(
    "grad-bucket-mib",
    cl::desc("With --grid: the most MiB of gradients one all-reduce sums "
             "(default 25; 0: one all-reduce per gradient)"),
    cl::init(25.0), cl::cat(smxcCategory));
cl::opt<bool> overlapGradSums(
    "overlap-grad-sums",
    cl::desc("With --grid: start each gradient bucket's sum as soon as its "
             "gradients are computed, and wait for it before the gradient "
             "norm (default false: on CPUs over MPI it costs more than it "
             "hides, see docs/distributed.md)"),
    cl::init(false), cl::cat(smxcCategory));
cl::opt<std::string> recompute(
    "recompute",
    cl::desc("Forward values the train step computes again in its backward "
             "pass instead of keeping them (activation checkpointing): none "
             "(default), attention (the mixing sublayers of attention "
             "layers) or layers (every encoder layer: only the layers' "
             "inputs are kept); training tasks only"),
    cl::init("none"), cl::cat(smxcCategory));
cl::opt<std::string> memoryLimit(
    "memory-limit",
    cl::desc("A budget for the train step's memory: its state, batch, "
             "outputs and arena, the 'train step in all' of `OUT info` "
             "(e.g. 8GiB, 8G, 8GB, 512MiB; K, M, G, T and KiB, MiB, GiB, TiB "
             "are powers of 1024, kB, MB, GB, TB powers of 1000). smxc plans "
             "the memory of each recompute policy, from none to attention to "
             "layers, and compiles the first that fits; with --recompute, it "
             "checks that one. Training tasks only"),
    cl::init(""), cl::cat(smxcCategory));
cl::opt<double> evalCapacityFactor(
    "eval-capacity-factor",
    cl::desc("Capacity factor of the forward function (predict, eval and "
             "the evaluation of fine-tuning; default: the spec's "
             "moe.capacity_factor.eval). Shapes are static, so it is fixed "
             "at compile time"),
    cl::init(0.0), cl::cat(smxcCategory));
cl::opt<int64_t> maxPredictions(
    "max-predictions",
    cl::desc("Masked-LM predictions per sequence for --task=pretrain "
             "(default 80, at most the compiled sequence length)"),
    cl::init(80), cl::cat(smxcCategory));

cl::opt<bool> printLocations(
    "print-locations",
    cl::desc("With --emit=smx or --emit=mlir, print each operation's "
             "location: the model path it was built for (e.g. "
             "\"layers.3.mixing\"), so that smx-opt reading the output knows "
             "them too"),
    cl::init(false), cl::cat(smxcCategory));

cl::opt<bool> profile(
    "profile",
    cl::desc("Time every kernel and runtime call of the compiled model, for "
             "the executable's `profile` command (a little slower)"),
    cl::init(false), cl::cat(smxcCategory));

cl::opt<std::string> precisionOption(
    "precision",
    cl::desc("Precision of GEMM operands: f32 (default) or bf16 (operands "
             "rounded to bfloat16, products summed in f32, parameters and "
             "optimizer state in f32: the GPU path's rounding points)"),
    cl::init("f32"), cl::cat(smxcCategory));

cl::opt<smx::TargetKind> target(
    "target", cl::desc("Where the compiled model runs"),
    cl::init(smx::TargetKind::Cpu),
    cl::values(clEnumValN(smx::TargetKind::Cpu, "cpu",
                          "this machine's CPU (default)"),
               clEnumValN(smx::TargetKind::Cuda, "cuda",
                          "an NVIDIA GPU: kernels compiled to PTX and cubin, "
                          "GEMMs on cuBLASLt in bf16 (docs/gpu.md)"),
               clEnumValN(smx::TargetKind::CudaEmulator, "cuda-emulator",
                          "the CUDA target's kernels run on this CPU, one "
                          "thread after another, GEMMs in f32: checks the "
                          "GPU mapping's numerics without a GPU (slow)")),
    cl::cat(smxcCategory));

cl::opt<std::string> gpuArch(
    "gpu-arch",
    cl::desc("With --target=cuda: the GPU architecture to compile for"),
    cl::value_desc("sm_XX"), cl::init("sm_90"), cl::cat(smxcCategory));

cl::opt<std::string> cudaToolkit(
    "cuda-toolkit",
    cl::desc("With --target=cuda: the CUDA toolkit whose ptxas and libdevice "
             "compile the kernels (default: $CUDA_HOME, else "
             "/usr/local/cuda)"),
    cl::value_desc("dir"), cl::cat(smxcCategory));

cl::opt<std::string> gridOption(
    "grid",
    cl::desc("Train on a grid of processes, dp=D,ep=E (each 1 if omitted): "
             "the batch splits over the D·E processes of `mpirun -np D·E "
             "OUT train` (see docs/distributed.md)"),
    cl::value_desc("dp=D,ep=E"), cl::cat(smxcCategory));

cl::opt<bool> staticRuntime(
    "static-runtime",
    cl::desc("Link the model application and the runtime statically: the "
             "executable then needs only system libraries (BLAS, "
             "SentencePiece, OpenMP, libc) and can be copied to another "
             "machine"),
    cl::init(false), cl::cat(smxcCategory));

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "smxc") << message << "\n";
  return 1;
}

/// Writes `path` through `write`, keeping the file only on success.
int writeOutput(StringRef path,
                function_ref<LogicalResult(llvm::raw_pwrite_stream &)> write) {
  std::string errorMessage;
  std::unique_ptr<llvm::ToolOutputFile> output =
      openOutputFile(path, &errorMessage);
  if (!output)
    return fail(errorMessage);
  if (failed(write(output->os())))
    return 1;
  output->keep();
  return 0;
}

/// Links `objectPath` into `executablePath` with the model application and
/// the runtime found next to smxc (`<prefix>/bin/smxc` uses `<prefix>/lib`,
/// in the build tree and in an installed tree alike). By default the
/// executable loads their shared libraries from that directory (an absolute
/// rpath, so it runs from anywhere while the tree stays); with
/// --static-runtime it carries them and needs only system libraries.
/// Parallel loops call LLVM's OpenMP runtime, found where the build found
/// it.
int linkExecutable(StringRef objectPath, StringRef executablePath,
                   const char *argv0) {
  std::string smxcPath = llvm::sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&linkExecutable));
  SmallString<128> libraryDir(llvm::sys::path::parent_path(
      llvm::sys::path::parent_path(smxcPath)));
  llvm::sys::path::append(libraryDir, "lib");
  auto library = [&](StringRef name) {
    SmallString<128> path(libraryDir);
    llvm::sys::path::append(path, name);
    return std::string(path);
  };
  std::string mainLibrary = library("libsmx_model_main.a");
  SmallVector<std::string> required = {mainLibrary};
  if (staticRuntime)
    required.append(
        {library("libsmx_application.a"), library("libsmx_runtime.a")});
  else
    required.append(
        {library("libsmx_application.so"), library("libsmx_runtime.so")});
  for (const std::string &path : required)
    if (!llvm::sys::fs::exists(path))
      return fail("cannot find the runtime next to smxc: " + path +
                  " does not exist");
  llvm::ErrorOr<std::string> driver = llvm::sys::findProgramByName("c++");
  if (!driver)
    return fail("cannot find the system C++ compiler 'c++' to link with");
  StringRef openmpRuntime = SMX_OPENMP_RUNTIME;
  if (!llvm::sys::fs::exists(openmpRuntime))
    return fail("cannot find LLVM's OpenMP runtime: " + openmpRuntime +
                " does not exist (install libomp-22-dev)");
  std::string openmpDir = llvm::sys::path::parent_path(openmpRuntime).str();

  SmallVector<std::string> arguments = {*driver, "-o", executablePath.str(),
                                        objectPath.str()};
  arguments.append(required.begin(), required.end());
  if (staticRuntime) {
    // The system libraries the archives need, as the build found them.
    SmallVector<StringRef> systemLibraries;
    StringRef(SMX_STATIC_RUNTIME_SYSTEM_LIBRARIES)
        .split(systemLibraries, ',', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
    for (StringRef systemLibrary : systemLibraries)
      arguments.push_back(systemLibrary.str());
    arguments.push_back("-Wl,-rpath," + openmpDir);
  } else {
    arguments.push_back("-Wl,-rpath," + libraryDir.str().str() + ":" +
                        openmpDir);
  }
  arguments.append({openmpRuntime.str(), "-lm"});
  SmallVector<StringRef> argumentRefs(arguments.begin(), arguments.end());
  std::string errorMessage;
  int status = llvm::sys::ExecuteAndWait(*driver, argumentRefs, std::nullopt,
                                         {}, 0, 0, &errorMessage);
  if (status != 0)
    return fail("linking '" + executablePath + "' failed" +
                (errorMessage.empty() ? "" : ": " + errorMessage));
  return 0;
}
/// The capacity factor of the forward function: --eval-capacity-factor or
/// the spec's evaluation factor.
double evaluationCapacityFactor(const smx::spec::ModelSpec &spec) {
  return evalCapacityFactor.getNumOccurrences() ? evalCapacityFactor.getValue()
                                                : spec.moe->evalCapacityFactor;
}

/// Writes `module` as smx-opt does, so that the two tools' outputs compare
/// equal.
std::function<LogicalResult(llvm::raw_pwrite_stream &)>
printModule(ModuleOp module) {
  return [module](llvm::raw_pwrite_stream &os) mutable {
    OpPrintingFlags flags;
    if (printLocations)
      flags.enableDebugInfo();
    module->print(os, flags);
    os << "\n";
    return success();
  };
}

/// Bytes in `text` ("8GiB", "512M", "2.5GB", "1000000"), or nullopt.
std::optional<int64_t> parseByteSize(StringRef text) {
  StringRef digits = text.take_while(
      [](char c) { return llvm::isDigit(c) || c == '.'; });
  StringRef unit = text.drop_front(digits.size()).trim();
  double value = 0;
  if (digits.empty() || digits.getAsDouble(value) || !(value > 0))
    return std::nullopt;
  static const std::pair<StringRef, double> units[] = {
      {"", 1},          {"B", 1},          {"K", 0x1p10},  {"KiB", 0x1p10},
      {"kB", 1e3},      {"KB", 1e3},       {"M", 0x1p20},  {"MiB", 0x1p20},
      {"MB", 1e6},      {"G", 0x1p30},     {"GiB", 0x1p30}, {"GB", 1e9},
      {"T", 0x1p40},    {"TiB", 0x1p40},   {"TB", 1e12}};
  for (auto [name, scale] : units)
    if (unit == name && value * scale < 0x1p62)
      return static_cast<int64_t>(value * scale);
  return std::nullopt;
}

/// `bytes` in the largest binary unit that keeps the value at least 1.
std::string formatBytes(int64_t bytes) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  return llvm::formatv("{0:F2} {1}", value, units[unit]);
}

/// The grid of --grid.
struct Grid {
  int64_t dataParallel = 1, expertParallel = 1;
  int64_t devices() const { return dataParallel * expertParallel; }
};
Grid grid;

/// Parses --grid (`dp=D,ep=E`, either part optional) into `grid` and checks
/// it against the model; one error naming the numbers otherwise.
LogicalResult parseGrid(const smx::spec::ModelSpec &spec,
                        smx::spec::CompileShape &shape) {
  SmallVector<StringRef> parts;
  StringRef(gridOption).split(parts, ',');
  llvm::StringSet<> seen;
  for (StringRef part : parts) {
    auto [name, value] = part.trim().split('=');
    int64_t *target = name == "dp"   ? &grid.dataParallel
                      : name == "ep" ? &grid.expertParallel
                                     : nullptr;
    long long number = 0;
    if (!target || value.getAsInteger(10, number) || number < 1 ||
        !seen.insert(name).second) {
      fail("--grid must be dp=D,ep=E with positive D and E (each axis "
           "once), got '" + gridOption + "'");
      return failure();
    }
    *target = number;
  }
  if (task == smx::spec::ModelTask::Inference) {
    fail("--grid applies to training executables (--task=pretrain or "
         "finetune)");
    return failure();
  }
  if (grid.expertParallel > 1) {
    int64_t experts = spec.moe ? spec.moe->numExperts : 0;
    if (!spec.moe) {
      fail("--grid ep=" + Twine(grid.expertParallel) + ": model '" +
           spec.name + "' has no MoE layers to split over ep");
      return failure();
    }
    if (grid.expertParallel > experts || experts % grid.expertParallel) {
      fail("--grid ep=" + Twine(grid.expertParallel) + ": the " +
           Twine(experts) + " experts of each MoE layer do not split evenly "
           "over " + Twine(grid.expertParallel) + " processes");
      return failure();
    }
  }
  if (shape.batch % grid.devices()) {
    fail("--grid dp=" + Twine(grid.dataParallel) + ",ep=" +
         Twine(grid.expertParallel) + ": the batch of " + Twine(shape.batch) +
         " examples does not split evenly over dp x ep = " +
         Twine(grid.devices()) + " processes");
    return failure();
  }
  // The frontend builds the model of one process's share of the batch.
  shape.batch /= grid.devices();
  return success();
}

/// Fills the training pipeline's `options` from the command line, with
/// `recomputePolicy`.
void setTrainingOptions(smx::TrainingPipelineOptions &options,
                        const smx::spec::ModelSpec &spec,
                        StringRef recomputePolicy) {
  options.maxGradNorm = maxGradNorm;
  options.recompute = recomputePolicy.str();
  if (spec.moe)
    options.evalCapacityFactor = evaluationCapacityFactor(spec);
  options.profile = profile;
  options.dataParallel = grid.dataParallel;
  options.expertParallel = grid.expertParallel;
  options.gradBucketMiB = gradBucketMiB;
  options.overlapGradSums = overlapGradSums;
}

/// The bytes a train step of `module` compiled with `recomputePolicy` holds:
/// its arguments and the results it does not update in place (state, batch,
/// outputs) and its arena, from the memory plan of a copy of the module.
FailureOr<int64_t> planTrainStepBytes(ModuleOp module,
                                      const smx::spec::ModelSpec &spec,
                                      StringRef recomputePolicy) {
  OwningOpRef<ModuleOp> copy = module.clone();
  PassManager pm(module.getContext());
  smx::TrainingPipelineOptions options;
  setTrainingOptions(options, spec, recomputePolicy);
  smx::buildTrainingMemoryPlanPipeline(pm, options);
  if (failed(pm.run(*copy)))
    return failure();
  auto trainStep =
      copy->lookupSymbol<func::FuncOp>(smx::kTrainStepFunctionName);
  auto arena = trainStep ? trainStep->getAttrOfType<IntegerAttr>(
                               smx::kArenaBytesAttrName)
                         : IntegerAttr();
  if (!arena)
    return failure();
  int64_t bytes = arena.getInt();
  for (BlockArgument argument : trainStep.getArguments()) {
    auto type = dyn_cast<MemRefType>(argument.getType());
    unsigned index = argument.getArgNumber();
    if (!type || trainStep.getArgAttr(index, smx::kWorkspaceAttrName) ||
        trainStep.getArgAttr(index, smx::kInPlaceAttrName))
      continue;
    bytes += smx::getStaticByteSize(type).value_or(0);
  }
  return bytes;
}

/// --memory-limit: sets --recompute to the least recomputation whose train
/// step fits the budget, or reports what the smallest one needs.
LogicalResult chooseRecompute(ModuleOp module,
                              const smx::spec::ModelSpec &spec) {
  std::optional<int64_t> limit = parseByteSize(memoryLimit);
  if (!limit) {
    fail("--memory-limit must be a size such as 8GiB, 8G, 8GB or 512MiB, "
         "got '" + memoryLimit + "'");
    return failure();
  }
  SmallVector<std::string> candidates = {"none", "attention", "layers"};
  if (recompute.getNumOccurrences())
    candidates = {recompute};
  std::string tried;
  for (const std::string &policy : candidates) {
    FailureOr<int64_t> bytes = planTrainStepBytes(module, spec, policy);
    if (failed(bytes)) {
      fail("planning the memory of the train step with --recompute=" +
           policy + " failed");
      return failure();
    }
    if (*bytes <= *limit) {
      recompute = policy;
      llvm::WithColor::note(llvm::errs(), "smxc")
          << "--memory-limit=" << memoryLimit << " (" << formatBytes(*limit)
          << "): --recompute=" << policy << ", the train step holds "
          << formatBytes(*bytes) << (tried.empty() ? "" : "; ") << tried << "\n";
      return success();
    }
    tried += (tried.empty() ? "" : ", ") + policy + " would hold " +
             formatBytes(*bytes);
  }
  fail("the train step does not fit --memory-limit=" + memoryLimit + " (" +
       formatBytes(*limit) + "): " + tried +
       (recompute.getNumOccurrences() ? "" : " (the least it can hold)") +
       "; lower --batch or --seq, or raise the limit");
  return failure();
}

/// --target and its options on either pipeline's options.
template <typename PipelineOptions>
void setTargetOptions(PipelineOptions &options) {
  options.target = target;
  options.gpuArch = gpuArch;
  options.cudaToolkit = cudaToolkit;
  // --emit=ptx reads the kernels' PTX off the module instead of a fatbin.
  options.gpuBinaryFormat = emitKind == EmitKind::Ptx ? "isa" : "fatbin";
}

/// Runs the executable's pipeline for --task on the frontend's module.
LogicalResult runPipeline(ModuleOp module, const smx::spec::ModelSpec &spec) {
  PassManager pm(module.getContext());
  if (task == smx::spec::ModelTask::Inference) {
    smx::InferencePipelineOptions options;
    if (spec.moe)
      options.capacityFactor = evaluationCapacityFactor(spec);
    options.profile = profile;
    setTargetOptions(options);
    smx::buildInferencePipeline(pm, options);
  } else {
    smx::TrainingPipelineOptions options;
    setTrainingOptions(options, spec, recompute);
    setTargetOptions(options);
    smx::buildTrainingPipeline(pm, options);
  }
  return pm.run(module);
}

/// --emit=ptx: the PTX of every kernel module, one after the other.
LogicalResult printKernelPtx(ModuleOp module, llvm::raw_ostream &os) {
  bool found = false;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute object : binary.getObjects()) {
      auto gpuObject = cast<gpu::ObjectAttr>(object);
      os << "// gpu.binary @" << binary.getSymName() << " for "
         << gpuObject.getTarget() << "\n"
         << gpuObject.getObject().getValue() << "\n";
      found = true;
    }
  });
  if (!found)
    return module.emitError() << "the module has no GPU kernels";
  return success();
}

/// The CUDA toolkit for --target=cuda: --cuda-toolkit, $CUDA_HOME, or
/// /usr/local/cuda; it must hold ptxas.
FailureOr<std::string> findCudaToolkit() {
  std::string toolkit = cudaToolkit;
  if (toolkit.empty()) {
    const char *home = std::getenv("CUDA_HOME");
    toolkit = home && *home ? home : "/usr/local/cuda";
  }
  SmallString<128> ptxas(toolkit);
  llvm::sys::path::append(ptxas, "bin", "ptxas");
  if (!llvm::sys::fs::can_execute(ptxas)) {
    fail("--target=cuda needs the CUDA toolkit's ptxas, not found at '" +
         ptxas + "' (install the CUDA toolkit or pass --cuda-toolkit)");
    return failure();
  }
  return toolkit;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(smxcCategory);
  cl::ParseCommandLineOptions(argc, argv, "smx compiler: model spec to code\n");

  std::string errorMessage;
  std::unique_ptr<llvm::MemoryBuffer> specBuffer =
      openInputFile(specPath, &errorMessage);
  if (!specBuffer)
    return fail(errorMessage);
  llvm::SourceMgr sourceMgr;
  unsigned bufferId =
      sourceMgr.AddNewSourceBuffer(std::move(specBuffer), llvm::SMLoc());
  FailureOr<smx::spec::ModelSpec> spec = smx::spec::parseModelSpec(
      sourceMgr, bufferId, llvm::sys::path::stem(specPath));
  if (failed(spec))
    return 1;

  smx::spec::CompileShape shape{spec->compileBatch, spec->compileSequence};
  if (batchSize.getNumOccurrences()) {
    if (batchSize < 1)
      return fail("--batch must be at least 1, got " + Twine(batchSize));
    shape.batch = batchSize;
  }
  if (sequenceLength.getNumOccurrences()) {
    if (sequenceLength < 1 || sequenceLength > spec->maxLength)
      return fail("--seq must be in [1, " + Twine(spec->maxLength) +
                  "] (the model's max_length), got " + Twine(sequenceLength));
    if (spec->needsFullLength() && sequenceLength != spec->maxLength)
      return fail("--seq must equal the model's max_length " +
                  Twine(spec->maxLength) +
                  ": non-attention mixing layers run on inputs padded to it");
    shape.sequence = sequenceLength;
  }
  if (evalCapacityFactor.getNumOccurrences() && !(evalCapacityFactor > 0.0))
    return fail("--eval-capacity-factor must be positive, got " +
                std::to_string(evalCapacityFactor.getValue()));
  if (!smx::parseRecompute(recompute))
    return fail("--recompute must be none, attention or layers, got '" +
                recompute + "'");
  if (recompute != "none" && task == smx::spec::ModelTask::Inference)
    return fail("--recompute applies to training executables "
                "(--task=pretrain or finetune)");
  if (memoryLimit.getNumOccurrences() &&
      task == smx::spec::ModelTask::Inference)
    return fail("--memory-limit applies to training executables "
                "(--task=pretrain or finetune)");
  if (gridOption.getNumOccurrences() && failed(parseGrid(*spec, shape)))
    return 1;
  if (maxPredictions.getNumOccurrences()) {
    if (maxPredictions < 1 || maxPredictions > shape.sequence)
      return fail("--max-predictions must be in [1, " + Twine(shape.sequence) +
                  "] (the compiled sequence length), got " +
                  Twine(maxPredictions));
    shape.maxPredictions = maxPredictions;
  }

  if (target == smx::TargetKind::Cuda) {
    if (!StringRef(gpuArch).starts_with("sm_") ||
        !llvm::all_of(StringRef(gpuArch).drop_front(3), llvm::isDigit) ||
        gpuArch.size() < 5)
      return fail("--gpu-arch must be sm_XX (e.g. sm_90), got '" + gpuArch +
                  "'");
    if (profile)
      return fail("--profile times the CPU's kernels; it is not available "
                  "with --target=cuda (use Nsight Systems)");
    if (!SMX_RUNTIME_HAS_CUDA && emitKind == EmitKind::Executable)
      return fail("--target=cuda: this smx was built without the CUDA "
                  "toolkit (SMX_ENABLE_CUDA=OFF), so its runtime cannot run "
                  "GPU kernels; --emit=ptx, mlir, llvm and obj still work");
    FailureOr<std::string> toolkit = findCudaToolkit();
    if (failed(toolkit))
      return 1;
    cudaToolkit = *toolkit;
  } else if (emitKind == EmitKind::Ptx) {
    return fail("--emit=ptx needs --target=cuda");
  }
  if (target == smx::TargetKind::CudaEmulator && profile)
    return fail("--profile times the CPU path's kernels; it is not "
                "available with --target=cuda-emulator");

  DialectRegistry registry;
  smx::registerAllSmxDialects(registry);
  smx::registerAllSmxPasses();
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module;
  {
    // The builder reports a task the spec lacks the heads for at the spec's
    // first line: print it as file:line:col, like the parser's errors.
    SourceMgrDiagnosticHandler specErrors(sourceMgr, &context);
    module = smx::spec::buildModel(
        &context, *spec, shape, FileLineColLoc::get(&context, specPath, 1, 1),
        task);
  }
  if (!module)
    return 1;
  if (precisionOption != "f32" && precisionOption != "bf16")
    return fail("--precision must be f32 or bf16, got '" + precisionOption +
                "'");
  if (precisionOption == "bf16")
    (*module)->setAttr(smx::kPrecisionAttrName,
                       StringAttr::get(&context, "bf16"));
  if (target == smx::TargetKind::Cuda) {
    // GEMMs take bf16 operands on the GPU; --precision=f32 is not offered.
    if (precisionOption.getNumOccurrences() && precisionOption != "bf16")
      return fail("--target=cuda computes GEMMs with bf16 operands: "
                  "--precision must be bf16 (the default there)");
    (*module)->setAttr(smx::kPrecisionAttrName,
                       StringAttr::get(&context, "bf16"));
    (*module)->setAttr(smx::kGpuArchAttrName,
                       StringAttr::get(&context, gpuArch));
  }
  if (failed(verify(*module)))
    return fail("internal error: the IR built for '" + specPath +
                "' does not verify");

  std::string output = outputPath;
  if (output.empty())
    output = emitKind == EmitKind::Executable ? spec->name : "-";
  if (emitKind == EmitKind::Frontend)
    return writeOutput(output, printModule(*module));

  if (memoryLimit.getNumOccurrences() && failed(chooseRecompute(*module, *spec)))
    return 1;
  if (failed(runPipeline(*module, *spec)))
    return fail("lowering '" + specPath + "' failed");
  if (emitKind == EmitKind::Mlir)
    return writeOutput(output, printModule(*module));
  if (emitKind == EmitKind::Ptx)
    return writeOutput(output, [&](llvm::raw_pwrite_stream &os) {
      return printKernelPtx(*module, os);
    });

  smx::ObjectOptions objectOptions;
  objectOptions.cpu = targetCpu;
  if (optLevel > 3)
    return fail("-O must be 0 to 3, got " + Twine(optLevel));
  objectOptions.optLevel = optLevel;
  if (emitKind != EmitKind::Executable)
    return writeOutput(output, [&](llvm::raw_pwrite_stream &os) {
      return smx::emitMachineCode(*module, objectOptions,
                                  emitKind == EmitKind::Object, os);
    });

  // An executable: the object in a temporary file, linked by the system
  // compiler driver with the runtime next to this smxc.
  SmallString<128> objectPath;
  if (std::error_code error = llvm::sys::fs::createTemporaryFile(
          "smx-model", "o", objectPath))
    return fail("cannot create a temporary object file: " + error.message());
  llvm::FileRemover removeObject(objectPath);
  if (int status = writeOutput(objectPath, [&](llvm::raw_pwrite_stream &os) {
        return smx::emitMachineCode(*module, objectOptions,
                                    /*emitObject=*/true, os);
      }))
    return status;
  return linkExecutable(objectPath, output, argv[0]);
}
