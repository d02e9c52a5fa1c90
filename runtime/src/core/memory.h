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
#include <utility>

#include "smx_runtime/api.h"

namespace smxrt {

/// Buffers are aligned to this many bytes (at least).
inline constexpr size_t kBufferAlignment = 64;

/// Where buffers come from: `allocate` returns `bytes` (> 0) aligned to
/// kBufferAlignment, or null; `release` takes what it returned, and its
/// size.
struct MemoryProvider {
  const char *name;
  void *(*allocate)(size_t bytes);
  void (*release)(void *block, size_t bytes);
};

/// A buffer of `bytes` from the current provider (null when it has none
/// left); zero bytes allocate one alignment unit.
SMXRT_SUPPORT_API void *allocateBuffer(size_t bytes);
/// Gives `block` (from allocateBuffer, or null) back to its provider.
SMXRT_SUPPORT_API void releaseBuffer(void *block);

/// A buffer of allocateBuffer that releases itself: staging buffers that a
/// communication backend may read on the device (NCCL) come from here.
class OwnedBuffer {
public:
  OwnedBuffer() = default;
  /// `bytes` bytes, or empty (data() null) when the provider has none left.
  explicit OwnedBuffer(size_t bytes)
      : block(allocateBuffer(bytes)), bytes(block ? bytes : 0) {}
  OwnedBuffer(OwnedBuffer &&other) noexcept
      : block(other.block), bytes(other.bytes) {
    other.block = nullptr;
    other.bytes = 0;
  }
  OwnedBuffer &operator=(OwnedBuffer &&other) noexcept {
    std::swap(block, other.block);
    std::swap(bytes, other.bytes);
    return *this;
  }
  OwnedBuffer(const OwnedBuffer &) = delete;
  OwnedBuffer &operator=(const OwnedBuffer &) = delete;
  ~OwnedBuffer() { releaseBuffer(block); }

  template <typename T = void> T *data() const {
    return static_cast<T *>(block);
  }
  size_t size() const { return bytes; }

private:
  void *block = nullptr;
  size_t bytes = 0;
};

/// Makes `provider` the source of buffers. Fails (returns false) while
/// buffers of the previous provider are live: they could not be released.
bool setMemoryProvider(const MemoryProvider &provider);

/// The name of the current provider ("host" or "cuda managed"): what
/// smxrt_memory_kind returns.
const char *getMemoryProviderName();

} // namespace smxrt

#endif // SMXRT_CORE_MEMORY_H
