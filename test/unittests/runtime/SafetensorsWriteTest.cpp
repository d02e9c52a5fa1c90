//===- SafetensorsWriteTest.cpp - Writing safetensors files --------------===//

#include "TestSupport.h"

#include <csignal>
#include <cstring>
#include <filesystem>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace smxrt_test;

namespace {

WriterPtr makeWriter() {
  smxrt_safetensors_writer_t *writer = nullptr;
  StatusPtr status(smxrt_safetensors_writer_create(&writer));
  EXPECT_EQ(status, nullptr);
  return WriterPtr(writer);
}

/// A writer holding the good fixture's tensors and metadata, borrowing from
/// `tensors`.
WriterPtr makeExpectedWriter(const std::vector<ExpectedTensor> &tensors) {
  WriterPtr writer = makeWriter();
  for (const ExpectedTensor &tensor : tensors)
    EXPECT_OK(smxrt_safetensors_writer_add_data(
        writer.get(), tensor.name.c_str(), tensor.dtype, tensor.shape.size(),
        tensor.shape.data(), tensor.bytes.data(), tensor.bytes.size()));
  for (const auto &[key, value] : expectedMetadata())
    EXPECT_OK(smxrt_safetensors_writer_add_metadata(writer.get(), key.c_str(),
                                                    value.c_str()));
  return writer;
}

smxrt_status_code_t codeOf(smxrt_status_t rawStatus, std::string *message) {
  StatusPtr status(rawStatus);
  if (message)
    *message = smxrt_status_message(status.get());
  return smxrt_status_code(status.get());
}

TEST(SafetensorsWrite, RoundTripsBitExactly) {
  ScratchDirectory scratch;
  std::string path = scratch.file("round_trip.safetensors");
  std::vector<ExpectedTensor> expected = expectedTensors();
  WriterPtr writer = makeExpectedWriter(expected);
  ASSERT_OK(smxrt_safetensors_writer_write(writer.get(), path.c_str()));
  EXPECT_EQ(scratch.list(),
            (std::vector<std::string>{"round_trip.safetensors"}));

  smxrt_safetensors_t *rawFile = nullptr;
  ASSERT_OK(smxrt_safetensors_open(path.c_str(), &rawFile));
  SafetensorsPtr file(rawFile);
  ASSERT_EQ(smxrt_safetensors_tensor_count(file.get()), expected.size());
  for (const ExpectedTensor &tensor : expected) {
    SCOPED_TRACE(tensor.name);
    smxrt_tensor_t *rawTensor = nullptr;
    ASSERT_OK(smxrt_safetensors_read_tensor(file.get(), tensor.name.c_str(),
                                            &rawTensor));
    TensorPtr read(rawTensor);
    EXPECT_EQ(smxrt_tensor_dtype(read.get()), tensor.dtype);
    const int64_t *shape = smxrt_tensor_shape(read.get());
    EXPECT_EQ(
        std::vector<int64_t>(shape, shape + smxrt_tensor_rank(read.get())),
        tensor.shape);
    const auto *data =
        static_cast<const uint8_t *>(smxrt_tensor_data(read.get()));
    EXPECT_EQ(
        std::vector<uint8_t>(data, data + smxrt_tensor_byte_size(read.get())),
        tensor.bytes);
  }
  for (const auto &[key, value] : expectedMetadata())
    EXPECT_STREQ(smxrt_safetensors_metadata_value(file.get(), key.c_str()),
                 value.c_str());
}

TEST(SafetensorsWrite, HeaderIsPaddedWithSpacesToEightBytes) {
  ScratchDirectory scratch;
  std::string path = scratch.file("padded.safetensors");
  WriterPtr writer = makeWriter();
  float value = 1.0f;
  int64_t shape[] = {1};
  ASSERT_OK(smxrt_safetensors_writer_add_data(
      writer.get(), "x", SMXRT_DTYPE_F32, 1, shape, &value, sizeof(value)));
  ASSERT_OK(smxrt_safetensors_writer_write(writer.get(), path.c_str()));
  std::string bytes = readFileBytes(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t headerLength = 0;
  std::memcpy(&headerLength, bytes.data(), sizeof(headerLength));
  std::string header = bytes.substr(8, headerLength);
  EXPECT_EQ(header.size() % 8, 0u);
  EXPECT_EQ(header.substr(0, header.find_last_not_of(' ') + 1),
            R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})");
  EXPECT_EQ(bytes.size(), 8 + headerLength + sizeof(value));
}

TEST(SafetensorsWrite, EmptyWriterWritesAnEmptyHeader) {
  ScratchDirectory scratch;
  std::string path = scratch.file("empty.safetensors");
  WriterPtr writer = makeWriter();
  ASSERT_OK(smxrt_safetensors_writer_write(writer.get(), path.c_str()));
  EXPECT_EQ(readFileBytes(path), std::string("\x08\0\0\0\0\0\0\0{}      ", 16));
}

TEST(SafetensorsWrite, OutputDoesNotDependOnInsertionOrder) {
  ScratchDirectory scratch;
  std::vector<ExpectedTensor> forward = expectedTensors();
  std::vector<ExpectedTensor> backward(forward.rbegin(), forward.rend());
  WriterPtr first = makeExpectedWriter(forward);
  WriterPtr second = makeExpectedWriter(backward);
  ASSERT_OK(
      smxrt_safetensors_writer_write(first.get(), scratch.file("a").c_str()));
  ASSERT_OK(
      smxrt_safetensors_writer_write(second.get(), scratch.file("b").c_str()));
  EXPECT_EQ(readFileBytes(scratch.file("a")), readFileBytes(scratch.file("b")));
}

// The other direction of the cross-check: an independent Python reader
// checks the file this runtime writes.
TEST(SafetensorsWrite, PythonReaderAcceptsOurFile) {
  ScratchDirectory scratch;
  std::string path = scratch.file("for_python.safetensors");
  std::vector<ExpectedTensor> expected = expectedTensors();
  WriterPtr writer = makeExpectedWriter(expected);
  ASSERT_OK(smxrt_safetensors_writer_write(writer.get(), path.c_str()));
  std::string command = std::string("'") + SMXRT_TEST_PYTHON + "' '" +
                        SMXRT_TEST_SCRIPTS_DIR +
                        "/check_safetensors_file.py' '" + path + "'";
  int result = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(result)) << command;
  EXPECT_EQ(WEXITSTATUS(result), 0) << command;
}

