//===- batch_inputs.cpp - Reading the rows a command runs on --------------===//
//
// Checks everything about the input file before the model sees it: a wrong
// sequence length or an id outside an embedding table would otherwise make
// compiled code read out of bounds.
//
//===----------------------------------------------------------------------===//

#include "model/forward_runner.h"

#include "status_internal.h"
#include "tensor_internal.h"

#include <algorithm>
#include <cstdint>

namespace smxrt {
namespace {

/// Inputs that may be absent from the file; they default to zeros.
bool defaultsToZeros(const std::string &name) { return name == "type_ids"; }

/// Id inputs and the embedding table each one indexes (docs/weights.md).
struct IdInput {
  const char *input;
  const char *table;
};
constexpr IdInput idInputs[] = {{"input_ids", "embeddings.word"},
                                {"type_ids", "embeddings.type"}};

/// The expected shape with the batch shown as N: "I32 [N, 32]".
std::string describeRows(const ArgumentSpec &input) {
  std::string shape = formatShape(input.shape.data(), input.shape.size());
  size_t firstDimensionEnd = shape.find_first_of(",]");
  return std::string(smxrt_dtype_name(input.dtype)) + " [N" +
         shape.substr(firstDimensionEnd);
}

smxrt_status_t readInput(const ModelManifest &manifest,
                         const smxrt_safetensors_t *file,
                         const std::string &path, const ArgumentSpec &input,
                         const std::string *&firstName, BatchInputs &inputs,
                         TensorPtr &tensor) {
  smxrt_dtype_t dtype = SMXRT_DTYPE_INVALID;
  size_t rank = 0;
  const int64_t *shape = nullptr;
  SMXRT_RETURN_IF_ERROR(smxrt_safetensors_tensor_info(file, input.name.c_str(),
                                                      &dtype, &rank, &shape));
  if (dtype != input.dtype || rank != input.shape.size() || rank == 0 ||
      !std::equal(shape + 1, shape + rank, input.shape.begin() + 1))
    return makeStatusf(
        SMXRT_STATUS_INVALID_ARGUMENT,
        "%s: tensor '%s' is %s %s, but the model takes %s (compiled batch "
        "%lld, sequence %lld)",
        path.c_str(), input.name.c_str(), smxrt_dtype_name(dtype),
        formatShape(shape, rank).c_str(), describeRows(input).c_str(),
        static_cast<long long>(manifest.batch),
        static_cast<long long>(manifest.sequence));
  if (shape[0] == 0)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: tensor '%s' has no rows", path.c_str(),
                       input.name.c_str());
  if (firstName && shape[0] != inputs.rows)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s: tensor '%s' has %lld rows, but '%s' has %lld",
                       path.c_str(), input.name.c_str(),
                       static_cast<long long>(shape[0]), firstName->c_str(),
                       static_cast<long long>(inputs.rows));
  if (!firstName) {
    firstName = &input.name;
    inputs.rows = shape[0];
  }
  smxrt_tensor_t *read = nullptr;
  smxrt_status_t status =
      smxrt_safetensors_read_tensor(file, input.name.c_str(), &read);
  tensor.reset(read);
  return status;
}

/// Ids must be non-negative and, where the model has the embedding table,
/// below its row count.
smxrt_status_t checkIds(const ModelManifest &manifest, const std::string &path,
                        const std::string &inputName, const char *tableName,
                        const smxrt_tensor_t *ids) {
  const ArgumentSpec *table = manifest.findArgument(tableName);
  int64_t limit = table && !table->shape.empty() ? table->shape[0] : INT64_MAX;
  const auto *values =
      static_cast<const int32_t *>(smxrt_tensor_const_data(ids));
  int64_t columns = smxrt_tensor_shape(ids)[1];
  for (int64_t index = 0; index < smxrt_tensor_element_count(ids); ++index) {
    if (values[index] >= 0 && values[index] < limit)
      continue;
    std::string range =
        limit == INT64_MAX
            ? std::string("negative")
            : formatString("outside [0, %lld), the rows of the model's '%s'",
                           static_cast<long long>(limit), tableName);
    return makeStatusf(
        SMXRT_STATUS_INVALID_ARGUMENT, "%s: %s[%lld, %lld] = %d is %s",
        path.c_str(), inputName.c_str(),
        static_cast<long long>(index / columns),
        static_cast<long long>(index % columns), values[index], range.c_str());
  }
  return nullptr;
}

} // namespace

smxrt_status_t readBatchInputs(const ModelManifest &manifest,
                               const std::string &path, BatchInputs &inputs) {
  SafetensorsFilePtr file;
  SMXRT_RETURN_IF_ERROR(openSafetensors(path, file));
  inputs.rows = 0;
  inputs.tensors.clear();
  inputs.tensors.resize(manifest.arguments.size());

  // input_ids first, so that its row count is the one others must match.
  std::vector<size_t> order;
  for (size_t index = 0; index < manifest.arguments.size(); ++index) {
    const ArgumentSpec &argument = manifest.arguments[index];
    if (argument.role == ArgumentRole::Input && argument.name != stepInputName)
      order.insert(argument.name == "input_ids" ? order.begin() : order.end(),
                   index);
  }
  const std::string *firstName = nullptr;
  std::vector<size_t> absent;
  for (size_t index : order) {
    const ArgumentSpec &input = manifest.arguments[index];
    StatusPtr lookup(smxrt_safetensors_tensor_info(
        file.get(), input.name.c_str(), nullptr, nullptr, nullptr));
    if (!lookup)
      SMXRT_RETURN_IF_ERROR(readInput(manifest, file.get(), path, input,
                                      firstName, inputs,
                                      inputs.tensors[index]));
    else if (smxrt_status_code(lookup.get()) != SMXRT_STATUS_NOT_FOUND)
      return lookup.release();
    else if (defaultsToZeros(input.name))
      absent.push_back(index);
    else
      return makeStatusf(
          SMXRT_STATUS_NOT_FOUND, "%s: no tensor '%s' (the model's input, %s)",
          path.c_str(), input.name.c_str(), describeRows(input).c_str());
  }
  for (size_t index : absent) {
    std::vector<int64_t> shape = manifest.arguments[index].shape;
    shape[0] = inputs.rows;
    SMXRT_RETURN_IF_ERROR(createTensor(manifest.arguments[index].dtype, shape,
                                       inputs.tensors[index]));
  }

  for (const IdInput &idInput : idInputs) {
    const ArgumentSpec *input = manifest.findArgument(idInput.input);
    if (!input || input->role != ArgumentRole::Input)
      continue;
    size_t index = static_cast<size_t>(input - manifest.arguments.data());
    SMXRT_RETURN_IF_ERROR(checkIds(manifest, path, input->name, idInput.table,
                                   inputs.tensors[index].get()));
  }
  return nullptr;
}

} // namespace smxrt
