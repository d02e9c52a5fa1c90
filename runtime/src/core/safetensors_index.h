//===- safetensors_index.h - Validated safetensors headers -----*- C++ -*-===//
//
// The table of contents of a safetensors file, built from its JSON header
// only after every claim in it has been checked. The reader keeps one per
// open file; checkpoint code can validate a header the same way.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_CORE_SAFETENSORS_INDEX_H
#define SMX_RUNTIME_CORE_SAFETENSORS_INDEX_H

#include "json.h"

#include "smx_runtime/status.h"
#include "smx_runtime/tensor.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smxrt {

/// The reserved header key of the string-to-string metadata.
constexpr std::string_view safetensorsMetadataKey = "__metadata__";

struct SafetensorsTensorInfo {
  std::string name;
  smxrt_dtype_t dtype;
  std::vector<int64_t> shape;
  /// Byte range [begin, end) in the data blob.
  uint64_t begin;
  uint64_t end;
};

struct SafetensorsIndex {
  /// Sorted by name; names are unique.
  std::vector<SafetensorsTensorInfo> tensors;
  /// Sorted by key.
  std::vector<std::pair<std::string, std::string>> metadata;

  /// nullptr if there is no such tensor.
  const SafetensorsTensorInfo *findTensor(std::string_view name) const;
  /// nullptr if there is no such key.
  const std::string *findMetadata(std::string_view key) const;
};

/// Validates a parsed header that precedes `dataSize` bytes of data and
/// fills `index`. Fails with DATA_LOSS for anything malformed or out of range
/// and with UNIMPLEMENTED for an unknown dtype; messages start with `path`.
smxrt_status_t parseSafetensorsIndex(const json::Value &header,
                                     uint64_t dataSize, const std::string &path,
                                     SafetensorsIndex &index);

} // namespace smxrt

#endif // SMX_RUNTIME_CORE_SAFETENSORS_INDEX_H
