//===- memory.cpp - where the runtime's buffers live ----------------------===//

#include "memory.h"

#include "smx_runtime/memory.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

namespace smxrt {

namespace {

void *allocateHost(size_t bytes) {
  return std::aligned_alloc(kBufferAlignment, (bytes + kBufferAlignment - 1) /
                                                  kBufferAlignment *
                                                  kBufferAlignment);
}

void releaseHost(void *block, size_t) { std::free(block); }

constexpr MemoryProvider kHostProvider{"host", allocateHost, releaseHost};

/// The provider and what it holds: each live block's size, their sum and
/// its peak.
struct Buffers {
  std::mutex mutex;
  MemoryProvider provider = kHostProvider;
  std::unordered_map<void *, size_t> sizes;
  int64_t liveBytes = 0;
  int64_t peakBytes = 0;
};

Buffers &buffers() {
  // Never destroyed: buffers may be released from static destructors.
  static Buffers *state = new Buffers();
  return *state;
}

} // namespace

void *allocateBuffer(size_t bytes) {
  Buffers &state = buffers();
  bytes = std::max(bytes, kBufferAlignment);
  void *block = state.provider.allocate(bytes);
  if (!block)
    return nullptr;
  std::lock_guard<std::mutex> lock(state.mutex);
  state.sizes.emplace(block, bytes);
  state.liveBytes += static_cast<int64_t>(bytes);
  state.peakBytes = std::max(state.peakBytes, state.liveBytes);
  return block;
}

void releaseBuffer(void *block) {
  if (!block)
    return;
  Buffers &state = buffers();
  size_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    auto found = state.sizes.find(block);
    if (found != state.sizes.end()) {
      bytes = found->second;
      state.liveBytes -= static_cast<int64_t>(bytes);
      state.sizes.erase(found);
    }
  }
  state.provider.release(block, bytes);
}

bool setMemoryProvider(const MemoryProvider &provider) {
  Buffers &state = buffers();
  std::lock_guard<std::mutex> lock(state.mutex);
  if (!state.sizes.empty())
    return false;
  state.provider = provider;
  return true;
}

const char *getMemoryProviderName() { return buffers().provider.name; }

} // namespace smxrt

extern "C" int64_t smxrt_memory_live_bytes(void) {
  smxrt::Buffers &state = smxrt::buffers();
  std::lock_guard<std::mutex> lock(state.mutex);
  return state.liveBytes;
}

extern "C" int64_t smxrt_memory_peak_bytes(void) {
  smxrt::Buffers &state = smxrt::buffers();
  std::lock_guard<std::mutex> lock(state.mutex);
  return state.peakBytes;
}

extern "C" const char *smxrt_memory_kind(void) {
  return smxrt::getMemoryProviderName();
}
