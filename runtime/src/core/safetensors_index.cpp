//===- safetensors_index.cpp - Validating safetensors headers ------------===//
//
// Checks everything a header claims before any data is touched: JSON types,
// dtypes, shapes (with overflow checks), offsets against the data size, and
// overlaps between tensors.
//
//===----------------------------------------------------------------------===//

#include "safetensors_index.h"

#include "status_internal.h"
#include "tensor_internal.h"

#include <algorithm>
#include <utility>

namespace smxrt {
namespace {

/// Validates a parsed header and fills a SafetensorsIndex from it.
class HeaderReader {
public:
  HeaderReader(const std::string &path, uint64_t dataSize,
               SafetensorsIndex &index)
      : path(path), dataSize(dataSize), index(index) {}

  smxrt_status_t read(const json::Value &header) {
    if (!header.isObject())
      return fileError(formatString("the header is %s, not a JSON object",
                                    json::Value::describeKind(header.kind())));
    for (const auto &[name, entry] : header.getObject()) {
      if (name == safetensorsMetadataKey) {
        SMXRT_RETURN_IF_ERROR(readMetadata(entry));
        continue;
      }
      SafetensorsTensorInfo tensor;
      SMXRT_RETURN_IF_ERROR(readTensorInfo(name, entry, tensor));
      index.tensors.push_back(std::move(tensor));
    }
    // The JSON parser rejects duplicate keys, so names are unique.
    std::sort(
        index.tensors.begin(), index.tensors.end(),
        [](const SafetensorsTensorInfo &lhs, const SafetensorsTensorInfo &rhs) {
          return lhs.name < rhs.name;
        });
    std::sort(index.metadata.begin(), index.metadata.end());
    return checkNoOverlap();
  }

private:
  smxrt_status_t fileError(const std::string &problem) const {
    return makeStatus(SMXRT_STATUS_DATA_LOSS, path + ": " + problem);
  }

  std::string tensorContext(const std::string &name) const {
    return path + ": tensor '" + name + "': ";
  }

  smxrt_status_t
  tensorError(const std::string &name, const std::string &problem,
              smxrt_status_code_t code = SMXRT_STATUS_DATA_LOSS) const {
    return makeStatus(code, tensorContext(name) + problem);
  }

  smxrt_status_t readMetadata(const json::Value &entry) {
    if (!entry.isObject())
      return fileError(formatString("'%s' is %s, not an object of strings",
                                    safetensorsMetadataKey.data(),
                                    json::Value::describeKind(entry.kind())));
    for (const auto &[key, value] : entry.getObject()) {
      if (!value.isString())
        return fileError(
            formatString("'%s': the value of '%s' is %s, not a string",
                         safetensorsMetadataKey.data(), key.c_str(),
                         json::Value::describeKind(value.kind())));
      index.metadata.emplace_back(key, value.getString());
    }
    return nullptr;
  }

  smxrt_status_t readTensorInfo(const std::string &name,
                                const json::Value &entry,
                                SafetensorsTensorInfo &tensor) {
    tensor.name = name;
    if (!entry.isObject())
      return tensorError(name,
                         formatString("the entry is %s, not a JSON object",
                                      json::Value::describeKind(entry.kind())));
    for (const char *field : {"dtype", "shape", "data_offsets"})
      if (!entry.find(field))
        return tensorError(name, formatString("missing '%s'", field));

    const json::Value &dtype = *entry.find("dtype");
    if (!dtype.isString())
      return tensorError(name,
                         formatString("'dtype' is %s, not a string",
                                      json::Value::describeKind(dtype.kind())));
    tensor.dtype = smxrt_dtype_from_name(dtype.getString().c_str());
    if (tensor.dtype == SMXRT_DTYPE_INVALID)
      return tensorError(name, "unsupported dtype '" + dtype.getString() + "'",
                         SMXRT_STATUS_UNIMPLEMENTED);

    SMXRT_RETURN_IF_ERROR(
        readIntegers(name, "shape", *entry.find("shape"), tensor.shape));
    ArraySize size;
    if (smxrt_status_t status = computeArraySize(
            tensor.dtype, tensor.shape.data(), tensor.shape.size(), size))
      return annotateStatus(status, tensorContext(name),
                            SMXRT_STATUS_DATA_LOSS);

    std::vector<int64_t> offsets;
    SMXRT_RETURN_IF_ERROR(readIntegers(name, "data_offsets",
                                       *entry.find("data_offsets"), offsets));
    if (offsets.size() != 2 || offsets[0] < 0 || offsets[1] < 0)
      return tensorError(
          name,
          formatString("'data_offsets' is %s, not two non-negative "
                       "integers [begin, end]",
                       formatShape(offsets.data(), offsets.size()).c_str()));
    tensor.begin = static_cast<uint64_t>(offsets[0]);
    tensor.end = static_cast<uint64_t>(offsets[1]);
    std::string range = formatShape(offsets.data(), offsets.size());
    if (tensor.begin > tensor.end)
      return tensorError(
          name, formatString("data_offsets %s are reversed (begin > end)",
                             range.c_str()));
    if (tensor.end > dataSize)
      return tensorError(
          name, formatString("data_offsets %s exceed the data size %llu "
                             "(truncated file?)",
                             range.c_str(),
                             static_cast<unsigned long long>(dataSize)));
    if (tensor.end - tensor.begin != size.byteSize)
      return tensorError(
          name,
          formatString(
              "data_offsets %s hold %llu bytes, but shape %s of %s needs %zu",
              range.c_str(),
              static_cast<unsigned long long>(tensor.end - tensor.begin),
              formatShape(tensor.shape.data(), tensor.shape.size()).c_str(),
              smxrt_dtype_name(tensor.dtype), size.byteSize));
    return nullptr;
  }

