//===- safetensors_reader.cpp - Reading safetensors files ----------------===//
//
// Opening a file validates its whole header up front, so that a corrupt or
// truncated file is reported once, with the path and the exact problem,
// before anything is loaded. Tensor data is read with pread on demand.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/safetensors.h"

#include "file.h"
#include "json.h"
#include "safetensors_index.h"
#include "status_internal.h"
#include "tensor_internal.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

struct smxrt_safetensors_t {
  std::string path;
  smxrt::FileDescriptor file;
  // File offset of the data blob: 8 + header length.
  uint64_t dataStart = 0;
  smxrt::SafetensorsIndex index;
};

namespace smxrt {
namespace {

smxrt_status_t openFile(const char *path,
                        std::unique_ptr<smxrt_safetensors_t> &result) {
  auto file = std::make_unique<smxrt_safetensors_t>();
  file->path = path;
  uint64_t fileSize = 0;
  SMXRT_RETURN_IF_ERROR(openForReading(file->path, file->file, fileSize));
  auto dataLoss = [&](const std::string &problem) {
    return makeStatus(SMXRT_STATUS_DATA_LOSS, file->path + ": " + problem);
  };

  constexpr uint64_t lengthFieldSize = 8;
  if (fileSize < lengthFieldSize)
    return dataLoss(formatString("the file is %llu bytes, too short for the "
                                 "8-byte header length (truncated file?)",
                                 static_cast<unsigned long long>(fileSize)));
  unsigned char lengthField[lengthFieldSize];
  SMXRT_RETURN_IF_ERROR(
      readExactlyAt(file->file, file->path, 0, lengthField, lengthFieldSize));
  uint64_t headerLength = 0;
  for (size_t byte = 0; byte < lengthFieldSize; ++byte)
    headerLength |= static_cast<uint64_t>(lengthField[byte]) << (8 * byte);
  if (headerLength > SMXRT_SAFETENSORS_MAX_HEADER_SIZE)
    return dataLoss(formatString(
        "the header length %llu exceeds the limit of %d bytes (corrupt file?)",
        static_cast<unsigned long long>(headerLength),
        SMXRT_SAFETENSORS_MAX_HEADER_SIZE));
  if (headerLength > fileSize - lengthFieldSize)
    return dataLoss(formatString(
        "the header length %llu exceeds the %llu bytes that follow it "
        "(truncated file?)",
        static_cast<unsigned long long>(headerLength),
        static_cast<unsigned long long>(fileSize - lengthFieldSize)));

  std::string headerText(headerLength, '\0');
  SMXRT_RETURN_IF_ERROR(readExactlyAt(file->file, file->path, lengthFieldSize,
                                      &headerText[0], headerText.size()));
  json::ParseError parseError;
  std::optional<json::Value> header = json::parse(headerText, parseError);
  if (!header)
    return dataLoss(formatString("invalid JSON header at byte %zu: %s",
                                 parseError.offset,
                                 parseError.message.c_str()));

  file->dataStart = lengthFieldSize + headerLength;
  SMXRT_RETURN_IF_ERROR(parseSafetensorsIndex(
      *header, fileSize - file->dataStart, file->path, file->index));
  result = std::move(file);
  return nullptr;
}

/// Finds `name` or fails with NOT_FOUND; checks the common arguments.
smxrt_status_t lookupTensor(const smxrt_safetensors_t *file, const char *name,
                            const SafetensorsTensorInfo *&entry) {
  if (!file || !name)
    return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT,
                      "file handle or tensor name is NULL");
  entry = file->index.findTensor(name);
  if (!entry)
    return makeStatusf(SMXRT_STATUS_NOT_FOUND, "%s: no tensor named '%s'",
                       file->path.c_str(), name);
  return nullptr;
}

} // namespace
} // namespace smxrt

using namespace smxrt;

extern "C" {

smxrt_status_t smxrt_safetensors_open(const char *path,
                                      smxrt_safetensors_t **out_file) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (!path || !out_file)
      return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT,
                        "path or out_file is NULL");
    *out_file = nullptr;
    std::unique_ptr<smxrt_safetensors_t> file;
    SMXRT_RETURN_IF_ERROR(openFile(path, file));
    *out_file = file.release();
    return nullptr;
  });
}

void smxrt_safetensors_close(smxrt_safetensors_t *file) { delete file; }

const char *smxrt_safetensors_path(const smxrt_safetensors_t *file) {
  return file->path.c_str();
}

size_t smxrt_safetensors_tensor_count(const smxrt_safetensors_t *file) {
  return file->index.tensors.size();
}

