//===- SafetensorsReadTest.cpp - Reading Python-written files ------------===//
//
// The files come from write_safetensors_fixtures.py, an independent writer,
// run by CTest as a fixture before this test.
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"

#include <cstring>
#include <filesystem>

using namespace smxrt_test;

namespace {

SafetensorsPtr openOrFail(const std::string &path) {
  smxrt_safetensors_t *file = nullptr;
  StatusPtr status(smxrt_safetensors_open(path.c_str(), &file));
  EXPECT_EQ(status, nullptr) << smxrt_status_message(status.get());
  return SafetensorsPtr(file);
}

std::vector<uint8_t> tensorBytes(const smxrt_tensor_t *tensor) {
  const auto *data =
      static_cast<const uint8_t *>(smxrt_tensor_const_data(tensor));
  return std::vector<uint8_t>(data, data + smxrt_tensor_byte_size(tensor));
}

TEST(SafetensorsRead, GoodFileHasEveryTensorWithExactValues) {
  SafetensorsPtr file = openOrFail(fixturePath("good"));
  ASSERT_TRUE(file);
  std::vector<ExpectedTensor> expected = expectedTensors();
  ASSERT_EQ(smxrt_safetensors_tensor_count(file.get()), expected.size());

  std::vector<std::string> names;
  for (size_t index = 0; index < expected.size(); ++index)
    names.push_back(smxrt_safetensors_tensor_name(file.get(), index));
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(smxrt_safetensors_tensor_name(file.get(), expected.size()),
            nullptr);

  for (const ExpectedTensor &tensor : expected) {
    SCOPED_TRACE(tensor.name);
    smxrt_dtype_t dtype = SMXRT_DTYPE_INVALID;
    size_t rank = 99;
    const int64_t *shape = nullptr;
    ASSERT_OK(smxrt_safetensors_tensor_info(file.get(), tensor.name.c_str(),
                                            &dtype, &rank, &shape));
    EXPECT_EQ(dtype, tensor.dtype);
    ASSERT_EQ(rank, tensor.shape.size());
    EXPECT_EQ(std::vector<int64_t>(shape, shape + rank), tensor.shape);

    smxrt_tensor_t *rawTensor = nullptr;
    ASSERT_OK(smxrt_safetensors_read_tensor(file.get(), tensor.name.c_str(),
                                            &rawTensor));
    TensorPtr read(rawTensor);
    EXPECT_EQ(smxrt_tensor_dtype(read.get()), tensor.dtype);
    EXPECT_EQ(tensorBytes(read.get()), tensor.bytes);
  }
}

TEST(SafetensorsRead, DecodesKnownFloatValues) {
  SafetensorsPtr file = openOrFail(fixturePath("good"));
  ASSERT_TRUE(file);
  smxrt_tensor_t *rawTensor = nullptr;
  ASSERT_OK(
      smxrt_safetensors_read_tensor(file.get(), "encoder.0.bf16", &rawTensor));
  TensorPtr bf16(rawTensor);
  // bfloat16 is the top half of a float32.
  const auto *bits =
      static_cast<const uint16_t *>(smxrt_tensor_data(bf16.get()));
  std::vector<float> values;
  for (int index = 0; index < 4; ++index) {
    uint32_t widened = static_cast<uint32_t>(bits[index]) << 16;
    float value;
    std::memcpy(&value, &widened, sizeof(value));
    values.push_back(value);
  }
  EXPECT_EQ(values, (std::vector<float>{1.0f, -3.0f, 3.140625f, 0.0f}));

  ASSERT_OK(
      smxrt_safetensors_read_tensor(file.get(), "encoder.0.w", &rawTensor));
  TensorPtr f32(rawTensor);
  const auto *floats = static_cast<const float *>(smxrt_tensor_data(f32.get()));
  EXPECT_EQ(floats[2], -2.5f);
  EXPECT_EQ(floats[5], -0.125f);
}

TEST(SafetensorsRead, ScalarAndEmptyTensors) {
  SafetensorsPtr file = openOrFail(fixturePath("good"));
  ASSERT_TRUE(file);
  smxrt_tensor_t *rawTensor = nullptr;
  ASSERT_OK(smxrt_safetensors_read_tensor(file.get(), "scalar", &rawTensor));
  TensorPtr scalar(rawTensor);
  EXPECT_EQ(smxrt_tensor_rank(scalar.get()), 0u);
  EXPECT_EQ(smxrt_tensor_element_count(scalar.get()), 1);
  EXPECT_EQ(*static_cast<const float *>(smxrt_tensor_data(scalar.get())),
            42.5f);

  ASSERT_OK(smxrt_safetensors_read_tensor(file.get(), "empty", &rawTensor));
  TensorPtr empty(rawTensor);
  EXPECT_EQ(smxrt_tensor_element_count(empty.get()), 0);
  EXPECT_EQ(smxrt_tensor_byte_size(empty.get()), 0u);
  EXPECT_NE(smxrt_tensor_data(empty.get()), nullptr);
}

TEST(SafetensorsRead, MetadataWithEscapedUnicode) {
  SafetensorsPtr file = openOrFail(fixturePath("good"));
  ASSERT_TRUE(file);
  auto expected = expectedMetadata();
  ASSERT_EQ(smxrt_safetensors_metadata_count(file.get()), expected.size());
  for (size_t index = 0; index < expected.size(); ++index) {
    EXPECT_STREQ(smxrt_safetensors_metadata_key(file.get(), index),
                 expected[index].first.c_str());
    EXPECT_STREQ(smxrt_safetensors_metadata_value(
                     file.get(), expected[index].first.c_str()),
                 expected[index].second.c_str());
  }
  EXPECT_EQ(smxrt_safetensors_metadata_key(file.get(), expected.size()),
            nullptr);
  EXPECT_EQ(smxrt_safetensors_metadata_value(file.get(), "absent"), nullptr);
}

TEST(SafetensorsRead, FilesWithoutTensorsOrPadding) {
  SafetensorsPtr empty = openOrFail(fixturePath("no_tensors"));
  ASSERT_TRUE(empty);
  EXPECT_EQ(smxrt_safetensors_tensor_count(empty.get()), 0u);
  EXPECT_EQ(smxrt_safetensors_metadata_count(empty.get()), 0u);

  SafetensorsPtr metadataOnly = openOrFail(fixturePath("metadata_only"));
  ASSERT_TRUE(metadataOnly);
  EXPECT_STREQ(smxrt_safetensors_metadata_value(metadataOnly.get(), "k"), "v");

  SafetensorsPtr unpadded = openOrFail(fixturePath("unpadded_header"));
  ASSERT_TRUE(unpadded);
  int32_t value = 0;
  EXPECT_OK(
      smxrt_safetensors_read_data(unpadded.get(), "x", &value, sizeof(value)));
  EXPECT_EQ(value, 7);
}

TEST(SafetensorsRead, ReadIntoChecksDtypeAndShape) {
  SafetensorsPtr file = openOrFail(fixturePath("good"));
  ASSERT_TRUE(file);
  int64_t matching[] = {2, 3};
  smxrt_tensor_t *rawTensor = nullptr;
  ASSERT_OK(smxrt_tensor_create(SMXRT_DTYPE_F32, 2, matching, &rawTensor));
  TensorPtr destination(rawTensor);
  EXPECT_OK(smxrt_safetensors_read_tensor_into(file.get(), "encoder.0.w",
                                               destination.get()));
  EXPECT_EQ(tensorBytes(destination.get()), expectedTensors()[0].bytes);

  int64_t transposed[] = {3, 2};
  ASSERT_OK(smxrt_tensor_create(SMXRT_DTYPE_F32, 2, transposed, &rawTensor));
  TensorPtr wrongShape(rawTensor);
  StatusPtr status(smxrt_safetensors_read_tensor_into(file.get(), "encoder.0.w",
                                                      wrongShape.get()));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(smxrt_status_message(status.get()),
                  "tensor 'encoder.0.w' is F32 [2, 3], but the "
                  "destination is F32 [3, 2]");

  char small[4];
  status.reset(smxrt_safetensors_read_data(file.get(), "encoder.0.w", small,
                                           sizeof(small)));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(smxrt_status_message(status.get()),
                  "holds 24 bytes, but the destination has 4");
}

TEST(SafetensorsRead, UnknownTensorIsNotFound) {
  std::string path = fixturePath("good");
  SafetensorsPtr file = openOrFail(path);
  ASSERT_TRUE(file);
  smxrt_tensor_t *tensor = nullptr;
  StatusPtr status(smxrt_safetensors_read_tensor(file.get(), "nope", &tensor));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_NOT_FOUND);
  EXPECT_EQ(smxrt_status_message(status.get()),
            path + ": no tensor named 'nope'");
  EXPECT_EQ(tensor, nullptr);
}

