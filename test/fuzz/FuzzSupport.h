//===- FuzzSupport.h - What the fuzz targets share --------------*- C++ -*-===//
//
// Each fuzz target defines LLVMFuzzerTestOneInput. Built with clang and
// -fsanitize=fuzzer (scripts/fuzz.sh) it is a libFuzzer binary; built
// otherwise it links replay_main.cpp and runs the inputs it is given, which
// is how the test suite replays test/fuzz/corpus.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_TEST_FUZZ_FUZZSUPPORT_H
#define SMX_TEST_FUZZ_FUZZSUPPORT_H

#include "smx_runtime/status.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace smx_fuzz {

/// A file holding the fuzz input, removed when it goes out of scope: the
/// readers under test take paths, as users give them.
class InputFile {
public:
  InputFile(const uint8_t *data, size_t size, const char *suffix) {
    const char *base = std::getenv("TMPDIR");
    path = std::string(base && *base ? base : "/tmp") + "/smx-fuzz-XXXXXX" +
           suffix;
    int descriptor = ::mkstemps(
        path.data(), static_cast<int>(std::char_traits<char>::length(suffix)));
    if (descriptor < 0) {
      std::perror("smx fuzz: mkstemps");
      std::abort();
    }
    size_t written = 0;
    while (written < size) {
      ssize_t count = ::write(descriptor, data + written, size - written);
      if (count <= 0) {
        std::perror("smx fuzz: write");
        std::abort();
      }
      written += static_cast<size_t>(count);
    }
    ::close(descriptor);
  }
  ~InputFile() { ::unlink(path.c_str()); }
  InputFile(const InputFile &) = delete;
  InputFile &operator=(const InputFile &) = delete;

  const std::string &getPath() const { return path; }

private:
  std::string path;
};

/// Frees a status; an error is an expected outcome for fuzzed input, but
/// its message must be a real string.
inline void consume(smxrt_status_t status) {
  if (!status)
    return;
  const char *message = smxrt_status_message(status);
  if (!message)
    std::abort();
  smxrt_status_free(status);
}

} // namespace smx_fuzz

#endif // SMX_TEST_FUZZ_FUZZSUPPORT_H
