//===- TestSupport.h - Helpers of the unit tests ----------------*- C++ -*-===//

#ifndef SMX_TEST_UNITTESTS_TESTSUPPORT_H
#define SMX_TEST_UNITTESTS_TESTSUPPORT_H

#include "smx_runtime/smx_runtime.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <stdlib.h>

namespace smxrt_test {

struct StatusDeleter {
  void operator()(smxrt_status_storage_t *status) const {
    smxrt_status_free(status);
  }
};
/// Owns a status, so that a failing assertion cannot leak it.
using StatusPtr = std::unique_ptr<smxrt_status_storage_t, StatusDeleter>;

struct TensorDeleter {
  void operator()(smxrt_tensor_t *tensor) const { smxrt_tensor_free(tensor); }
};
using TensorPtr = std::unique_ptr<smxrt_tensor_t, TensorDeleter>;

struct SafetensorsDeleter {
  void operator()(smxrt_safetensors_t *file) const {
    smxrt_safetensors_close(file);
  }
};
using SafetensorsPtr = std::unique_ptr<smxrt_safetensors_t, SafetensorsDeleter>;

struct WriterDeleter {
  void operator()(smxrt_safetensors_writer_t *writer) const {
    smxrt_safetensors_writer_free(writer);
  }
};
using WriterPtr = std::unique_ptr<smxrt_safetensors_writer_t, WriterDeleter>;

} // namespace smxrt_test

/// Checks that a status-returning expression succeeds, printing the message
/// if it does not.
#define EXPECT_OK(expr)                                                        \
  do {                                                                         \
    ::smxrt_test::StatusPtr smxrtTestStatus(expr);                             \
    EXPECT_EQ(smxrtTestStatus, nullptr)                                        \
        << #expr << ": " << smxrt_status_message(smxrtTestStatus.get());       \
  } while (false)
#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    ::smxrt_test::StatusPtr smxrtTestStatus(expr);                             \
    ASSERT_EQ(smxrtTestStatus, nullptr)                                        \
        << #expr << ": " << smxrt_status_message(smxrtTestStatus.get());       \
  } while (false)

namespace smxrt_test {

// Substring checks without gmock, which Debian ships apart from gtest.
inline ::testing::AssertionResult containsSubstring(const char *textExpr,
                                                    const char *partExpr,
                                                    const std::string &text,
                                                    const std::string &part) {
  if (text.find(part) != std::string::npos)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << textExpr << " does not contain " << partExpr << "\n  text: \""
         << text << "\"\n  part: \"" << part << "\"";
}

inline ::testing::AssertionResult startsWith(const char *textExpr,
                                             const char *prefixExpr,
                                             const std::string &text,
                                             const std::string &prefix) {
  if (text.compare(0, prefix.size(), prefix) == 0)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << textExpr << " does not start with " << prefixExpr
         << "\n    text: \"" << text << "\"\n  prefix: \"" << prefix << "\"";
}

} // namespace smxrt_test

#define EXPECT_CONTAINS(text, part)                                            \
  EXPECT_PRED_FORMAT2(::smxrt_test::containsSubstring, text, part)
#define EXPECT_STARTS_WITH(text, prefix)                                       \
  EXPECT_PRED_FORMAT2(::smxrt_test::startsWith, text, prefix)

namespace smxrt_test {

inline std::string readFileBytes(const std::string &path) {
  std::ifstream input(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(input), {});
}

/// A fresh directory under the system temporary directory, removed with its
/// contents when the test ends.
class ScratchDirectory {
public:
  ScratchDirectory() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "smxrt-test-XXXXXX").string();
    if (char *created = mkdtemp(&pattern[0]))
      path = created;
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    if (!path.empty())
      std::filesystem::remove_all(path, ignored);
  }
  const std::string &getPath() const { return path; }
  std::string file(const std::string &name) const { return path + "/" + name; }
  /// Names of the entries in the directory, sorted.
  std::vector<std::string> list() const {
    std::vector<std::string> names;
    for (const auto &entry : std::filesystem::directory_iterator(path))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

private:
  std::string path;
};

/// The directory written by write_safetensors_fixtures.py: the environment
/// variable set by CTest, else the path configured at build time.
inline std::string fixturesDirectory() {
  if (const char *fromEnvironment = std::getenv("SMXRT_TEST_FIXTURES_DIR"))
    return fromEnvironment;
  return SMXRT_TEST_DEFAULT_FIXTURES_DIR;
}

#ifdef SMXRT_TEST_DATA_DIR
/// A text fixture of the application's tests (test/unittests/application/data).
inline std::string dataPath(const std::string &name) {
  return std::string(SMXRT_TEST_DATA_DIR) + "/" + name;
}
#endif

inline std::string fixturePath(const std::string &name) {
  return fixturesDirectory() + "/" + name + ".safetensors";
}

/// A tensor of the good fixture, as this C++ side knows it: written here
/// independently of write_safetensors_fixtures.py, which has the same table.
struct ExpectedTensor {
  std::string name;
  smxrt_dtype_t dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes; // Little-endian.
};

template <typename Element>
std::vector<uint8_t> bytesOf(std::initializer_list<Element> elements) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
                "the tests assume a little-endian host");
  std::vector<uint8_t> bytes(elements.size() * sizeof(Element));
  if (!bytes.empty())
    std::memcpy(bytes.data(), elements.begin(), bytes.size());
  return bytes;
}

inline std::vector<ExpectedTensor> expectedTensors() {
  return {
      {"encoder.0.w",
       SMXRT_DTYPE_F32,
       {2, 3},
       bytesOf<float>({0.0f, 1.0f, -2.5f, 3.25f, 1024.0f, -0.125f})},
      // bfloat16 1.0, -3.0, 3.140625, 0.0 as bit patterns.
      {"encoder.0.bf16",
       SMXRT_DTYPE_BF16,
       {4},
       bytesOf<uint16_t>({0x3F80, 0xC040, 0x4049, 0x0000})},
      // float16 1.0, -2.0, 0.333251953125, 65504.0 as bit patterns.
      {"encoder.0.f16",
       SMXRT_DTYPE_F16,
       {2, 2},
       bytesOf<uint16_t>({0x3C00, 0xC000, 0x3555, 0x7BFF})},
      {"counts", SMXRT_DTYPE_I32, {3}, bytesOf<int32_t>({-1, 0, 2147483647})},
      {"step_ids",
       SMXRT_DTYPE_I64,
       {2},
       bytesOf<int64_t>({INT64_MIN, 1234567890123})},
      {"f64", SMXRT_DTYPE_F64, {2}, bytesOf<double>({0.1, -1e300})},
      {"i8", SMXRT_DTYPE_I8, {3}, bytesOf<int8_t>({-128, 0, 127})},
      {"u8", SMXRT_DTYPE_U8, {3}, bytesOf<uint8_t>({0, 128, 255})},
      {"mask", SMXRT_DTYPE_BOOL, {3}, bytesOf<uint8_t>({1, 0, 1})},
      {"scalar", SMXRT_DTYPE_F32, {}, bytesOf<float>({42.5f})},
      {"empty", SMXRT_DTYPE_F32, {0, 4}, {}},
  };
}

/// The good fixture's metadata, sorted by key.
inline std::vector<std::pair<std::string, std::string>> expectedMetadata() {
  return {{"format", "pt"},
          {"note", "h\xC3\xA9llo \xE2\x98\x83 \xF0\x9F\x98\x80 \"quoted\"\n"},
          {"step", "100"}};
}

} // namespace smxrt_test

#endif // SMX_TEST_UNITTESTS_TESTSUPPORT_H
