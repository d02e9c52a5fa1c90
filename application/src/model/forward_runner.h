//===- forward_runner.h - Running the forward pass over a batch -*- C++ -*-===//
//
// The model is compiled for a fixed batch B; a user's input file holds any
// number N of rows. The runner feeds the rows in chunks of B (padding the
// last chunk with zero rows) and assembles the results: batch-major results
// are concatenated and trimmed to N rows, the others stacked along a new
// leading chunk dimension.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_MODEL_FORWARD_RUNNER_H
#define SMX_RUNTIME_MODEL_FORWARD_RUNNER_H

#include "model/manifest.h"
#include "model/workspace.h"

#include "smx_application/model_main.h"

#include "handles.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smxrt {

/// Every batch-major input of the model, N rows each.
struct BatchInputs {
  int64_t rows = 0;
  /// Aligned with manifest.arguments; null for parameters and `step`.
  std::vector<TensorPtr> tensors;
};

/// Reads the model's inputs from the safetensors file `path`: `input_ids`
/// [N, S] is required, `type_ids` defaults to zeros, any other input is
/// required. Checks dtypes, shapes (S must be the compiled sequence), row
/// counts, and that ids are non-negative and index the embedding tables.
smxrt_status_t readBatchInputs(const ModelManifest &manifest,
                               const std::string &path, BatchInputs &inputs);

/// The buffers smx_model_forward reads and writes, one per manifest entry,
/// 64-byte aligned.
struct ForwardBuffers {
  std::vector<TensorPtr> arguments;
  std::vector<TensorPtr> results;
  /// The forward function's arena.
  Workspace workspace;
};

smxrt_status_t allocateForwardBuffers(const ModelManifest &manifest,
                                      ForwardBuffers &buffers);

/// The results over all chunks, aligned with manifest.results: [N, ...] for
/// batch-major results, [chunks, ...] for the others.
struct BatchResults {
  int64_t rows = 0;
  int64_t chunks = 0;
  std::vector<TensorPtr> tensors;
};

/// The assembled result `name`; nullptr if the model has none.
const smxrt_tensor_t *findResult(const ModelManifest &manifest,
                                 const BatchResults &results,
                                 std::string_view name);

/// Runs `forward` over `inputs` in chunks of the compiled batch, with the
/// parameters already in `buffers` and `step` as the step input.
smxrt_status_t runForwardInChunks(const ModelManifest &manifest,
                                  smxrt_model_forward_fn_t forward,
                                  ForwardBuffers &buffers,
                                  const BatchInputs &inputs, int64_t step,
                                  BatchResults &results);

/// Writes `tensors` (name, tensor) with string `metadata` (key, value) to
/// the safetensors file `path`, atomically: what `predict` and `analyze
/// --export` write.
smxrt_status_t writeTensorsFile(
    const std::string &path,
    const std::vector<std::pair<std::string, const smxrt_tensor_t *>> &tensors,
    const std::vector<std::pair<std::string, std::string>> &metadata);

} // namespace smxrt

#endif // SMX_RUNTIME_MODEL_FORWARD_RUNNER_H
