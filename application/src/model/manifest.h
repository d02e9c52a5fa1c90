//===- manifest.h - The manifest of a compiled model ------------*- C++ -*-===//
//
// Parses and checks the JSON manifest of docs/abi.md once, so that the
// commands can trust it: known ABI version, unique names, known dtypes and
// inits, shapes whose sizes fit, inputs the driver knows how to supply.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_MODEL_MANIFEST_H
#define SMX_RUNTIME_MODEL_MANIFEST_H

#include "smx_runtime/model_abi.h"
#include "smx_runtime/status.h"
#include "smx_runtime/tensor.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smxrt {

/// The input argument that carries the training step, a scalar I64.
constexpr std::string_view stepInputName = SMXRT_INPUT_STEP;
/// The train step's schedule scalars (docs/abi.md): F32 [], I64 [], I64 [].
constexpr std::string_view peakLearningRateInputName =
    SMXRT_INPUT_PEAK_LEARNING_RATE;
constexpr std::string_view warmupStepsInputName = SMXRT_INPUT_WARMUP_STEPS;
constexpr std::string_view totalStepsInputName = SMXRT_INPUT_TOTAL_STEPS;

struct TensorSpec {
  std::string name;
  smxrt_dtype_t dtype = SMXRT_DTYPE_INVALID;
  std::vector<int64_t> shape;
  int64_t elementCount = 0;
  size_t byteSize = 0;
};

/// FirstMoment and SecondMoment occur only in the train step.
enum class ArgumentRole { Input, Parameter, FirstMoment, SecondMoment };
enum class ParameterInit { None, Normal, Zeros, Ones };

struct ArgumentSpec : TensorSpec {
  ArgumentRole role = ArgumentRole::Input;
  /// None for inputs.
  ParameterInit init = ParameterInit::None;
  /// A parameter of a model compiled for a grid that splits it along its
  /// first dimension (expert weights over ep): the grid axes, and the
  /// global shape that checkpoints hold; `shape` is this process's slice.
  /// Both empty for a whole parameter.
  std::vector<int64_t> shardAxes;
  std::vector<int64_t> globalShape;

  bool isSplit() const { return !shardAxes.empty(); }
  /// The global shape, what checkpoints and weight files hold.
  const std::vector<int64_t> &wholeShape() const {
    return isSplit() ? globalShape : shape;
  }
};

/// The role of a train step result: an updated parameter or moment, or an
/// output (loss, grad_norm, learning_rate, loss terms, metrics).
enum class ResultRole { Output, Parameter, FirstMoment, SecondMoment };

struct ResultSpec : TensorSpec {
  /// Whether the first dimension is the batch: such results are concatenated
  /// over chunks; the others are stacked along a new chunk dimension.
  bool batchMajor = false;
  /// Train step results only (forward results are outputs).
  ResultRole role = ResultRole::Output;
  /// A term of the training loss: its weight in `loss` ("loss_weight").
  bool isLossTerm = false;
  double lossWeight = 0;
  /// A statistic reported with every step ("metric": true).
  bool isMetric = false;
  /// A parameter or moment the train step writes into its argument's
  /// buffer ("in_place": true); its result pointer is never accessed.
  bool inPlace = false;
};

/// An entry point's static memory plan (the compiler's smx-plan-memory):
/// every intermediate buffer lives in one arena of `arenaBytes`, in which at
/// most `peakLiveBytes` are live at once, first at the model path `peakAt`.
struct MemoryPlanSpec {
  bool present = false;
  int64_t arenaBytes = 0;
  int64_t peakLiveBytes = 0;
  /// Empty when the compiler knew no model path there.
  std::string peakAt;
};

/// entry_points.train_step of a training object, checked: its parameters
/// are the forward function's, each with both moments in the same order, and
/// its results mirror them before the outputs.
struct TrainStepSpec {
  /// In the order of smx_model_train_step's `arguments` and `results`.
  std::vector<ArgumentSpec> arguments;
  std::vector<ResultSpec> results;