TEST(SafetensorsWrite, RejectsBadTensorsWhenAdded) {
  WriterPtr writer = makeWriter();
  int64_t shape[] = {2};
  float data[2] = {1.0f, 2.0f};
  std::string message;
  ASSERT_OK(smxrt_safetensors_writer_add_data(
      writer.get(), "x", SMXRT_DTYPE_F32, 1, shape, data, sizeof(data)));

  EXPECT_EQ(codeOf(smxrt_safetensors_writer_add_data(writer.get(), "x",
                                                     SMXRT_DTYPE_F32, 1, shape,
                                                     data, sizeof(data)),
                   &message),
            SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(message, "tensor 'x': a tensor of this name was already added");

  EXPECT_EQ(codeOf(smxrt_safetensors_writer_add_data(
                       writer.get(), "__metadata__", SMXRT_DTYPE_F32, 1, shape,
                       data, sizeof(data)),
                   &message),
            SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(message, "reserved");

  EXPECT_EQ(codeOf(smxrt_safetensors_writer_add_data(writer.get(), "null",
                                                     SMXRT_DTYPE_F32, 1, shape,
                                                     nullptr, sizeof(data)),
                   &message),
            SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(message, "tensor 'null': data is NULL");

  EXPECT_EQ(codeOf(smxrt_safetensors_writer_add_data(writer.get(), "short",
                                                     SMXRT_DTYPE_F32, 1, shape,
                                                     data, 4),
                   &message),
            SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(message,
            "tensor 'short': 4 bytes of data, but shape [2] of F32 needs 8");

  int64_t negative[] = {-1};
  EXPECT_EQ(codeOf(smxrt_safetensors_writer_add_data(writer.get(), "negative",
                                                     SMXRT_DTYPE_F32, 1,
                                                     negative, data, 0),
                   &message),
            SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(message, "tensor 'negative': negative dimension -1 in shape [-1]");

  EXPECT_EQ(
      codeOf(smxrt_safetensors_writer_add_tensor(writer.get(), "t", nullptr),
             &message),
      SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(codeOf(smxrt_safetensors_writer_add_data(writer.get(), "\xFF",
                                                     SMXRT_DTYPE_F32, 1, shape,
                                                     data, sizeof(data)),
                   &message),
            SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_CONTAINS(message, "not valid UTF-8");

  ASSERT_OK(smxrt_safetensors_writer_add_metadata(writer.get(), "k", "v"));
  EXPECT_EQ(
      codeOf(smxrt_safetensors_writer_add_metadata(writer.get(), "k", "w"),
             &message),
      SMXRT_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(message, "metadata key 'k' was already added");
}

//===----------------------------------------------------------------------===//
// Atomicity: a failed write never damages the existing file.
//===----------------------------------------------------------------------===//

class SafetensorsAtomicWrite : public ::testing::Test {
protected:
  void SetUp() override {
    target = scratch.file("weights.safetensors");
    WriterPtr writer = makeExpectedWriter(expected);
    ASSERT_OK(smxrt_safetensors_writer_write(writer.get(), target.c_str()));
    original = readFileBytes(target);
    ASSERT_FALSE(original.empty());
  }

  void expectTargetIntactAndNoTemporaryFile() {
    EXPECT_EQ(readFileBytes(target), original);
    EXPECT_EQ(scratch.list(),
              (std::vector<std::string>{"weights.safetensors"}));
  }

  ScratchDirectory scratch;
  std::vector<ExpectedTensor> expected = expectedTensors();
  std::string target;
  std::string original;
};

TEST_F(SafetensorsAtomicWrite, WriteErrorMidFileLeavesTargetIntact) {
  // A 1 MiB tensor against a 64 KiB file size limit makes write() fail with
  // EFBIG halfway through the temporary file.
  std::vector<uint8_t> big(1 << 20, 0xAB);
  int64_t shape[] = {1 << 20};
  WriterPtr writer = makeWriter();
  ASSERT_OK(smxrt_safetensors_writer_add_data(
      writer.get(), "big", SMXRT_DTYPE_U8, 1, shape, big.data(), big.size()));
  struct rlimit saved;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &saved), 0);
  struct rlimit limited = saved;
  limited.rlim_cur = 64 << 10;
  auto savedHandler = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  std::string message;
  smxrt_status_code_t code = codeOf(
      smxrt_safetensors_writer_write(writer.get(), target.c_str()), &message);
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, savedHandler);

  EXPECT_EQ(code, SMXRT_STATUS_IO_ERROR);
  EXPECT_EQ(message, target + ": write failed: File too large");
  expectTargetIntactAndNoTemporaryFile();
}

TEST_F(SafetensorsAtomicWrite, FailedRenameRemovesTemporaryFile) {
  // rename() cannot replace a directory with a file.
  std::string directory = scratch.file("directory.safetensors");
  ASSERT_TRUE(std::filesystem::create_directory(directory));
  WriterPtr writer = makeExpectedWriter(expected);
  std::string message;
  EXPECT_EQ(
      codeOf(smxrt_safetensors_writer_write(writer.get(), directory.c_str()),
             &message),
      SMXRT_STATUS_IO_ERROR);
  EXPECT_STARTS_WITH(message, directory +
                                  ": cannot rename the temporary "
                                  "file '" +
                                  directory + ".tmp.");
  EXPECT_TRUE(std::filesystem::is_directory(directory));
  EXPECT_EQ(scratch.list(), (std::vector<std::string>{"directory.safetensors",
                                                      "weights.safetensors"}));
  EXPECT_EQ(readFileBytes(target), original);
}

TEST_F(SafetensorsAtomicWrite, MissingDirectoryIsNotFound) {
  WriterPtr writer = makeExpectedWriter(expected);
  std::string path = scratch.file("no/such/dir.safetensors");
  std::string message;
  EXPECT_EQ(codeOf(smxrt_safetensors_writer_write(writer.get(), path.c_str()),
                   &message),
            SMXRT_STATUS_NOT_FOUND);
  EXPECT_STARTS_WITH(message, path + ": cannot create the temporary file");
  expectTargetIntactAndNoTemporaryFile();
}

TEST_F(SafetensorsAtomicWrite, SuccessfulWriteReplacesTarget) {
  WriterPtr writer = makeWriter();
  ASSERT_OK(smxrt_safetensors_writer_add_metadata(writer.get(), "k", "v"));
  ASSERT_OK(smxrt_safetensors_writer_write(writer.get(), target.c_str()));
  EXPECT_NE(readFileBytes(target), original);
  EXPECT_EQ(scratch.list(), (std::vector<std::string>{"weights.safetensors"}));
  smxrt_safetensors_t *rawFile = nullptr;
  ASSERT_OK(smxrt_safetensors_open(target.c_str(), &rawFile));
  SafetensorsPtr file(rawFile);
  EXPECT_EQ(smxrt_safetensors_tensor_count(file.get()), 0u);
  EXPECT_STREQ(smxrt_safetensors_metadata_value(file.get(), "k"), "v");
}

} // namespace
