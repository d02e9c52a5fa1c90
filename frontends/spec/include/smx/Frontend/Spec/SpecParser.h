//===- SpecParser.h - YAML model spec to ModelSpec --------------*- C++ -*-===//

#ifndef SMX_FRONTEND_SPEC_SPECPARSER_H
#define SMX_FRONTEND_SPEC_SPECPARSER_H

#include "smx/Frontend/Spec/ModelSpec.h"

#include "mlir/Support/LLVM.h"

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace mlir::smx::spec {

/// Parses and validates the model spec in buffer `bufferId` of `sourceMgr`
/// (docs/spec.md). The first problem is reported through `sourceMgr` as
/// `file:line:col: error: ...` and parsing stops. `defaultName` names the
/// model when the spec does not.
FailureOr<ModelSpec> parseModelSpec(llvm::SourceMgr &sourceMgr,
                                    unsigned bufferId, StringRef defaultName);

} // namespace mlir::smx::spec

#endif // SMX_FRONTEND_SPEC_SPECPARSER_H
