//===- TensorTest.cpp - Element types and host tensors -------------------===//

#include "TestSupport.h"

using namespace smxrt_test;

namespace {

TEST(Dtype, SizesAndSafetensorsNames) {
  struct Case {
    smxrt_dtype_t dtype;
    size_t size;
    const char *name;
  };
  const Case cases[] = {
      {SMXRT_DTYPE_F32, 4, "F32"},   {SMXRT_DTYPE_BF16, 2, "BF16"},
      {SMXRT_DTYPE_F16, 2, "F16"},   {SMXRT_DTYPE_I32, 4, "I32"},
      {SMXRT_DTYPE_I64, 8, "I64"},   {SMXRT_DTYPE_F64, 8, "F64"},
      {SMXRT_DTYPE_I8, 1, "I8"},     {SMXRT_DTYPE_U8, 1, "U8"},
      {SMXRT_DTYPE_BOOL, 1, "BOOL"},
  };
  for (const Case &entry : cases) {
    SCOPED_TRACE(entry.name);
    EXPECT_EQ(smxrt_dtype_size(entry.dtype), entry.size);
    EXPECT_STREQ(smxrt_dtype_name(entry.dtype), entry.name);
    EXPECT_EQ(smxrt_dtype_from_name(entry.name), entry.dtype);
  }
}

TEST(Dtype, InvalidValuesAndNames) {
  EXPECT_EQ(smxrt_dtype_size(SMXRT_DTYPE_INVALID), 0u);
  EXPECT_EQ(smxrt_dtype_size(static_cast<smxrt_dtype_t>(1000)), 0u);
  EXPECT_STREQ(smxrt_dtype_name(static_cast<smxrt_dtype_t>(-3)), "INVALID");
  EXPECT_EQ(smxrt_dtype_from_name("f32"), SMXRT_DTYPE_INVALID);
  EXPECT_EQ(smxrt_dtype_from_name("INVALID"), SMXRT_DTYPE_INVALID);
  EXPECT_EQ(smxrt_dtype_from_name(""), SMXRT_DTYPE_INVALID);
  EXPECT_EQ(smxrt_dtype_from_name(nullptr), SMXRT_DTYPE_INVALID);
}

TEST(Tensor, CreateOwnsAlignedZeroedBuffer) {
  int64_t shape[] = {2, 3};
  smxrt_tensor_t *rawTensor = nullptr;
  ASSERT_OK(smxrt_tensor_create(SMXRT_DTYPE_F32, 2, shape, &rawTensor));
  TensorPtr tensor(rawTensor);
  EXPECT_EQ(smxrt_tensor_dtype(tensor.get()), SMXRT_DTYPE_F32);
  ASSERT_EQ(smxrt_tensor_rank(tensor.get()), 2u);
  EXPECT_EQ(smxrt_tensor_shape(tensor.get())[0], 2);
  EXPECT_EQ(smxrt_tensor_shape(tensor.get())[1], 3);
  EXPECT_EQ(smxrt_tensor_element_count(tensor.get()), 6);
  EXPECT_EQ(smxrt_tensor_byte_size(tensor.get()), 24u);
  auto *data = static_cast<float *>(smxrt_tensor_data(tensor.get()));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(data) % SMXRT_TENSOR_ALIGNMENT, 0u);
  for (int index = 0; index < 6; ++index)
    EXPECT_EQ(data[index], 0.0f);
  data[5] = 7.0f;
  EXPECT_EQ(
      static_cast<const float *>(smxrt_tensor_const_data(tensor.get()))[5],
      7.0f);
}

TEST(Tensor, ScalarAndEmpty) {
  smxrt_tensor_t *rawTensor = nullptr;
  ASSERT_OK(smxrt_tensor_create(SMXRT_DTYPE_I64, 0, nullptr, &rawTensor));
  TensorPtr scalar(rawTensor);
  EXPECT_EQ(smxrt_tensor_rank(scalar.get()), 0u);
  EXPECT_EQ(smxrt_tensor_element_count(scalar.get()), 1);
  EXPECT_EQ(smxrt_tensor_byte_size(scalar.get()), 8u);

  int64_t emptyShape[] = {0, 4};
  ASSERT_OK(smxrt_tensor_create(SMXRT_DTYPE_BF16, 2, emptyShape, &rawTensor));
  TensorPtr empty(rawTensor);
  EXPECT_EQ(smxrt_tensor_element_count(empty.get()), 0);
  EXPECT_EQ(smxrt_tensor_byte_size(empty.get()), 0u);
  void *data = smxrt_tensor_data(empty.get());
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(data) % SMXRT_TENSOR_ALIGNMENT, 0u);
}