  /// Reads `value` as an array of integers into `integers`.
  smxrt_status_t readIntegers(const std::string &name, const char *field,
                              const json::Value &value,
                              std::vector<int64_t> &integers) {
    if (!value.isArray())
      return tensorError(
          name, formatString("'%s' is %s, not an array of integers", field,
                             json::Value::describeKind(value.kind())));
    for (const json::Value &element : value.getArray()) {
      if (!element.isInteger())
        return tensorError(
            name, formatString("'%s' must be an array of integers, but element "
                               "%zu is %s",
                               field, integers.size(),
                               json::Value::describeKind(element.kind())));
      integers.push_back(element.getInteger());
    }
    return nullptr;
  }

  /// Two tensors sharing bytes would alias each other once loaded.
  smxrt_status_t checkNoOverlap() {
    std::vector<const SafetensorsTensorInfo *> byOffset;
    for (const SafetensorsTensorInfo &tensor : index.tensors)
      if (tensor.begin != tensor.end)
        byOffset.push_back(&tensor);
    std::sort(
        byOffset.begin(), byOffset.end(),
        [](const SafetensorsTensorInfo *lhs, const SafetensorsTensorInfo *rhs) {
          return lhs->begin < rhs->begin;
        });
    const SafetensorsTensorInfo *furthest = nullptr;
    for (const SafetensorsTensorInfo *tensor : byOffset) {
      if (furthest && tensor->begin < furthest->end)
        return fileError(formatString(
            "tensors '%s' (data_offsets [%llu, %llu]) and '%s' (data_offsets "
            "[%llu, %llu]) overlap",
            furthest->name.c_str(),
            static_cast<unsigned long long>(furthest->begin),
            static_cast<unsigned long long>(furthest->end),
            tensor->name.c_str(),
            static_cast<unsigned long long>(tensor->begin),
            static_cast<unsigned long long>(tensor->end)));
      if (!furthest || tensor->end > furthest->end)
        furthest = tensor;
    }
    return nullptr;
  }

  const std::string &path;
  uint64_t dataSize;
  SafetensorsIndex &index;
};

} // namespace

smxrt_status_t parseSafetensorsIndex(const json::Value &header,
                                     uint64_t dataSize, const std::string &path,
                                     SafetensorsIndex &index) {
  return HeaderReader(path, dataSize, index).read(header);
}

const SafetensorsTensorInfo *
SafetensorsIndex::findTensor(std::string_view name) const {
  auto found = std::lower_bound(
      tensors.begin(), tensors.end(), name,
      [](const SafetensorsTensorInfo &tensor, std::string_view key) {
        return std::string_view(tensor.name) < key;
      });
  if (found == tensors.end() || found->name != name)
    return nullptr;
  return &*found;
}

const std::string *SafetensorsIndex::findMetadata(std::string_view key) const {
  auto found =
      std::lower_bound(metadata.begin(), metadata.end(), key,
                       [](const std::pair<std::string, std::string> &entry,
                          std::string_view wanted) {
                         return std::string_view(entry.first) < wanted;
                       });
  if (found == metadata.end() || found->first != key)
    return nullptr;
  return &found->second;
}

} // namespace smxrt
