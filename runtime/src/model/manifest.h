//===- manifest.h - The manifest of a compiled model ------------*- C++ -*-===//
//
// Parses and checks the JSON manifest of docs/abi.md once, so that the
// commands can trust it: known ABI version, unique names, known dtypes and
// inits, shapes whose sizes fit, inputs the driver knows how to supply.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_MODEL_MANIFEST_H
#define SMX_RUNTIME_MODEL_MANIFEST_H

#include "smx_runtime/status.h"
#include "smx_runtime/tensor.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smxrt {

/// The input argument that carries the training step, a scalar I64.
constexpr std::string_view stepInputName = "step";

struct TensorSpec {
  std::string name;
  smxrt_dtype_t dtype = SMXRT_DTYPE_INVALID;
  std::vector<int64_t> shape;
  int64_t elementCount = 0;
  size_t byteSize = 0;
};

enum class ArgumentRole { Input, Parameter };
enum class ParameterInit { None, Normal, Zeros, Ones };

struct ArgumentSpec : TensorSpec {
  ArgumentRole role = ArgumentRole::Input;
  /// None for inputs.
  ParameterInit init = ParameterInit::None;
};

struct ResultSpec : TensorSpec {
  /// Whether the first dimension is the batch: such results are concatenated
  /// over chunks; the others are stacked along a new chunk dimension.
  bool batchMajor = false;
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

struct ModelManifest {
  std::string model;
  int64_t batch = 0;
  int64_t sequence = 0;
  /// In the order of smx_model_forward's `arguments` and `results`.
  std::vector<ArgumentSpec> arguments;
  std::vector<ResultSpec> results;
  std::vector<MoeLayerSpec> moeLayers;

  /// nullptr if there is no such argument or result.
  const ArgumentSpec *findArgument(std::string_view name) const;
  const ResultSpec *findResult(std::string_view name) const;
};

const char *parameterInitName(ParameterInit init);

/// Parses and checks a manifest. Fails with UNIMPLEMENTED for an ABI version
/// other than SMXRT_ABI_VERSION and with INVALID_ARGUMENT for anything else,
/// naming the offending member, e.g.
/// "entry_points.forward.arguments[3].shape[1]: -2 is negative".
smxrt_status_t parseModelManifest(std::string_view text,
                                  ModelManifest &manifest);

} // namespace smxrt

#endif // SMX_RUNTIME_MODEL_MANIFEST_H
