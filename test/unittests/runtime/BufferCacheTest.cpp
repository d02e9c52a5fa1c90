//===- BufferCacheTest.cpp - the heap of compiled code --------------------===//

#include "smx_runtime/memref_abi.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace {

bool isAligned(void *pointer, uintptr_t alignment) {
  return reinterpret_cast<uintptr_t>(pointer) % alignment == 0;
}

TEST(BufferCache, ReusesAReleasedLargeBlockOfTheSameSize) {
  const size_t size = size_t(32) << 20;
  void *first = _mlir_memref_to_llvm_alloc(size);
  ASSERT_NE(first, nullptr);
  std::memset(first, 1, size);
  _mlir_memref_to_llvm_free(first);
  void *second = _mlir_memref_to_llvm_alloc(size);
  EXPECT_EQ(second, first);
  _mlir_memref_to_llvm_free(second);
}

TEST(BufferCache, KeepsLiveBlocksApart) {
  const size_t size = size_t(3) << 20;
  void *first = _mlir_memref_to_llvm_alloc(size);
  void *second = _mlir_memref_to_llvm_alloc(size);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first, second);
  // Both are fully writable at once.
  std::memset(first, 0xA5, size);
  std::memset(second, 0x5A, size);
  EXPECT_EQ(static_cast<unsigned char *>(first)[size - 1], 0xA5);
  _mlir_memref_to_llvm_free(first);
  _mlir_memref_to_llvm_free(second);
}

TEST(BufferCache, DoesNotHandOutASmallerBlock) {
  void *small = _mlir_memref_to_llvm_alloc(size_t(2) << 20);
  _mlir_memref_to_llvm_free(small);
  const size_t size = size_t(5) << 20;
  void *large = _mlir_memref_to_llvm_alloc(size);
  ASSERT_NE(large, nullptr);
  EXPECT_NE(large, small);
  std::memset(large, 0, size);
  _mlir_memref_to_llvm_free(large);
}

TEST(BufferCache, HonoursAlignment) {
  for (size_t size : {size_t(100), size_t(4) << 20}) {
    for (size_t alignment : {size_t(16), size_t(64), size_t(4096)}) {
      void *block = _mlir_memref_to_llvm_aligned_alloc(alignment, size);
      ASSERT_NE(block, nullptr);
      EXPECT_TRUE(isAligned(block, alignment))
          << "size " << size << ", alignment " << alignment;
      std::memset(block, 0, size);
      _mlir_memref_to_llvm_free(block);
    }
  }
}

TEST(BufferCache, ReleasingNullIsANoOp) { _mlir_memref_to_llvm_free(nullptr); }

} // namespace