TEST(SafetensorsRead, MissingFileAndDirectory) {
  smxrt_safetensors_t *file = nullptr;
  std::string missing = fixturesDirectory() + "/missing.safetensors";
  StatusPtr status(smxrt_safetensors_open(missing.c_str(), &file));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_NOT_FOUND);
  EXPECT_EQ(smxrt_status_message(status.get()),
            missing + ": cannot open: No such file or directory");

  status.reset(smxrt_safetensors_open(fixturesDirectory().c_str(), &file));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(smxrt_status_message(status.get()), "is not a regular file");
  EXPECT_EQ(file, nullptr);
}

TEST(SafetensorsRead, FileTruncatedAfterOpeningIsDataLoss) {
  ScratchDirectory scratch;
  std::string path = scratch.file("shrinking.safetensors");
  std::filesystem::copy_file(fixturePath("good"), path);
  SafetensorsPtr file = openOrFail(path);
  ASSERT_TRUE(file);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 10);
  smxrt_tensor_t *tensor = nullptr;
  StatusPtr status(
      smxrt_safetensors_read_tensor(file.get(), "encoder.0.w", &tensor));
  EXPECT_EQ(smxrt_status_code(status.get()), SMXRT_STATUS_DATA_LOSS);
  EXPECT_STARTS_WITH(smxrt_status_message(status.get()), path + ": ");
  EXPECT_CONTAINS(smxrt_status_message(status.get()),
                  "was it truncated while open?");
  EXPECT_EQ(tensor, nullptr);
}

