//===- memref_descriptor.h - reading MLIR memref descriptors ----*- C++ -*-===//
//
// Compiled code passes buffers to the runtime as unranked memrefs: a rank
// and a pointer to a ranked descriptor {allocated, aligned, offset,
// sizes[rank], strides[rank]} (smx_runtime/memref_abi.h).
//
//===----------------------------------------------------------------------===//

#ifndef SMXRT_CORE_MEMREF_DESCRIPTOR_H
#define SMXRT_CORE_MEMREF_DESCRIPTOR_H

#include <cstdint>

namespace smxrt {

/// The fixed head of every ranked memref descriptor; sizes[rank] and
/// strides[rank] follow it.
template <typename T> struct DescriptorHead {
  T *allocated;
  T *aligned;
  int64_t offset;
};

/// The first element of the memref (its offset applied).
template <typename T> T *basePointer(void *descriptor) {
  auto *head = static_cast<DescriptorHead<T> *>(descriptor);
  return head->aligned + head->offset;
}

/// The sizes of the memref, followed by its strides.
inline const int64_t *sizesOf(void *descriptor) {
  return reinterpret_cast<const int64_t *>(
      static_cast<char *>(descriptor) + sizeof(DescriptorHead<char>));
}

} // namespace smxrt

#endif // SMXRT_CORE_MEMREF_DESCRIPTOR_H