  /// Indices into `arguments`: the inputs (batch tensors and scalars), and
  /// per parameter, in order, its value, first and second moment.
  std::vector<size_t> inputs;
  std::vector<size_t> parameters, firstMoments, secondMoments;
  /// Indices into `results`, parallel to the above.
  std::vector<size_t> parameterResults, firstMomentResults, secondMomentResults;
  /// Indices into `results` of the outputs.
  size_t loss = 0, gradNorm = 0, learningRate = 0;
  /// The outputs after those three, in order: loss terms and metrics.
  std::vector<size_t> reported;
  MemoryPlanSpec memoryPlan;

  /// Bytes of the buffers the application holds for the train step besides
  /// its arena: every argument, the outputs, and a second copy of each
  /// parameter or moment not updated in place.
  int64_t bufferBytes() const;

  /// Per result, the argument it updates in place (the step writes the new
  /// value into that argument's buffer and never touches the result's), or
  /// -1.
  std::vector<int64_t> inPlaceArguments() const;

  const ArgumentSpec *findArgument(std::string_view name) const;
  const ResultSpec *findResult(std::string_view name) const;
};

struct MoeLayerSpec {
  int64_t layer = 0;
  int64_t experts = 0;
  std::string policy;
  double capacityFactor = 0;
  int64_t groups = 0;
  int64_t tokensPerGroup = 0;
  int64_t capacity = 0;
};

/// One entry of the manifest's "profile" list: a call the compiled code
/// times (objects compiled with `smxc --profile`).
struct ProfileSiteSpec {
  /// The model path it computes ("layers.3.mixing"), or empty.
  std::string at;
  /// gemm, route, elementwise, reduction or copy.
  std::string kind;
  int64_t bytes = 0;
  int64_t flops = 0;
  /// The kernel or runtime function called, or "copy".
  std::string callee;
};

struct ModelManifest {
  std::string model;
  int64_t batch = 0;
  int64_t sequence = 0;
  /// In the order of smx_model_forward's `arguments` and `results`.
  std::vector<ArgumentSpec> arguments;
  std::vector<ResultSpec> results;
  std::vector<MoeLayerSpec> moeLayers;
  /// The forward function's memory plan.
  MemoryPlanSpec memoryPlan;
  /// Indexed by profile site; empty unless compiled with --profile.
  std::vector<ProfileSiteSpec> profileSites;
  /// The grid of a model compiled with smxc --grid (1 x 1 otherwise):
  /// dataParallel x expertParallel processes, each with `batch` examples.
  int64_t dataParallel = 1;
  int64_t expertParallel = 1;
  /// "pretrain" or "finetune" for a training object; empty for inference.
  std::string task;
  /// The GEMM operands' precision: "f32" or "bf16" (smxc --precision).
  std::string precision = "f32";
  /// The GPU architecture of a model compiled with smxc --target=cuda
  /// ("sm_90"); empty for the CPU.
  std::string gpuArch;
  bool runsOnGpu() const { return !gpuArch.empty(); }
  /// Whether the manifest has entry_points.train_step (then `task` is set).
  bool hasTrainStep = false;
  TrainStepSpec trainStep;
  /// The manifest's text, whose hash identifies the model in checkpoints.
  std::string text;

  /// Whether the model runs on a grid of more than one process.
  bool isPartitioned() const { return dataParallel * expertParallel > 1; }
  /// The examples of one step of the whole grid.
  int64_t globalBatch() const { return batch * dataParallel * expertParallel; }

  /// Bytes of the forward function's arguments and results, the buffers
  /// the application holds for it besides its arena.
  int64_t forwardBufferBytes() const;

  /// nullptr if there is no such argument or result.
  const ArgumentSpec *findArgument(std::string_view name) const;
  const ResultSpec *findResult(std::string_view name) const;
};

const char *parameterInitName(ParameterInit init);
const char *argumentRoleName(ArgumentRole role);

/// Parses and checks a manifest. Fails with UNIMPLEMENTED for an ABI version
/// other than SMXRT_ABI_VERSION and with INVALID_ARGUMENT for anything else,
/// naming the offending member, e.g.
/// "entry_points.forward.arguments[3].shape[1]: -2 is negative".
smxrt_status_t parseModelManifest(std::string_view text,
                                  ModelManifest &manifest);

} // namespace smxrt

#endif // SMX_RUNTIME_MODEL_MANIFEST_H
