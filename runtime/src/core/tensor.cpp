//===- tensor.cpp - Element types and host tensors -----------------------===//

#include "tensor_internal.h"

#include "memory.h"
#include "status_internal.h"

#include <cstring>
#include <limits>
#include <new>

namespace smxrt {
namespace {

struct DtypeInfo {
  smxrt_dtype_t dtype;
  const char *name;
  size_t size;
};

// Indexed by smxrt_dtype_t; names are the safetensors spellings.
constexpr DtypeInfo dtypeTable[] = {
    {SMXRT_DTYPE_INVALID, "INVALID", 0}, {SMXRT_DTYPE_F32, "F32", 4},
    {SMXRT_DTYPE_BF16, "BF16", 2},       {SMXRT_DTYPE_F16, "F16", 2},
    {SMXRT_DTYPE_I32, "I32", 4},         {SMXRT_DTYPE_I64, "I64", 8},
    {SMXRT_DTYPE_F64, "F64", 8},         {SMXRT_DTYPE_I8, "I8", 1},
    {SMXRT_DTYPE_U8, "U8", 1},           {SMXRT_DTYPE_BOOL, "BOOL", 1},
};
constexpr size_t dtypeCount = sizeof(dtypeTable) / sizeof(dtypeTable[0]);

const DtypeInfo &lookupDtype(smxrt_dtype_t dtype) {
  auto index = static_cast<size_t>(dtype);
  return index < dtypeCount ? dtypeTable[index] : dtypeTable[0];
}

} // namespace

std::string formatShape(const int64_t *shape, size_t rank) {
  std::string result = "[";
  for (size_t axis = 0; axis < rank; ++axis) {
    if (axis)
      result += ", ";
    result += std::to_string(shape[axis]);
  }
  return result + "]";
}

smxrt_status_t computeArraySize(smxrt_dtype_t dtype, const int64_t *shape,
                                size_t rank, ArraySize &result) {
  size_t elementSize = lookupDtype(dtype).size;
  if (elementSize == 0)
    return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT, "invalid dtype %d",
                       static_cast<int>(dtype));
  // A zero dimension makes the array empty, but a huge dimension elsewhere
  // must still be rejected, so the product skips zeros and is checked whole.
  int64_t elementCount = 1;
  bool overflow = false;
  bool empty = false;
  for (size_t axis = 0; axis < rank; ++axis) {
    if (shape[axis] < 0)
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "negative dimension %lld in shape %s",
                         static_cast<long long>(shape[axis]),
                         formatShape(shape, rank).c_str());
    if (shape[axis] == 0)
      empty = true;
    else if (__builtin_mul_overflow(elementCount, shape[axis], &elementCount))
      overflow = true;
  }
  int64_t byteSize = 0;
  if (overflow ||
      __builtin_mul_overflow(elementCount, static_cast<int64_t>(elementSize),
                             &byteSize))
    return makeStatusf(SMXRT_STATUS_RESOURCE_EXHAUSTED,
                       "shape %s of %s is too large: its byte size does not "
                       "fit in 64 bits",
                       formatShape(shape, rank).c_str(),
                       lookupDtype(dtype).name);
  result = empty ? ArraySize{0, 0}
                 : ArraySize{elementCount, static_cast<size_t>(byteSize)};
  return nullptr;
}

} // namespace smxrt

using namespace smxrt;

