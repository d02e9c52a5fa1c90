//===- YamlTree.cpp - a YAML document with source locations ---------------===//

#include "smx/Frontend/Spec/YamlTree.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/YAMLParser.h"

using namespace mlir;
using namespace mlir::smx::spec;
namespace yaml = llvm::yaml;

std::string YamlValue::describe() const {
  switch (kind) {
  case Kind::Null:
    return "nothing";
  case Kind::Scalar:
    return quoted ? "the string \"" + scalar + "\"" : "'" + scalar + "'";
  case Kind::Sequence:
    return "a list";
  case Kind::Mapping:
    return "a mapping";
  }
  llvm_unreachable("unknown YAML value kind");
}

namespace {
/// Copies llvm::yaml nodes into YamlValues, stopping at the first error.
class TreeBuilder {
public:
  explicit TreeBuilder(yaml::Stream &stream) : stream(stream) {}

  std::unique_ptr<YamlValue> build(yaml::Node *node) {
    auto value = std::make_unique<YamlValue>();
    value->range = node->getSourceRange();
    if (auto *scalar = dyn_cast<yaml::ScalarNode>(node)) {
      SmallString<32> storage;
      value->kind = YamlValue::Kind::Scalar;
      value->scalar = scalar->getValue(storage).str();
      value->quoted = scalar->getRawValue().starts_with("\"") ||
                      scalar->getRawValue().starts_with("'");
    } else if (auto *block = dyn_cast<yaml::BlockScalarNode>(node)) {
      value->kind = YamlValue::Kind::Scalar;
      value->scalar = block->getValue().str();
      value->quoted = true;
    } else if (auto *sequence = dyn_cast<yaml::SequenceNode>(node)) {
      value->kind = YamlValue::Kind::Sequence;
      for (yaml::Node &item : *sequence) {
        std::unique_ptr<YamlValue> child = build(&item);
        if (!child)
          return nullptr;
        value->items.push_back(std::move(child));
      }
    } else if (auto *mapping = dyn_cast<yaml::MappingNode>(node)) {
      value->kind = YamlValue::Kind::Mapping;
      llvm::StringSet<> seenKeys;
      for (yaml::KeyValueNode &entry : *mapping) {
        auto *key = dyn_cast_or_null<yaml::ScalarNode>(entry.getKey());
        if (!key) {
          stream.printError(entry.getKey(), "expected a plain key");
          return nullptr;
        }
        SmallString<32> storage;
        std::string keyText = key->getValue(storage).str();
        if (!seenKeys.insert(keyText).second) {
          stream.printError(key, "duplicate key '" + keyText + "'");
          return nullptr;
        }
        yaml::Node *valueNode = entry.getValue();
        if (!valueNode)
          return nullptr;
        std::unique_ptr<YamlValue> child = build(valueNode);
        if (!child)
          return nullptr;
        value->entries.push_back(
            {std::move(keyText), key->getSourceRange(), std::move(child)});
      }
    } else if (isa<yaml::AliasNode>(node)) {
      stream.printError(node, "YAML aliases are not supported in model specs");
      return nullptr;
    }
    return stream.failed() ? nullptr : std::move(value);
  }

private:
  yaml::Stream &stream;
};
} // namespace

FailureOr<std::unique_ptr<YamlValue>>
mlir::smx::spec::parseYamlDocument(llvm::SourceMgr &sourceMgr,
                                   unsigned bufferId) {
  const llvm::MemoryBuffer *buffer = sourceMgr.getMemoryBuffer(bufferId);
  yaml::Stream stream(buffer->getMemBufferRef(), sourceMgr,
                      /*ShowColors=*/false);
  yaml::document_iterator document = stream.begin();
  if (document == stream.end() || stream.failed())
    return failure();
  yaml::Node *root = document->getRoot();
  if (!root || stream.failed())
    return failure();
  std::unique_ptr<YamlValue> tree = TreeBuilder(stream).build(root);
  if (!tree)
    return failure();
  if (++document != stream.end()) {
    // A second document that does not parse has no root; the stream has
    // then reported it, or the error points at where the text ends.
    yaml::Node *second = stream.failed() ? nullptr : document->getRoot();
    if (!stream.failed())
      sourceMgr.PrintMessage(
          second ? second->getSourceRange().Start
                 : llvm::SMLoc::getFromPointer(buffer->getBufferEnd()),
          llvm::SourceMgr::DK_Error, "a model spec holds one YAML document");
    return failure();
  }
  return std::move(tree);
}
