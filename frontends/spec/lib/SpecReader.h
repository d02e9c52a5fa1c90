//===- SpecReader.h - typed access to a YAML spec with errors ---*- C++ -*-===//
//
// Reads keys of a YAML mapping as typed values and reports every problem
// (unknown or missing key, wrong type, value out of range) at the source
// location of the offending key or value, naming the key by its full path
// (`moe.router.k`).
//
//===----------------------------------------------------------------------===//

#ifndef SMX_FRONTEND_SPEC_LIB_SPECREADER_H
#define SMX_FRONTEND_SPEC_LIB_SPECREADER_H

#include "smx/Frontend/Spec/YamlTree.h"

#include "mlir/Support/LLVM.h"
#include "llvm/ADT/Twine.h"
#include <functional>
#include <optional>
#include <string>

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace mlir::smx::spec {

/// Reports spec errors through a SourceMgr.
class SpecDiagnostics {
public:
  explicit SpecDiagnostics(llvm::SourceMgr &sourceMgr) : sourceMgr(sourceMgr) {}

  /// Prints `file:line:col: error: message` and returns failure.
  LogicalResult emitError(llvm::SMLoc loc, const Twine &message) const;

private:
  llvm::SourceMgr &sourceMgr;
};

/// One mapping of the spec (a section like `model` or `moe.router`).
class MappingReader {
public:
  /// Fails with an error unless `value` is a mapping whose keys are all in
  /// `allowedKeys`.
  static FailureOr<MappingReader> create(const SpecDiagnostics &diagnostics,
                                         const YamlValue &value,
                                         std::string path,
                                         ArrayRef<StringRef> allowedKeys);

  /// The value of `key`, or null when the key is absent.
  const YamlValue *find(StringRef key) const;
  /// The value of `key`; an error naming the key when it is absent.
  FailureOr<const YamlValue *> require(StringRef key) const;
  /// The location of `key` itself (for errors about its value's meaning).
  llvm::SMLoc getKeyLoc(StringRef key) const;
  /// `section.key`, the name errors give a key.
  std::string pathOf(StringRef key) const;
  const std::string &getPath() const { return path; }
  const YamlValue &getValue() const { return *mapping; }

  /// Typed reads of an optional key: the output keeps its default when the
  /// key is absent. Wrong types are errors.
  LogicalResult readInteger(StringRef key, int64_t &out) const;
  LogicalResult readFloat(StringRef key, double &out) const;
  LogicalResult readBool(StringRef key, bool &out) const;
  LogicalResult readString(StringRef key, std::string &out) const;

  /// Reads an integer key that must be present and at least `minimum`.
  LogicalResult readRequiredInteger(StringRef key, int64_t &out,
                                    int64_t minimum) const;
  /// Checks `minimum <= out` for a key read before (when present).
  LogicalResult checkAtLeast(StringRef key, int64_t value,
                             int64_t minimum) const;
  /// Checks a float key against a predicate, `requirement` saying what it
  /// must be ("positive", "in [0, 1)").
  LogicalResult checkFloat(StringRef key, double value,
                           llvm::function_ref<bool(double)> predicate,
                           StringRef requirement) const;

  const SpecDiagnostics &diagnostics() const { return *diags; }

private:
  MappingReader(const SpecDiagnostics &diagnostics, const YamlValue &mapping,
                std::string path)
      : diags(&diagnostics), mapping(&mapping), path(std::move(path)) {}

  const SpecDiagnostics *diags;
  const YamlValue *mapping;
  std::string path;
};

/// Typed conversions of a scalar; `what` names it in the error.
FailureOr<int64_t> readIntegerValue(const SpecDiagnostics &diagnostics,
                                    const YamlValue &value, StringRef what);
FailureOr<std::string> readStringValue(const SpecDiagnostics &diagnostics,
                                       const YamlValue &value, StringRef what);

/// Reads a keyword from `choices`, naming every valid choice when the value
/// is not one of them.
FailureOr<std::string> readKeyword(const SpecDiagnostics &diagnostics,
                                   const YamlValue &value, StringRef what,
                                   ArrayRef<StringRef> choices);

} // namespace mlir::smx::spec

#endif // SMX_FRONTEND_SPEC_LIB_SPECREADER_H
