//===- tensor_internal.h - Dtype and shape helpers -------------*- C++ -*-===//
//
// Size arithmetic shared by host tensors and the safetensors reader and
// writer, so that every path checks overflow the same way.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_CORE_TENSOR_INTERNAL_H
#define SMX_RUNTIME_CORE_TENSOR_INTERNAL_H

#include "smx_runtime/tensor.h"

#include <cstddef>
#include <cstdint>
#include <string>

struct smxrt_tensor_t {
  smxrt_dtype_t dtype;
  size_t rank;
  int64_t shape[SMXRT_MAX_RANK];
  int64_t elementCount;
  size_t byteSize;
  void *data;
};

namespace smxrt {

struct ArraySize {
  int64_t elementCount;
  size_t byteSize;
};

/// Computes the sizes of a dense `dtype` array of `shape`. Fails with
/// INVALID_ARGUMENT for a bad dtype or a negative dimension and with
/// RESOURCE_EXHAUSTED when a size does not fit in int64; the message is a
/// phrase such as "negative dimension -1 in shape [2, -1]" that callers
/// prefix with their context.
SMXRT_SUPPORT_API smxrt_status_t computeArraySize(smxrt_dtype_t dtype,
                                                  const int64_t *shape,
                                                  size_t rank,
                                                  ArraySize &result);

/// "[2, 3]"; "[]" for a scalar.
SMXRT_SUPPORT_API std::string formatShape(const int64_t *shape, size_t rank);

} // namespace smxrt

#endif // SMX_RUNTIME_CORE_TENSOR_INTERNAL_H
