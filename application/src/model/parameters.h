//===- parameters.h - Loading or initializing model parameters --*- C++ -*-===//
//
// Fills the parameter buffers of the forward arguments, either from a
// safetensors file or by each parameter's `init`. The normal generator is
// specified exactly (docs/runtime.md) so that other tools can reproduce it.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_MODEL_PARAMETERS_H
#define SMX_RUNTIME_MODEL_PARAMETERS_H

#include "model/manifest.h"

#include "handles.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smxrt {

/// The standard deviation of the `normal` init (docs/weights.md).
constexpr double normalInitStandardDeviation = 0.02;

/// Writes `count` draws of N(0, standardDeviation) for the parameter `name`:
/// a splitmix64 stream seeded with seed XOR FNV-1a-64(name), two draws per
/// value, Box–Muller's cosine branch (docs/runtime.md); the values of the
/// elements [first, first + count) of that stream.
void fillNormal(uint64_t seed, std::string_view name, double standardDeviation,
                float *values, int64_t count, int64_t first = 0);

/// Fills one parameter's buffer by its init (this process's slice of the
/// global init for a split parameter).
void initializeParameter(const ArgumentSpec &parameter, uint64_t seed,
                         smxrt_tensor_t *tensor);

/// Reads the tensor `tensorName` of the open safetensors `file` (at `path`)
/// into `tensor`, which has the type of `parameter` (a split parameter's
/// file holds the global tensor, and `tensor` gets this process's slice).
/// `found` says whether the file has it; when it does not and `required`,
/// the error is NOT_FOUND. A dtype or shape other than the parameter's is INVALID_ARGUMENT; errors
/// name the file, the tensor and the mismatch.
smxrt_status_t readParameterTensor(const smxrt_safetensors_t *file,
                                   const std::string &path,
                                   const std::string &tensorName,
                                   const ArgumentSpec &parameter,
                                   smxrt_tensor_t *tensor, bool required,
                                   bool &found);

/// Fills every parameter buffer of `arguments` (aligned with
/// manifest.arguments) by its init.
void initializeParameters(const ModelManifest &manifest, uint64_t seed,
                          std::vector<TensorPtr> &arguments);

/// Reads every parameter from the safetensors file `path`: each must be
/// present with the manifest's dtype and shape; other tensors are ignored.
/// Errors name the file, the tensor and the mismatch.
smxrt_status_t loadParameters(const ModelManifest &manifest,
                              const std::string &path,
                              std::vector<TensorPtr> &arguments);

} // namespace smxrt

#endif // SMX_RUNTIME_MODEL_PARAMETERS_H
