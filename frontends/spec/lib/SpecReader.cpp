//===- SpecReader.cpp - typed access to a YAML spec with errors -----------===//

#include "SpecReader.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/YAMLParser.h"
#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::smx::spec;

LogicalResult SpecDiagnostics::emitError(llvm::SMLoc loc,
                                         const Twine &message) const {
  sourceMgr.PrintMessage(loc, llvm::SourceMgr::DK_Error, message);
  return failure();
}

/// Formats a number as a spec would write it: `0.5`, `1e-12`, `2`.
static std::string formatNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", value);
  return text;
}

static std::string joinChoices(ArrayRef<StringRef> choices) {
  return llvm::join(choices, ", ");
}

FailureOr<MappingReader>
MappingReader::create(const SpecDiagnostics &diagnostics,
                      const YamlValue &value, std::string path,
                      ArrayRef<StringRef> allowedKeys) {
  if (value.kind != YamlValue::Kind::Mapping)
    return diagnostics.emitError(
        value.getLoc(), (path.empty() ? "expected a mapping at the top level"
                                      : "expected a mapping for '" + path + "'") +
                            ", got " + value.describe());
  for (const YamlValue::Entry &entry : value.entries) {
    if (llvm::is_contained(allowedKeys, entry.key))
      continue;
    std::string where = path.empty() ? "at the top level" : "in '" + path + "'";
    return diagnostics.emitError(entry.keyRange.Start,
                                 "unknown key '" + entry.key + "' " + where +
                                     " (expected one of: " +
                                     joinChoices(allowedKeys) + ")");
  }
  return MappingReader(diagnostics, value, std::move(path));
}

const YamlValue *MappingReader::find(StringRef key) const {
  for (const YamlValue::Entry &entry : mapping->entries)
    if (entry.key == key)
      return entry.value.get();
  return nullptr;
}

FailureOr<const YamlValue *> MappingReader::require(StringRef key) const {
  if (const YamlValue *value = find(key))
    return value;
  return diags->emitError(mapping->getLoc(), "missing required key '" +
                                                 pathOf(key) + "'");
}

llvm::SMLoc MappingReader::getKeyLoc(StringRef key) const {
  for (const YamlValue::Entry &entry : mapping->entries)
    if (entry.key == key)
      return entry.keyRange.Start;
  return mapping->getLoc();
}

std::string MappingReader::pathOf(StringRef key) const {
  return path.empty() ? key.str() : path + "." + key.str();
}

FailureOr<int64_t>
mlir::smx::spec::readIntegerValue(const SpecDiagnostics &diagnostics,
                                  const YamlValue &value, StringRef what) {
  int64_t result;
  if (value.kind != YamlValue::Kind::Scalar || value.quoted ||
      StringRef(value.scalar).getAsInteger(10, result))
    return diagnostics.emitError(value.getLoc(),
                                 "expected an integer for '" + what +
                                     "', got " + value.describe());
  return result;
}

FailureOr<std::string>
mlir::smx::spec::readStringValue(const SpecDiagnostics &diagnostics,
                                 const YamlValue &value, StringRef what) {
  if (value.kind != YamlValue::Kind::Scalar)
    return diagnostics.emitError(value.getLoc(),
                                 "expected a string for '" + what + "', got " +
                                     value.describe());
  return value.scalar;
}

FailureOr<std::string>
mlir::smx::spec::readKeyword(const SpecDiagnostics &diagnostics,
                             const YamlValue &value, StringRef what,
                             ArrayRef<StringRef> choices) {
  FailureOr<std::string> text = readStringValue(diagnostics, value, what);
  if (failed(text))
    return failure();
  if (!llvm::is_contained(choices, *text))
    return diagnostics.emitError(value.getLoc(),
                                 "unknown " + what + " '" + *text +
                                     "' (expected one of: " +
                                     joinChoices(choices) + ")");
  return text;
}

LogicalResult MappingReader::readInteger(StringRef key, int64_t &out) const {
  const YamlValue *value = find(key);
  if (!value)
    return success();
  FailureOr<int64_t> result = readIntegerValue(*diags, *value, pathOf(key));
  if (failed(result))
    return failure();
  out = *result;
  return success();
}

LogicalResult MappingReader::readFloat(StringRef key, double &out) const {
  const YamlValue *value = find(key);
  if (!value)
    return success();
  double result;
  if (value->kind != YamlValue::Kind::Scalar || value->quoted ||
      StringRef(value->scalar).getAsDouble(result) || !std::isfinite(result))
    return diags->emitError(value->getLoc(), "expected a number for '" +
                                                 pathOf(key) + "', got " +
                                                 value->describe());
  out = result;
  return success();
}

LogicalResult MappingReader::readBool(StringRef key, bool &out) const {
  const YamlValue *value = find(key);
  if (!value)
    return success();
  if (value->kind == YamlValue::Kind::Scalar && !value->quoted &&
      (value->scalar == "true" || value->scalar == "false")) {
    out = value->scalar == "true";
    return success();
  }
  return diags->emitError(value->getLoc(), "expected true or false for '" +
                                               pathOf(key) + "', got " +
                                               value->describe());
}

LogicalResult MappingReader::readString(StringRef key,
                                        std::string &out) const {
  const YamlValue *value = find(key);
  if (!value)
    return success();
  FailureOr<std::string> result = readStringValue(*diags, *value, pathOf(key));
  if (failed(result))
    return failure();
  out = *result;
  return success();
}

LogicalResult MappingReader::readRequiredInteger(StringRef key, int64_t &out,
                                                 int64_t minimum) const {
  if (failed(require(key)) || failed(readInteger(key, out)))
    return failure();
  return checkAtLeast(key, out, minimum);
}

LogicalResult MappingReader::checkAtLeast(StringRef key, int64_t value,
                                          int64_t minimum) const {
  if (value >= minimum)
    return success();
  const YamlValue *node = find(key);
  return diags->emitError(node ? node->getLoc() : mapping->getLoc(),
                          "'" + pathOf(key) + "' must be at least " +
                              Twine(minimum) + ", got " + Twine(value));
}

LogicalResult
MappingReader::checkFloat(StringRef key, double value,
                          llvm::function_ref<bool(double)> predicate,
                          StringRef requirement) const {
  if (predicate(value))
    return success();
  const YamlValue *node = find(key);
  return diags->emitError(node ? node->getLoc() : mapping->getLoc(),
                          "'" + pathOf(key) + "' must be " + requirement +
                              ", got " + formatNumber(value));
}
