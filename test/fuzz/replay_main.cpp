//===- replay_main.cpp - Runs a fuzz target on saved inputs ---------------===//
//
// `smx-fuzz-<target> PATH...` feeds every file named, and every file of
// every directory named, to LLVMFuzzerTestOneInput once; a crash or a
// sanitizer report fails the run. The test suite runs it on
// test/fuzz/corpus/<target>.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay(const std::filesystem::path &path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) {
    std::fprintf(stderr, "%s: cannot read\n", path.c_str());
    return 1;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(stream)),
                             std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  return 0;
}

int main(int argc, char **argv) {
  size_t inputs = 0;
  for (int index = 1; index < argc; ++index) {
    std::filesystem::path path(argv[index]);
    if (std::filesystem::is_directory(path)) {
      for (const auto &entry : std::filesystem::directory_iterator(path))
        if (entry.is_regular_file()) {
          if (replay(entry.path()))
            return 1;
          ++inputs;
        }
    } else {
      if (replay(path))
        return 1;
      ++inputs;
    }
  }
  std::printf("replayed %zu inputs\n", inputs);
  return inputs > 0 ? 0 : 1;
}
