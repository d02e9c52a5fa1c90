//===- YamlTree.h - a YAML document with source locations -------*- C++ -*-===//
//
// llvm::yaml's node API parses lazily and lets a mapping be walked only once.
// The spec parser needs random access (read `model` before the sections that
// depend on it) and a source location for every key and value, so the
// document is first copied into this small tree.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_FRONTEND_SPEC_YAMLTREE_H
#define SMX_FRONTEND_SPEC_YAMLTREE_H

#include "mlir/Support/LLVM.h"
#include "llvm/Support/SMLoc.h"
#include <memory>
#include <string>
#include <vector>

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace mlir::smx::spec {

/// One YAML value: null, a scalar, a sequence or a mapping.
struct YamlValue {
  enum class Kind { Null, Scalar, Sequence, Mapping };

  struct Entry {
    std::string key;
    llvm::SMRange keyRange;
    std::unique_ptr<YamlValue> value;
  };

  Kind kind = Kind::Null;
  llvm::SMRange range;
  /// The text of a scalar (quotes and escapes resolved).
  std::string scalar;
  /// Whether a scalar was quoted: `"1"` is a string, never a number.
  bool quoted = false;
  std::vector<std::unique_ptr<YamlValue>> items;
  std::vector<Entry> entries;

  llvm::SMLoc getLoc() const { return range.Start; }
  /// Describes the kind for error messages: "a mapping", "'abc'", ...
  std::string describe() const;
};

/// Parses the single document in buffer `bufferId` of `sourceMgr`. YAML
/// syntax errors, a second document, non-scalar keys and duplicate keys are
/// reported through `sourceMgr` as `file:line:col: error: ...`.
FailureOr<std::unique_ptr<YamlValue>> parseYamlDocument(llvm::SourceMgr &sourceMgr,
                                                        unsigned bufferId);

} // namespace mlir::smx::spec

#endif // SMX_FRONTEND_SPEC_YAMLTREE_H
