//===- ObjectEmitter.h - LLVM-dialect module to LLVM IR / object -*- C++ -*-===//

#ifndef SMX_TARGET_CPU_OBJECTEMITTER_H
#define SMX_TARGET_CPU_OBJECTEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"
#include "llvm/Support/raw_ostream.h"
#include <string>

namespace mlir::smx {

struct ObjectOptions {
  /// The CPU to generate code for; "native" is the host's CPU and features.
  std::string cpu = "native";
  /// LLVM optimization level 0-3.
  unsigned optLevel = 3;
};

/// Translates `module` (LLVM dialect only) to LLVM IR, optimizes it for the
/// chosen CPU and writes it as textual LLVM IR (`emitObject` false) or as an
/// ELF object to `os`.
LogicalResult emitMachineCode(ModuleOp module, const ObjectOptions &options,
                              bool emitObject, llvm::raw_pwrite_stream &os);

} // namespace mlir::smx

#endif // SMX_TARGET_CPU_OBJECTEMITTER_H
