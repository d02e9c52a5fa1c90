//===- buffer_cache.cpp - the heap of compiled code -----------------------===//
//
// Compiled models keep their static intermediates in the arena the
// application passes to each entry point (smx-plan-memory, docs/abi.md).
// What they still allocate themselves (buffers inside loops or of dynamic
// size, arenas of functions that are not entry points) comes from
// `_mlir_memref_to_llvm_alloc` / `_mlir_memref_to_llvm_aligned_alloc` and
// goes back through `_mlir_memref_to_llvm_free` (finalize-memref-to-llvm
// with use-generic-functions). Through plain malloc each large one is a
// fresh mmap whose pages the kernel zeroes on first touch (glibc never
// serves blocks of 32 MiB or more from its heap). This cache keeps released
// large blocks by size and hands them out again, so every call after the
// first runs on warm memory.
//
// Blocks come from the runtime's memory provider (src/core/memory.h): the C
// heap, or CUDA managed memory once a GPU is open.
//
// Policy: blocks below kLargeBlock go straight to the provider. Large sizes are
// rounded up to kGranule and matched exactly, so the cache never holds more
// blocks of one size than were live at once: its bytes are bounded by the
// sum, over the sizes the model allocates, of each size's peak use, which
// for a model's repeating layers is a small multiple of the peak live bytes.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/memref_abi.h"

#include "memory.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>

namespace {

constexpr size_t kLargeBlock = size_t(1) << 20;
constexpr size_t kGranule = size_t(64) << 10;
constexpr size_t kAlignment = smxrt::kBufferAlignment;

size_t roundUp(size_t size, size_t multiple) {
  return (size + multiple - 1) / multiple * multiple;
}

class BufferCache {
public:
  /// A block of `size` bytes aligned to `alignment` (at most kAlignment).
  void *allocate(size_t size, size_t alignment) {
    (void)alignment; // At most kAlignment, which every buffer has.
    if (size < kLargeBlock)
      return smxrt::allocateBuffer(size);
    size_t rounded = roundUp(size, kGranule);
    std::lock_guard<std::mutex> lock(mutex);
    void *block = nullptr;
    auto cached = free.find(rounded);
    if (cached != free.end()) {
      block = cached->second;
      free.erase(cached);
    } else {
      block = smxrt::allocateBuffer(rounded);
      if (!block)
        return nullptr;
    }
    live.emplace(block, rounded);
    return block;
  }

  /// A block aligned more strictly than the provider's: a larger block,
  /// remembered by the aligned address it returns.
  void *allocateOverAligned(size_t size, size_t alignment) {
    char *base = static_cast<char *>(smxrt::allocateBuffer(size + alignment));
    if (!base)
      return nullptr;
    auto address = reinterpret_cast<uintptr_t>(base);
    void *block = reinterpret_cast<void *>(roundUp(address + 1, alignment));
    std::lock_guard<std::mutex> lock(mutex);
    overAligned.emplace(block, base);
    return block;
  }

  void release(void *block) {
    if (!block)
      return;
    std::unique_lock<std::mutex> lock(mutex);
    auto overAlignedBlock = overAligned.find(block);
    if (overAlignedBlock != overAligned.end()) {
      void *base = overAlignedBlock->second;
      overAligned.erase(overAlignedBlock);
      lock.unlock();
      smxrt::releaseBuffer(base);
      return;
    }
    auto found = live.find(block);
    if (found == live.end()) {
      lock.unlock();
      smxrt::releaseBuffer(block);
      return;
    }
    free.emplace(found->second, block);
    live.erase(found);
  }

private:
  std::mutex mutex;
  std::unordered_map<void *, size_t> live;
  std::unordered_map<void *, void *> overAligned;
  std::multimap<size_t, void *> free;
};

BufferCache &bufferCache() {
  // Never destroyed: compiled code may release buffers from static
  // destructors of other libraries after this one's would have run.
  static BufferCache *cache = new BufferCache();
  return *cache;
}

} // namespace

extern "C" void *_mlir_memref_to_llvm_alloc(size_t size) {
  return bufferCache().allocate(size, alignof(std::max_align_t));
}

extern "C" void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment,
                                                    size_t size) {
  if (alignment <= kAlignment)
    return bufferCache().allocate(size, alignment);
  return bufferCache().allocateOverAligned(size, alignment);
}

extern "C" void _mlir_memref_to_llvm_free(void *block) {
  bufferCache().release(block);
}
