//===- memory.h - where the runtime's buffers live --------------*- C++ -*-===//
//
// Every buffer that compiled code may touch (tensors, the heap of compiled
// code, the entry points' arenas) comes from here. On the CPU that is the
// C heap; once a GPU is opened (src/cuda/device.cpp) it is CUDA managed
// memory, which the host code of a CUDA model and its kernels both address.
//
//===----------------------------------------------------------------------===//

#ifndef SMXRT_CORE_MEMORY_H
#define SMXRT_CORE_MEMORY_H

#include <cstddef>

#include "smx_runtime/api.h"

namespace smxrt {

/// Buffers are aligned to this many bytes (at least).
inline constexpr size_t kBufferAlignment = 64;

/// Where buffers come from: `allocate` returns `bytes` (> 0) aligned to
/// kBufferAlignment, or null; `release` takes what it returned.
struct MemoryProvider {
  const char *name;
  void *(*allocate)(size_t bytes);
  void (*release)(void *block);
};

/// A buffer of `bytes` from the current provider (null when it has none
/// left); zero bytes allocate one alignment unit.
SMXRT_SUPPORT_API void *allocateBuffer(size_t bytes);
/// Gives `block` (from allocateBuffer, or null) back to its provider.
SMXRT_SUPPORT_API void releaseBuffer(void *block);

/// Makes `provider` the source of buffers. Fails (returns false) while
/// buffers of the previous provider are live: they could not be released.
bool setMemoryProvider(const MemoryProvider &provider);

/// The name of the current provider ("host" or "cuda managed").
const char *getMemoryProviderName();

} // namespace smxrt

#endif // SMXRT_CORE_MEMORY_H
