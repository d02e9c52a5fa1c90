//===- spec_fuzzer.cpp - The model spec parser on any bytes ---------------===//
//
// Parses the input as a YAML model spec (docs/spec.md): any text gives a
// ModelSpec that satisfies every documented constraint, or errors at
// file:line:col; never a crash. Diagnostics go to a string, not stderr.
//
//===----------------------------------------------------------------------===//

#include "smx/Frontend/Spec/SpecParser.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::SourceMgr sourceMgr;
  std::string diagnostics;
  llvm::raw_string_ostream stream(diagnostics);
  sourceMgr.setDiagHandler(
      [](const llvm::SMDiagnostic &diagnostic, void *context) {
        diagnostic.print("spec", *static_cast<llvm::raw_ostream *>(context));
      },
      &stream);
  unsigned bufferId = sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size),
          "fuzz.yaml"),
      llvm::SMLoc());
  (void)mlir::smx::spec::parseModelSpec(sourceMgr, bufferId, "fuzz");
  return 0;
}
