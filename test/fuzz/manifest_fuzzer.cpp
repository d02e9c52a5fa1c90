//===- manifest_fuzzer.cpp - The JSON and manifest readers on any bytes ---===//
//
// Parses the input as a model manifest (docs/abi.md), which runs the JSON
// parser and every check of the manifest reader: a bad manifest is one
// clear error, never a crash.
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "model/manifest.h"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  smxrt::ModelManifest manifest;
  smx_fuzz::consume(smxrt::parseModelManifest(
      std::string_view(reinterpret_cast<const char *>(data), size), manifest));
  return 0;
}