extern "C" {

size_t smxrt_dtype_size(smxrt_dtype_t dtype) { return lookupDtype(dtype).size; }

const char *smxrt_dtype_name(smxrt_dtype_t dtype) {
  return lookupDtype(dtype).name;
}

smxrt_dtype_t smxrt_dtype_from_name(const char *name) {
  if (!name)
    return SMXRT_DTYPE_INVALID;
  for (size_t index = 1; index < dtypeCount; ++index)
    if (std::strcmp(dtypeTable[index].name, name) == 0)
      return dtypeTable[index].dtype;
  return SMXRT_DTYPE_INVALID;
}

smxrt_status_t smxrt_shape_byte_size(smxrt_dtype_t dtype, size_t rank,
                                     const int64_t *shape,
                                     int64_t *out_element_count,
                                     size_t *out_byte_size) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (rank > 0 && !shape)
      return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT,
                        "shape is NULL but rank is not 0");
    ArraySize size;
    SMXRT_RETURN_IF_ERROR(computeArraySize(dtype, shape, rank, size));
    if (out_element_count)
      *out_element_count = size.elementCount;
    if (out_byte_size)
      *out_byte_size = size.byteSize;
    return nullptr;
  });
}

smxrt_status_t smxrt_tensor_create(smxrt_dtype_t dtype, size_t rank,
                                   const int64_t *shape,
                                   smxrt_tensor_t **out_tensor) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (!out_tensor)
      return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, "out_tensor is NULL");
    *out_tensor = nullptr;
    if (rank > SMXRT_MAX_RANK)
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "rank %zu exceeds the maximum rank %d", rank,
                         SMXRT_MAX_RANK);
    if (rank > 0 && !shape)
      return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT,
                        "shape is NULL but rank is not 0");
    ArraySize size;
    SMXRT_RETURN_IF_ERROR(computeArraySize(dtype, shape, rank, size));

    // Round up to whole alignment units (at least one, so that even an empty
    // tensor has a valid, aligned data pointer).
    constexpr size_t alignment = SMXRT_TENSOR_ALIGNMENT;
    if (size.byteSize > std::numeric_limits<size_t>::max() - alignment)
      return makeStatusf(SMXRT_STATUS_RESOURCE_EXHAUSTED,
                         "cannot allocate %zu bytes", size.byteSize);
    size_t allocationSize =
        size.byteSize == 0
            ? alignment
            : (size.byteSize + alignment - 1) / alignment * alignment;
    static_assert(alignment <= kBufferAlignment,
                  "tensors are aligned as every buffer is");
    void *data = allocateBuffer(allocationSize);
    if (!data)
      return makeStatusf(SMXRT_STATUS_RESOURCE_EXHAUSTED,
                         "out of memory allocating %zu bytes for a %s tensor "
                         "of shape %s",
                         size.byteSize, smxrt_dtype_name(dtype),
                         formatShape(shape, rank).c_str());
    std::memset(data, 0, allocationSize);

    auto *tensor = new (std::nothrow) smxrt_tensor_t{};
    if (!tensor) {
      releaseBuffer(data);
      return makeStatus(SMXRT_STATUS_RESOURCE_EXHAUSTED, "out of memory");
    }
    tensor->dtype = dtype;
    tensor->rank = rank;
    if (rank > 0)
      std::memcpy(tensor->shape, shape, rank * sizeof(int64_t));
    tensor->elementCount = size.elementCount;
    tensor->byteSize = size.byteSize;
    tensor->data = data;
    *out_tensor = tensor;
    return nullptr;
  });
}

void smxrt_tensor_free(smxrt_tensor_t *tensor) {
  if (!tensor)
    return;
  releaseBuffer(tensor->data);
  delete tensor;
}

smxrt_dtype_t smxrt_tensor_dtype(const smxrt_tensor_t *tensor) {
  return tensor->dtype;
}

size_t smxrt_tensor_rank(const smxrt_tensor_t *tensor) { return tensor->rank; }

const int64_t *smxrt_tensor_shape(const smxrt_tensor_t *tensor) {
  return tensor->shape;
}

int64_t smxrt_tensor_element_count(const smxrt_tensor_t *tensor) {
  return tensor->elementCount;
}

size_t smxrt_tensor_byte_size(const smxrt_tensor_t *tensor) {
  return tensor->byteSize;
}

void *smxrt_tensor_data(smxrt_tensor_t *tensor) { return tensor->data; }

const void *smxrt_tensor_const_data(const smxrt_tensor_t *tensor) {
  return tensor->data;
}

} // extern "C"
