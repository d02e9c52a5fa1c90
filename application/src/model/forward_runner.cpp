//===- forward_runner.cpp - Running the forward pass in chunks ------------===//

#include "model/forward_runner.h"

#include "status_internal.h"

#include <algorithm>
#include <cstring>

namespace smxrt {
namespace {

char *bytesOf(smxrt_tensor_t *tensor) {
  return static_cast<char *>(smxrt_tensor_data(tensor));
}

const char *bytesOf(const smxrt_tensor_t *tensor) {
  return static_cast<const char *>(smxrt_tensor_const_data(tensor));
}

smxrt_status_t createResultTensors(const ModelManifest &manifest,
                                   BatchResults &results) {
  results.tensors.clear();
  for (const ResultSpec &spec : manifest.results) {
    std::vector<int64_t> shape = spec.shape;
    if (spec.batchMajor)
      shape[0] = results.rows;
    else
      shape.insert(shape.begin(), results.chunks);
    results.tensors.emplace_back();
    SMXRT_RETURN_IF_ERROR(
        annotateStatus(createTensor(spec.dtype, shape, results.tensors.back()),
                       "result '" + spec.name + "': "));
  }
  return nullptr;
}

} // namespace

smxrt_status_t allocateForwardBuffers(const ModelManifest &manifest,
                                      ForwardBuffers &buffers) {
  buffers.arguments.clear();
  buffers.results.clear();
  for (const ArgumentSpec &spec : manifest.arguments) {
    buffers.arguments.emplace_back();
    SMXRT_RETURN_IF_ERROR(
        createTensor(spec.dtype, spec.shape, buffers.arguments.back()));
  }
  for (const ResultSpec &spec : manifest.results) {
    buffers.results.emplace_back();
    SMXRT_RETURN_IF_ERROR(
        createTensor(spec.dtype, spec.shape, buffers.results.back()));
  }
  return buffers.workspace.allocate(manifest.memoryPlan, "forward function",
                                    manifest.forwardBufferBytes());
}

smxrt_status_t runForwardInChunks(const ModelManifest &manifest,
                                  smxrt_model_forward_fn_t forward,
                                  ForwardBuffers &buffers,
                                  const BatchInputs &inputs, int64_t step,
                                  BatchResults &results) {
  const int64_t batch = manifest.batch;
  results.rows = inputs.rows;
  results.chunks = (inputs.rows + batch - 1) / batch;
  SMXRT_RETURN_IF_ERROR(createResultTensors(manifest, results));

  std::vector<void *> argumentPointers;
  for (size_t index = 0; index < manifest.arguments.size(); ++index) {
    argumentPointers.push_back(
        smxrt_tensor_data(buffers.arguments[index].get()));
    if (manifest.arguments[index].name == stepInputName)
      *static_cast<int64_t *>(argumentPointers.back()) = step;
  }
  std::vector<void *> resultPointers;
  for (TensorPtr &result : buffers.results)
    resultPointers.push_back(smxrt_tensor_data(result.get()));

  for (int64_t chunk = 0; chunk < results.chunks; ++chunk) {
    const int64_t firstRow = chunk * batch;
    const int64_t rowCount = std::min(batch, inputs.rows - firstRow);
    for (size_t index = 0; index < manifest.arguments.size(); ++index) {
      const smxrt_tensor_t *input = inputs.tensors[index].get();
      if (!input)
        continue;
      size_t rowBytes = manifest.arguments[index].byteSize / batch;
      char *buffer = bytesOf(buffers.arguments[index].get());
      std::memcpy(buffer, bytesOf(input) + firstRow * rowBytes,
                  rowCount * rowBytes);
      // Padding rows: id 0 (and type 0) everywhere.
      std::memset(buffer + rowCount * rowBytes, 0,
                  (batch - rowCount) * rowBytes);
    }

    forward(argumentPointers.data(), resultPointers.data(),
            buffers.workspace.data());

    for (size_t index = 0; index < manifest.results.size(); ++index) {
      const ResultSpec &spec = manifest.results[index];
      const char *buffer = bytesOf(buffers.results[index].get());
      char *assembled = bytesOf(results.tensors[index].get());
      if (spec.batchMajor) {
        size_t rowBytes = spec.byteSize / batch;
        std::memcpy(assembled + firstRow * rowBytes, buffer,
                    rowCount * rowBytes);
      } else {
        std::memcpy(assembled + chunk * spec.byteSize, buffer, spec.byteSize);
      }
    }
  }
  return nullptr;
}

const smxrt_tensor_t *findResult(const ModelManifest &manifest,
                                 const BatchResults &results,
                                 std::string_view name) {
  const ResultSpec *spec = manifest.findResult(name);
  return spec ? results.tensors[spec - manifest.results.data()].get() : nullptr;
}

smxrt_status_t writeTensorsFile(
    const std::string &path,
    const std::vector<std::pair<std::string, const smxrt_tensor_t *>> &tensors,
    const std::vector<std::pair<std::string, std::string>> &metadata) {
  smxrt_safetensors_writer_t *rawWriter = nullptr;
  SMXRT_RETURN_IF_ERROR(smxrt_safetensors_writer_create(&rawWriter));
  SafetensorsWriterPtr writer(rawWriter);
  for (const auto &[name, tensor] : tensors)
    SMXRT_RETURN_IF_ERROR(smxrt_safetensors_writer_add_tensor(
        writer.get(), name.c_str(), tensor));
  for (const auto &[key, value] : metadata)
    SMXRT_RETURN_IF_ERROR(smxrt_safetensors_writer_add_metadata(
        writer.get(), key.c_str(), value.c_str()));
  return smxrt_safetensors_writer_write(writer.get(), path.c_str());
}

} // namespace smxrt
