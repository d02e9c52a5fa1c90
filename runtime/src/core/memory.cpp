//===- memory.cpp - where the runtime's buffers live ----------------------===//

#include "memory.h"

#include <atomic>
#include <cstdlib>
#include <mutex>

namespace smxrt {

namespace {

void *allocateHost(size_t bytes) {
  return std::aligned_alloc(kBufferAlignment,
                            (bytes + kBufferAlignment - 1) /
                                kBufferAlignment * kBufferAlignment);
}

constexpr MemoryProvider kHostProvider{"host", allocateHost, std::free};

std::mutex providerMutex;
MemoryProvider currentProvider = kHostProvider;
std::atomic<long long> liveBuffers{0};

} // namespace

void *allocateBuffer(size_t bytes) {
  void *block = currentProvider.allocate(bytes == 0 ? kBufferAlignment : bytes);
  if (block)
    liveBuffers.fetch_add(1, std::memory_order_relaxed);
  return block;
}

void releaseBuffer(void *block) {
  if (!block)
    return;
  liveBuffers.fetch_sub(1, std::memory_order_relaxed);
  currentProvider.release(block);
}

bool setMemoryProvider(const MemoryProvider &provider) {
  std::lock_guard<std::mutex> lock(providerMutex);
  if (liveBuffers.load() != 0)
    return false;
  currentProvider = provider;
  return true;
}

const char *getMemoryProviderName() { return currentProvider.name; }

} // namespace smxrt