const char *smxrt_safetensors_tensor_name(const smxrt_safetensors_t *file,
                                          size_t index) {
  return index < file->index.tensors.size()
             ? file->index.tensors[index].name.c_str()
             : nullptr;
}

smxrt_status_t smxrt_safetensors_tensor_info(const smxrt_safetensors_t *file,
                                             const char *name,
                                             smxrt_dtype_t *out_dtype,
                                             size_t *out_rank,
                                             const int64_t **out_shape) {
  return catchExceptions([&]() -> smxrt_status_t {
    const SafetensorsTensorInfo *entry = nullptr;
    SMXRT_RETURN_IF_ERROR(lookupTensor(file, name, entry));
    if (out_dtype)
      *out_dtype = entry->dtype;
    if (out_rank)
      *out_rank = entry->shape.size();
    if (out_shape)
      *out_shape = entry->shape.empty() ? nullptr : entry->shape.data();
    return nullptr;
  });
}

smxrt_status_t smxrt_safetensors_read_data(const smxrt_safetensors_t *file,
                                           const char *name, void *destination,
                                           size_t destination_size) {
  return catchExceptions([&]() -> smxrt_status_t {
    const SafetensorsTensorInfo *entry = nullptr;
    SMXRT_RETURN_IF_ERROR(lookupTensor(file, name, entry));
    uint64_t byteSize = entry->end - entry->begin;
    if (destination_size != byteSize)
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "%s: tensor '%s' holds %llu bytes, but the "
                         "destination has %zu",
                         file->path.c_str(), name,
                         static_cast<unsigned long long>(byteSize),
                         destination_size);
    if (byteSize == 0)
      return nullptr;
    if (!destination)
      return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, "destination is NULL");
    return readExactlyAt(file->file, file->path, file->dataStart + entry->begin,
                         destination, destination_size);
  });
}

smxrt_status_t smxrt_safetensors_read_tensor(const smxrt_safetensors_t *file,
                                             const char *name,
                                             smxrt_tensor_t **out_tensor) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (!out_tensor)
      return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, "out_tensor is NULL");
    *out_tensor = nullptr;
    const SafetensorsTensorInfo *entry = nullptr;
    SMXRT_RETURN_IF_ERROR(lookupTensor(file, name, entry));
    if (entry->shape.size() > SMXRT_MAX_RANK)
      return makeStatusf(SMXRT_STATUS_UNIMPLEMENTED,
                         "%s: tensor '%s' has rank %zu, above the supported "
                         "maximum %d",
                         file->path.c_str(), name, entry->shape.size(),
                         SMXRT_MAX_RANK);
    smxrt_tensor_t *tensor = nullptr;
    SMXRT_RETURN_IF_ERROR(smxrt_tensor_create(entry->dtype, entry->shape.size(),
                                              entry->shape.data(), &tensor));
    if (smxrt_status_t status = smxrt_safetensors_read_data(
            file, name, tensor->data, tensor->byteSize)) {
      smxrt_tensor_free(tensor);
      return status;
    }
    *out_tensor = tensor;
    return nullptr;
  });
}

smxrt_status_t
smxrt_safetensors_read_tensor_into(const smxrt_safetensors_t *file,
                                   const char *name, smxrt_tensor_t *tensor) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (!tensor)
      return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, "tensor is NULL");
    const SafetensorsTensorInfo *entry = nullptr;
    SMXRT_RETURN_IF_ERROR(lookupTensor(file, name, entry));
    if (entry->dtype != tensor->dtype ||
        !std::equal(entry->shape.begin(), entry->shape.end(), tensor->shape,
                    tensor->shape + tensor->rank))
      return makeStatusf(
          SMXRT_STATUS_INVALID_ARGUMENT,
          "%s: tensor '%s' is %s %s, but the destination is %s %s",
          file->path.c_str(), name, smxrt_dtype_name(entry->dtype),
          formatShape(entry->shape.data(), entry->shape.size()).c_str(),
          smxrt_dtype_name(tensor->dtype),
          formatShape(tensor->shape, tensor->rank).c_str());
    return smxrt_safetensors_read_data(file, name, tensor->data,
                                       tensor->byteSize);
  });
}

size_t smxrt_safetensors_metadata_count(const smxrt_safetensors_t *file) {
  return file->index.metadata.size();
}

const char *smxrt_safetensors_metadata_key(const smxrt_safetensors_t *file,
                                           size_t index) {
  return index < file->index.metadata.size()
             ? file->index.metadata[index].first.c_str()
             : nullptr;
}

const char *smxrt_safetensors_metadata_value(const smxrt_safetensors_t *file,
                                             const char *key) {
  if (!key)
    return nullptr;
  const std::string *value = file->index.findMetadata(key);
  return value ? value->c_str() : nullptr;
}

} // extern "C"