TEST(Tensor, MaximumRank) {
  int64_t shape[SMXRT_MAX_RANK + 1] = {1, 2, 1, 2, 1, 2, 1, 2, 1};
  smxrt_tensor_t *rawTensor = nullptr;
  ASSERT_OK(
      smxrt_tensor_create(SMXRT_DTYPE_U8, SMXRT_MAX_RANK, shape, &rawTensor));
  TensorPtr tensor(rawTensor);
  EXPECT_EQ(smxrt_tensor_element_count(tensor.get()), 16);

  StatusPtr status(smxrt_tensor_create(SMXRT_DTYPE_U8, SMXRT_MAX_RANK + 1,
                                       shape, &rawTensor));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_STREQ(smxrt_status_message(status.get()),
               "rank 9 exceeds the maximum rank 8");
  EXPECT_EQ(rawTensor, nullptr);
}

TEST(Tensor, RejectsBadArguments) {
  int64_t negative[] = {2, -1};
  smxrt_tensor_t *rawTensor = nullptr;
  StatusPtr status(
      smxrt_tensor_create(SMXRT_DTYPE_F32, 2, negative, &rawTensor));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_STREQ(smxrt_status_message(status.get()),
               "negative dimension -1 in shape [2, -1]");

  int64_t shape[] = {2};
  status.reset(smxrt_tensor_create(SMXRT_DTYPE_INVALID, 1, shape, &rawTensor));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_STREQ(smxrt_status_message(status.get()), "invalid dtype 0");

  status.reset(smxrt_tensor_create(SMXRT_DTYPE_F32, 1, nullptr, &rawTensor));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  status.reset(smxrt_tensor_create(SMXRT_DTYPE_F32, 1, shape, nullptr));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
}

TEST(Tensor, ByteSizeOverflowIsAnError) {
  int64_t elementsOverflow[] = {int64_t(1) << 62, int64_t(1) << 62};
  int64_t bytesOverflow[] = {int64_t(1) << 61, 2}; // 2^62 elements * 4 bytes.
  int64_t hiddenByZero[] = {0, int64_t(1) << 62, int64_t(1) << 62};
  for (const int64_t *shape : {elementsOverflow, bytesOverflow, hiddenByZero}) {
    size_t rank = shape == hiddenByZero ? 3 : 2;
    smxrt_tensor_t *rawTensor = nullptr;
    StatusPtr status(
        smxrt_tensor_create(SMXRT_DTYPE_F32, rank, shape, &rawTensor));
    EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_RESOURCE_EXHAUSTED);
    EXPECT_CONTAINS(smxrt_status_message(status.get()),
                    "is too large: its byte size does not fit in 64 "
                    "bits");
    EXPECT_EQ(rawTensor, nullptr);
  }
}

TEST(Tensor, ShapeByteSize) {
  int64_t shape[] = {3, 5};
  int64_t elementCount = 0;
  size_t byteSize = 0;
  ASSERT_OK(smxrt_shape_byte_size(SMXRT_DTYPE_I64, 2, shape, &elementCount,
                                  &byteSize));
  EXPECT_EQ(elementCount, 15);
  EXPECT_EQ(byteSize, 120u);

  // The largest size that fits: 2^62 - 1 elements of 2 bytes.
  int64_t largest[] = {(int64_t(1) << 62) - 1};
  ASSERT_OK(smxrt_shape_byte_size(SMXRT_DTYPE_F16, 1, largest, &elementCount,
                                  &byteSize));
  EXPECT_EQ(byteSize, (size_t(1) << 63) - 2);
  int64_t tooLarge[] = {int64_t(1) << 62};
  StatusPtr status(
      smxrt_shape_byte_size(SMXRT_DTYPE_F16, 1, tooLarge, nullptr, nullptr));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_RESOURCE_EXHAUSTED);
}

TEST(Tensor, AllocationFailureIsAnError) {
  // 2^60 bytes: a valid size that no machine can allocate.
  int64_t shape[] = {int64_t(1) << 40, int64_t(1) << 20};
  smxrt_tensor_t *rawTensor = nullptr;
  StatusPtr status(smxrt_tensor_create(SMXRT_DTYPE_U8, 2, shape, &rawTensor));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_RESOURCE_EXHAUSTED);
  EXPECT_CONTAINS(smxrt_status_message(status.get()),
                  "out of memory allocating 1152921504606846976 bytes "
                  "for a U8 tensor of shape [1099511627776, 1048576]");
  EXPECT_EQ(rawTensor, nullptr);
}

TEST(Tensor, FreeNullIsNoOp) { smxrt_tensor_free(nullptr); }

} // namespace