//===----------------------------------------------------------------------===//
// Corrupt files: each is rejected at open with the path and the problem.
//===----------------------------------------------------------------------===//

struct BadFile {
  const char *name;
  smxrt_status_code_t code;
  const char *problem;
};

std::ostream &operator<<(std::ostream &stream, const BadFile &badFile) {
  return stream << badFile.name;
}

class SafetensorsBadFile : public ::testing::TestWithParam<BadFile> {};

TEST_P(SafetensorsBadFile, IsRejectedWithPathAndProblem) {
  const BadFile &badFile = GetParam();
  std::string path = fixturePath(badFile.name);
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  smxrt_safetensors_t *file = nullptr;
  StatusPtr status(smxrt_safetensors_open(path.c_str(), &file));
  EXPECT_EQ(file, nullptr);
  smxrt_safetensors_close(file);
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(smxrt_status_code_name(smxrt_status_code(status.get())),
            std::string(smxrt_status_code_name(badFile.code)));
  EXPECT_STARTS_WITH(smxrt_status_message(status.get()), path + ": ");
  EXPECT_CONTAINS(smxrt_status_message(status.get()), badFile.problem);
}

constexpr smxrt_status_code_t dataLoss = SMXRT_STATUS_DATA_LOSS;

INSTANTIATE_TEST_SUITE_P(
    Fixtures, SafetensorsBadFile,
    ::testing::Values(
        BadFile{"too_short", dataLoss,
                "the file is 3 bytes, too short for the 8-byte header "
                "length (truncated file?)"},
        BadFile{"header_truncated", dataLoss,
                "the header length 200 exceeds the 21 bytes that follow it "
                "(truncated file?)"},
        BadFile{"header_length_absurd", dataLoss,
                "the header length 1099511627776 exceeds the limit of "
                "100000000 bytes"},
        BadFile{"bad_json", dataLoss,
                "invalid JSON header at byte 36: expected ',' or '}' after "
                "an object member"},
        BadFile{"bad_json_unterminated", dataLoss,
                "invalid JSON header at byte 16: unterminated string"},
        BadFile{"empty_header", dataLoss,
                "invalid JSON header at byte 0: unexpected end of input"},
        BadFile{"deep_nesting", dataLoss, "nesting deeper than 512 levels"},
        BadFile{"header_not_object", dataLoss,
                "the header is an array, not a JSON object"},
        BadFile{"entry_not_object", dataLoss,
                "tensor 'a': the entry is an integer, not a JSON object"},
        BadFile{"missing_dtype", dataLoss, "tensor 'a': missing 'dtype'"},
        BadFile{"missing_data_offsets", dataLoss,
                "tensor 'a': missing 'data_offsets'"},
        BadFile{"dtype_not_string", dataLoss,
                "tensor 'a': 'dtype' is an integer, not a string"},
        BadFile{"shape_not_array", dataLoss,
                "tensor 'a': 'shape' is a string, not an array of integers"},
        BadFile{"shape_not_integers", dataLoss,
                "tensor 'a': 'shape' must be an array of integers, but "
                "element 1 is a non-integer number"},
        BadFile{"offsets_wrong_arity", dataLoss,
                "tensor 'a': 'data_offsets' is [0], not two non-negative "
                "integers [begin, end]"},
        BadFile{"offsets_negative", dataLoss,
                "tensor 'a': 'data_offsets' is [-4, 12], not two "
                "non-negative integers"},
        BadFile{"unknown_dtype", SMXRT_STATUS_UNIMPLEMENTED,
                "tensor 'a': unsupported dtype 'Q4'"},
        BadFile{"negative_dim", dataLoss,
                "tensor 'a': negative dimension -2 in shape [-2, 2]"},
        BadFile{"shape_overflow", dataLoss,
                "tensor 'a': shape [4611686018427387904, 4611686018427387904] "
                "of F32 is too large"},
        BadFile{"offsets_out_of_range", dataLoss,
                "tensor 'encoder.0.w': data_offsets [0, 100] exceed the data "
                "size 64 (truncated file?)"},
        BadFile{"truncated_blob", dataLoss,
                "tensor 'encoder.0.w': data_offsets [73, 97] exceed the data "
                "size 87 (truncated file?)"},
        BadFile{"begin_after_end", dataLoss,
                "tensor 'a': data_offsets [8, 4] are reversed (begin > end)"},
        BadFile{"size_mismatch", dataLoss,
                "tensor 'a': data_offsets [0, 12] hold 12 bytes, but shape "
                "[2] of F32 needs 8"},
        BadFile{"overlapping", dataLoss,
                "tensors 'a' (data_offsets [0, 16]) and 'b' (data_offsets "
                "[8, 24]) overlap"},
        BadFile{"duplicate_key", dataLoss, "duplicate key \"a\""},
        BadFile{"metadata_not_object", dataLoss,
                "'__metadata__' is an array, not an object of strings"},
        BadFile{"non_string_metadata", dataLoss,
                "'__metadata__': the value of 'step' is an integer, not a "
                "string"}),
    [](const ::testing::TestParamInfo<BadFile> &info) {
      return std::string(info.param.name);
    });

} // namespace
