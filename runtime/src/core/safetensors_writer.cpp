//===- safetensors_writer.cpp - Writing safetensors files ----------------===//
//
// The writer borrows tensor data and streams it straight into an atomically
// written file, so saving a checkpoint needs no second copy of the weights.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/safetensors.h"

#include "file.h"
#include "json.h"
#include "safetensors_index.h"
#include "status_internal.h"
#include "tensor_internal.h"

#include <algorithm>
#include <map>
#include <set>
#include <vector>

namespace {

struct PendingTensor {
  std::string name;
  smxrt_dtype_t dtype;
  std::vector<int64_t> shape;
  const void *data;
  size_t byteSize;
};

} // namespace

struct smxrt_safetensors_writer_t {
  std::vector<PendingTensor> tensors;
  std::set<std::string, std::less<>> tensorNames;
  std::map<std::string, std::string, std::less<>> metadata;
};

namespace smxrt {
namespace {

smxrt_status_t checkString(const char *string, const char *what) {
  if (!string)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT, "%s is NULL", what);
  if (!json::isValidUtf8(string))
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                       "%s '%s' is not valid UTF-8", what, string);
  return nullptr;
}

/// Blob order: largest elements first, so that every tensor starts at a
/// multiple of its element size (the header is padded to 8 bytes); then by
/// name, so that the output does not depend on the order tensors were added.
std::vector<const PendingTensor *>
blobOrder(const smxrt_safetensors_writer_t &writer) {
  std::vector<const PendingTensor *> order;
  for (const PendingTensor &tensor : writer.tensors)
    order.push_back(&tensor);
  std::sort(order.begin(), order.end(),
            [](const PendingTensor *lhs, const PendingTensor *rhs) {
              size_t lhsSize = smxrt_dtype_size(lhs->dtype);
              size_t rhsSize = smxrt_dtype_size(rhs->dtype);
              if (lhsSize != rhsSize)
                return lhsSize > rhsSize;
              return lhs->name < rhs->name;
            });
  return order;
}

/// The JSON header, space-padded to a multiple of 8 bytes.
smxrt_status_t buildHeader(const smxrt_safetensors_writer_t &writer,
                           const std::vector<const PendingTensor *> &order,
                           std::string &header) {
  json::Object root;
  if (!writer.metadata.empty()) {
    json::Object metadata;
    for (const auto &[key, value] : writer.metadata)
      metadata.emplace_back(key, json::Value(value));
    root.emplace_back(std::string(safetensorsMetadataKey),
                      json::Value(std::move(metadata)));
  }
  uint64_t offset = 0;
  for (const PendingTensor *tensor : order) {
    uint64_t end = 0;
    if (__builtin_add_overflow(offset, tensor->byteSize, &end) ||
        end > static_cast<uint64_t>(INT64_MAX))
      return makeStatus(SMXRT_STATUS_RESOURCE_EXHAUSTED,
                        "the tensors' total size does not fit in 64 bits");
    json::Array shape(tensor->shape.begin(), tensor->shape.end());
    json::Object entry;
    entry.emplace_back("dtype", smxrt_dtype_name(tensor->dtype));
    entry.emplace_back("shape", std::move(shape));
    entry.emplace_back("data_offsets", json::Array{offset, end});
    root.emplace_back(tensor->name, std::move(entry));
    offset = end;
  }
  header = json::serialize(json::Value(std::move(root)));
  header.append((8 - header.size() % 8) % 8, ' ');
  return nullptr;
}

smxrt_status_t writeFile(const smxrt_safetensors_writer_t &writer,
                         const std::string &path) {
  std::vector<const PendingTensor *> order = blobOrder(writer);
  std::string header;
  SMXRT_RETURN_IF_ERROR(buildHeader(writer, order, header));
  return writeFileAtomically(path, [&](FileSink &sink) -> smxrt_status_t {
    unsigned char lengthField[8];
    uint64_t headerLength = header.size();
    for (size_t index = 0; index < sizeof(lengthField); ++index)
      lengthField[index] =
          static_cast<unsigned char>(headerLength >> (8 * index));
    SMXRT_RETURN_IF_ERROR(sink.write(lengthField, sizeof(lengthField)));
    SMXRT_RETURN_IF_ERROR(sink.write(header.data(), header.size()));
    for (const PendingTensor *tensor : order)
      SMXRT_RETURN_IF_ERROR(sink.write(tensor->data, tensor->byteSize));
    return nullptr;
  });
}

} // namespace
} // namespace smxrt

using namespace smxrt;

extern "C" {

smxrt_status_t
smxrt_safetensors_writer_create(smxrt_safetensors_writer_t **out_writer) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (!out_writer)
      return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, "out_writer is NULL");
    *out_writer = new smxrt_safetensors_writer_t();
    return nullptr;
  });
}

void smxrt_safetensors_writer_free(smxrt_safetensors_writer_t *writer) {
  delete writer;
}

smxrt_status_t smxrt_safetensors_writer_add_data(
    smxrt_safetensors_writer_t *writer, const char *name, smxrt_dtype_t dtype,
    size_t rank, const int64_t *shape, const void *data, size_t byte_size) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (!writer)
      return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, "writer is NULL");
    SMXRT_RETURN_IF_ERROR(checkString(name, "tensor name"));
    auto invalid = [&](const std::string &problem) {
      return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT,
                        "tensor '" + std::string(name) + "': " + problem);
    };
    if (name == safetensorsMetadataKey)
      return invalid("the name is reserved for the metadata");
    if (writer->tensorNames.count(name))
      return invalid("a tensor of this name was already added");
    if (rank > 0 && !shape)
      return invalid("shape is NULL but rank is not 0");
    ArraySize size;
    if (smxrt_status_t status = computeArraySize(dtype, shape, rank, size))
      return annotateStatus(status, "tensor '" + std::string(name) + "': ");
    if (byte_size != size.byteSize)
      return invalid(
          formatString("%zu bytes of data, but shape %s of %s needs %zu",
                       byte_size, formatShape(shape, rank).c_str(),
                       smxrt_dtype_name(dtype), size.byteSize));
    if (!data && byte_size > 0)
      return invalid("data is NULL");
    writer->tensorNames.emplace(name);
    writer->tensors.push_back(
        PendingTensor{name, dtype, std::vector<int64_t>(shape, shape + rank),
                      data, byte_size});
    return nullptr;
  });
}

smxrt_status_t
smxrt_safetensors_writer_add_tensor(smxrt_safetensors_writer_t *writer,
                                    const char *name,
                                    const smxrt_tensor_t *tensor) {
  if (!tensor)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT, "tensor '%s' is NULL",
                       name ? name : "(null)");
  return smxrt_safetensors_writer_add_data(writer, name, tensor->dtype,
                                           tensor->rank, tensor->shape,
                                           tensor->data, tensor->byteSize);
}

smxrt_status_t
smxrt_safetensors_writer_add_metadata(smxrt_safetensors_writer_t *writer,
                                      const char *key, const char *value) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (!writer)
      return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, "writer is NULL");
    SMXRT_RETURN_IF_ERROR(checkString(key, "metadata key"));
    SMXRT_RETURN_IF_ERROR(checkString(value, "metadata value"));
    if (!writer->metadata.emplace(key, value).second)
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "metadata key '%s' was already added", key);
    return nullptr;
  });
}

smxrt_status_t
smxrt_safetensors_writer_write(const smxrt_safetensors_writer_t *writer,
                               const char *path) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (!writer || !path || !*path)
      return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT,
                        "writer or path is NULL or empty");
    return writeFile(*writer, path);
  });
}

} // extern "C"
