//===- SpecParser.cpp - YAML model spec to ModelSpec ----------------------===//
//
// Reads the sections of a spec in dependency order (`model` first: layer
// indices, head counts and lengths are checked against it) and checks every
// constraint of docs/spec.md where the offending key or value is written.
//
//===----------------------------------------------------------------------===//

#include "smx/Frontend/Spec/SpecParser.h"

#include "SpecReader.h"
#include "smx/Dialect/Moe/IR/MoeAttributes.h"

#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
using namespace mlir::smx;
using namespace mlir::smx::spec;

static bool isPositive(double value) { return value > 0.0; }
static bool isNonNegative(double value) { return value >= 0.0; }
static bool isProbability(double value) { return value >= 0.0 && value < 1.0; }

namespace {
class SpecParser {
public:
  SpecParser(llvm::SourceMgr &sourceMgr)
      : sourceMgr(sourceMgr), diagnostics(sourceMgr) {}

  FailureOr<ModelSpec> parse(const YamlValue &root, StringRef defaultName);

private:
  LogicalResult parseModel(const MappingReader &model);
  LogicalResult parseMixing(const YamlValue *section);
  LogicalResult parseMoe(const YamlValue *section);
  LogicalResult parseRouter(const YamlValue *section, MoeSpec &moe);
  LogicalResult parseCapacityFactor(const MappingReader &moe, MoeSpec &spec);
  LogicalResult parseDropout(const YamlValue *section);
  LogicalResult parseHeads(const YamlValue *section);
  LogicalResult parseCompile(const YamlValue *section);
  /// Records where `section.key` sets the size `value` (ModelSpec's
  /// sizeSettings), when the spec sets it.
  void recordSize(const MappingReader &section, StringRef path, StringRef key,
                  int64_t value);

  /// Reads a `layers` value (an explicit list or `{placement, count}`) into
  /// a per-layer mask.
  FailureOr<SmallVector<bool>> parseLayerSelection(const YamlValue &value,
                                                   StringRef what);
  FailureOr<int64_t> parseLayerIndex(const YamlValue &value, StringRef what);

  llvm::SourceMgr &sourceMgr;
  SpecDiagnostics diagnostics;
  ModelSpec spec;
};
} // namespace

FailureOr<ModelSpec> SpecParser::parse(const YamlValue &root,
                                       StringRef defaultName) {
  FailureOr<MappingReader> top = MappingReader::create(
      diagnostics, root, "",
      {"model", "mixing", "moe", "dropout", "heads", "compile"});
  if (failed(top))
    return failure();
  FailureOr<const YamlValue *> model = top->require("model");
  if (failed(model))
    return failure();
  FailureOr<MappingReader> modelReader = MappingReader::create(
      diagnostics, **model, "model",
      {"name", "vocab_size", "max_length", "type_vocab_size", "d_emb",
       "d_model", "d_ff", "num_heads", "num_layers", "activation",
       "layer_norm_epsilon"});
  spec.name = defaultName.str();
  if (failed(modelReader) || failed(parseModel(*modelReader)) ||
      failed(parseMixing(top->find("mixing"))) ||
      failed(parseMoe(top->find("moe"))) ||
      failed(parseDropout(top->find("dropout"))) ||
      failed(parseHeads(top->find("heads"))) ||
      failed(parseCompile(top->find("compile"))))
    return failure();
  return std::move(spec);
}

LogicalResult SpecParser::parseModel(const MappingReader &model) {
  if (failed(model.readString("name", spec.name)) ||
      failed(model.readRequiredInteger("vocab_size", spec.vocabSize, 1)) ||
      failed(model.readRequiredInteger("max_length", spec.maxLength, 1)) ||
      failed(model.readRequiredInteger("d_model", spec.modelWidth, 1)) ||
      failed(model.readRequiredInteger("d_ff", spec.feedForwardWidth, 1)) ||
      failed(model.readRequiredInteger("num_heads", spec.numHeads, 1)) ||
      failed(model.readRequiredInteger("num_layers", spec.numLayers, 1)))
    return failure();
  // Layers are built one by one, so their count is bounded by what a
  // model can have, not by memory (a deeper stack is a typo).
  if (spec.numLayers > ModelSpec::kMaxLayers)
    return diagnostics.emitError(
        model.find("num_layers")->getLoc(),
        "'model.num_layers' must be at most " + Twine(ModelSpec::kMaxLayers) +
            ", got " + Twine(spec.numLayers));
  spec.embeddingWidth = spec.modelWidth;
  for (auto [key, value] :
       {std::pair<StringRef, int64_t>{"d_model", spec.modelWidth},
        {"d_ff", spec.feedForwardWidth},
        {"vocab_size", spec.vocabSize},
        {"max_length", spec.maxLength}})
    recordSize(model, "model", key, value);
  if (failed(model.readInteger("type_vocab_size", spec.typeVocabSize)) ||
      failed(model.checkAtLeast("type_vocab_size", spec.typeVocabSize, 1)) ||
      failed(model.readInteger("d_emb", spec.embeddingWidth)) ||
      failed(model.checkAtLeast("d_emb", spec.embeddingWidth, 1)) ||
      failed(model.readFloat("layer_norm_epsilon", spec.layerNormEpsilon)) ||
      failed(model.checkFloat("layer_norm_epsilon", spec.layerNormEpsilon,
                              isPositive, "positive")))
    return failure();
  recordSize(model, "model", "d_emb", spec.embeddingWidth);
  recordSize(model, "model", "type_vocab_size", spec.typeVocabSize);
  if (spec.modelWidth % spec.numHeads != 0)
    return diagnostics.emitError(
        model.find("num_heads")->getLoc(),
        "'model.d_model' (" + Twine(spec.modelWidth) +
            ") must be divisible by 'model.num_heads' (" +
            Twine(spec.numHeads) + ")");
  if (const YamlValue *activation = model.find("activation")) {
    FailureOr<std::string> name =
        readKeyword(diagnostics, *activation, "activation",
                    {"gelu_tanh", "gelu", "relu", "tanh"});
    if (failed(name))
      return failure();
    spec.activation = *symbolizeActivation(*name);
  }
  spec.layerMixing.assign(spec.numLayers, MixingKind::Attention);
  spec.layerIsMoe.assign(spec.numLayers, false);
  spec.compileSequence = spec.maxLength;
  return success();
}

FailureOr<int64_t> SpecParser::parseLayerIndex(const YamlValue &value,
                                               StringRef what) {
  FailureOr<int64_t> layer = readIntegerValue(diagnostics, value, what);
  if (failed(layer))
    return failure();
  if (*layer < 0 || *layer >= spec.numLayers)
    return diagnostics.emitError(
        value.getLoc(), "layer index " + Twine(*layer) + " in '" + what +
                            "' is out of range: the model has " +
                            Twine(spec.numLayers) + " layers (0 to " +
                            Twine(spec.numLayers - 1) + ")");
  return layer;
}

FailureOr<SmallVector<bool>>
SpecParser::parseLayerSelection(const YamlValue &value, StringRef what) {
  SmallVector<bool> chosen(spec.numLayers, false);
  if (value.kind == YamlValue::Kind::Sequence) {
    for (const std::unique_ptr<YamlValue> &item : value.items) {
      FailureOr<int64_t> layer = parseLayerIndex(*item, what);
      if (failed(layer))
        return failure();
      if (chosen[*layer])
        return diagnostics.emitError(item->getLoc(),
                                     "layer " + Twine(*layer) +
                                         " is listed twice in '" + what + "'");
      chosen[*layer] = true;
    }
    return chosen;
  }
  if (value.kind != YamlValue::Kind::Mapping)
    return diagnostics.emitError(
        value.getLoc(), "expected a list of layer indices or {placement, "
                        "count} for '" +
                            what + "', got " + value.describe());
  FailureOr<MappingReader> reader =
      MappingReader::create(diagnostics, value, what.str(),
                            {"placement", "count"});
  if (failed(reader))
    return failure();
  FailureOr<const YamlValue *> placementValue = reader->require("placement");
  if (failed(placementValue))
    return failure();
  FailureOr<std::string> placementName =
      readKeyword(diagnostics, **placementValue, "placement",
                  {"BOTTOM", "MIDDLE", "MIXED", "TOP"});
  int64_t count = 0;
  if (failed(placementName) ||
      failed(reader->readRequiredInteger("count", count, 1)))
    return failure();
  if (count > spec.numLayers)
    return diagnostics.emitError(
        reader->find("count")->getLoc(),
        "'" + reader->pathOf("count") + "' (" + Twine(count) +
            ") exceeds the model's " + Twine(spec.numLayers) + " layers");
  Placement placement = *parsePlacement(*placementName);
  for (int64_t layer = 0; layer < spec.numLayers; ++layer)
    chosen[layer] = isPlacedLayer(placement, count, layer, spec.numLayers);
  return chosen;
}

LogicalResult SpecParser::parseMixing(const YamlValue *section) {
  if (!section)
    return success();
  FailureOr<MappingReader> mixing = MappingReader::create(
      diagnostics, *section, "mixing", {"default", "attention", "layers"});
  if (failed(mixing))
    return failure();
  static constexpr StringRef kinds[] = {"linear",    "fourier",  "hartley",
                                        "circulant", "toeplitz", "attention"};
  if (const YamlValue *value = mixing->find("default")) {
    FailureOr<std::string> kind =
        readKeyword(diagnostics, *value, "mixing kind", kinds);
    if (failed(kind))
      return failure();
    spec.layerMixing.assign(spec.numLayers, *parseMixingKind(*kind));
  }
  if (const YamlValue *value = mixing->find("attention")) {
    FailureOr<SmallVector<bool>> attention =
        parseLayerSelection(*value, "mixing.attention");
    if (failed(attention))
      return failure();
    for (int64_t layer = 0; layer < spec.numLayers; ++layer)
      if ((*attention)[layer])
        spec.layerMixing[layer] = MixingKind::Attention;
  }
  if (const YamlValue *value = mixing->find("layers")) {
    if (value->kind != YamlValue::Kind::Mapping)
      return diagnostics.emitError(
          value->getLoc(),
          "expected a mapping from layer index to mixing kind for "
          "'mixing.layers', got " +
              value->describe());
    for (const YamlValue::Entry &entry : value->entries) {
      YamlValue keyValue;
      keyValue.kind = YamlValue::Kind::Scalar;
      keyValue.scalar = entry.key;
      keyValue.range = entry.keyRange;
      FailureOr<int64_t> layer = parseLayerIndex(keyValue, "mixing.layers");
      FailureOr<std::string> kind =
          succeeded(layer)
              ? readKeyword(diagnostics, *entry.value, "mixing kind", kinds)
              : FailureOr<std::string>(failure());
      if (failed(kind))
        return failure();
      spec.layerMixing[*layer] = *parseMixingKind(*kind);
    }
  }
  return success();
}

LogicalResult SpecParser::parseMoe(const YamlValue *section) {
  if (!section)
    return success();
  FailureOr<MappingReader> moe = MappingReader::create(
      diagnostics, *section, "moe",
      {"layers", "num_experts", "router", "capacity_factor", "group_size",
       "expert_dropout", "load_balance_loss", "z_loss"});
  if (failed(moe))
    return failure();
  MoeSpec moeSpec;
  FailureOr<const YamlValue *> layers = moe->require("layers");
  if (failed(layers))
    return failure();
  FailureOr<SmallVector<bool>> moeLayers =
      parseLayerSelection(**layers, "moe.layers");
  if (failed(moeLayers) ||
      failed(moe->readRequiredInteger("num_experts", moeSpec.numExperts, 1)) ||
      failed(moe->readInteger("group_size", moeSpec.groupSize)) ||
      failed(moe->checkAtLeast("group_size", moeSpec.groupSize, 1)) ||
      failed(moe->readFloat("expert_dropout", moeSpec.expertDropout)) ||
      failed(moe->checkFloat("expert_dropout", moeSpec.expertDropout,
                             isProbability, "in [0, 1)")) ||
      failed(moe->readFloat("load_balance_loss",
                            moeSpec.loadBalanceLossFactor)) ||
      failed(moe->checkFloat("load_balance_loss",
                             moeSpec.loadBalanceLossFactor, isNonNegative,
                             "non-negative")) ||
      failed(moe->readFloat("z_loss", moeSpec.zLossFactor)) ||
      failed(moe->checkFloat("z_loss", moeSpec.zLossFactor, isNonNegative,
                             "non-negative")) ||
      failed(parseCapacityFactor(*moe, moeSpec)) ||
      failed(parseRouter(moe->find("router"), moeSpec)))
    return failure();
  spec.layerIsMoe = std::move(*moeLayers);
  recordSize(*moe, "moe", "num_experts", moeSpec.numExperts);
  spec.moe = moeSpec;
  return success();
}

LogicalResult SpecParser::parseCapacityFactor(const MappingReader &moe,
                                              MoeSpec &moeSpec) {
  const YamlValue *value = moe.find("capacity_factor");
  if (!value)
    return success();
  FailureOr<MappingReader> factors = MappingReader::create(
      diagnostics, *value, "moe.capacity_factor", {"train", "eval"});
  if (failed(factors) ||
      failed(factors->readFloat("train", moeSpec.trainCapacityFactor)) ||
      failed(factors->checkFloat("train", moeSpec.trainCapacityFactor,
                                 isPositive, "positive")) ||
      failed(factors->readFloat("eval", moeSpec.evalCapacityFactor)))
    return failure();
  return factors->checkFloat("eval", moeSpec.evalCapacityFactor, isPositive,
                             "positive");
}

LogicalResult SpecParser::parseRouter(const YamlValue *section,
                                      MoeSpec &moeSpec) {
  if (!section)
    return success();
  FailureOr<MappingReader> router = MappingReader::create(
      diagnostics, *section, "moe.router",
      {"policy", "k", "batch_prioritized", "method", "iterations", "entropy",
       "jitter"});
  if (failed(router))
    return failure();
  RouterSpec &routerSpec = moeSpec.router;
  // Every routing policy of the moe dialect, by mnemonic: a new policy
  // needs nothing here (docs/adding-a-routing-policy.md).
  SmallVector<StringRef> policyNames;
  for (const moe::RoutingPolicyInfo &policy : moe::getRoutingPolicies())
    policyNames.push_back(policy.name);
  if (const YamlValue *value = router->find("policy")) {
    FailureOr<std::string> policy =
        readKeyword(diagnostics, *value, "routing policy", policyNames);
    if (failed(policy))
      return failure();
    routerSpec.policy = *policy;
  }
  const moe::RoutingPolicyInfo *policy =
      moe::lookupRoutingPolicy(routerSpec.policy);
  auto policiesTaking = [&](bool moe::RoutingPolicyOptionSet::*option) {
    SmallVector<StringRef> names;
    for (const moe::RoutingPolicyInfo &candidate : moe::getRoutingPolicies())
      if (candidate.specOptions.*option)
        names.push_back(candidate.name);
    return llvm::join(names, " and ");
  };
  if (router->find("k") && !policy->specOptions.k)
    return diagnostics.emitError(
        router->getKeyLoc("k"),
        "'moe.router.k' applies to " +
            policiesTaking(&moe::RoutingPolicyOptionSet::k) + ", not to " +
            routerSpec.policy);
  if (router->find("batch_prioritized") &&
      !policy->specOptions.batchPrioritized)
    return diagnostics.emitError(
        router->getKeyLoc("batch_prioritized"),
        "'moe.router.batch_prioritized' applies to " +
            policiesTaking(&moe::RoutingPolicyOptionSet::batchPrioritized) +
            ", not to " + routerSpec.policy);
  if (router->find("method") && !policy->specOptions.cappedMethod)
    return diagnostics.emitError(
        router->getKeyLoc("method"),
        "'moe.router.method' applies to " +
            policiesTaking(&moe::RoutingPolicyOptionSet::cappedMethod) +
            ", not to " + routerSpec.policy);
  if (const YamlValue *value = router->find("method")) {
    FailureOr<std::string> method = readKeyword(
        diagnostics, *value, "routing method",
        {moe::stringifyCappedRoutingMethod(moe::CappedRoutingMethod::Greedy),
         moe::stringifyCappedRoutingMethod(moe::CappedRoutingMethod::Lp)});
    if (failed(method))
      return failure();
    routerSpec.method = *method;
  }
  for (StringRef key : {"iterations", "entropy"})
    if (router->find(key) && routerSpec.method != "lp")
      return diagnostics.emitError(router->getKeyLoc(key),
                                   "'moe.router." + key +
                                       "' applies to 'method: lp' only");
  if (failed(router->readInteger("iterations", routerSpec.iterations)) ||
      failed(router->checkAtLeast("iterations", routerSpec.iterations, 1)) ||
      failed(router->readFloat("entropy", routerSpec.entropy)) ||
      failed(router->checkFloat("entropy", routerSpec.entropy, isPositive,
                                "positive")))
    return failure();
  if (failed(router->readInteger("k", routerSpec.k)) ||
      failed(router->checkAtLeast("k", routerSpec.k, 1)) ||
      failed(router->readBool("batch_prioritized",
                              routerSpec.batchPrioritized)) ||
      failed(router->readFloat("jitter", routerSpec.jitter)) ||
      failed(router->checkFloat("jitter", routerSpec.jitter, isProbability,
                                "in [0, 1)")))
    return failure();
  if (routerSpec.k > moeSpec.numExperts)
    return diagnostics.emitError(
        router->find("k")->getLoc(),
        "'moe.router.k' (" + Twine(routerSpec.k) +
            ") exceeds 'moe.num_experts' (" + Twine(moeSpec.numExperts) + ")");
  return success();
}

LogicalResult SpecParser::parseDropout(const YamlValue *section) {
  if (!section)
    return success();
  FailureOr<MappingReader> dropout = MappingReader::create(
      diagnostics, *section, "dropout", {"hidden", "attention"});
  if (failed(dropout) ||
      failed(dropout->readFloat("hidden", spec.hiddenDropout)) ||
      failed(dropout->checkFloat("hidden", spec.hiddenDropout, isProbability,
                                 "in [0, 1)")) ||
      failed(dropout->readFloat("attention", spec.attentionDropout)))
    return failure();
  return dropout->checkFloat("attention", spec.attentionDropout, isProbability,
                             "in [0, 1)");
}

LogicalResult SpecParser::parseHeads(const YamlValue *section) {
  if (!section)
    return success();
  FailureOr<MappingReader> heads = MappingReader::create(
      diagnostics, *section, "heads", {"mlm", "sentence_order", "classifier"});
  if (failed(heads) || failed(heads->readBool("mlm", spec.heads.mlm)) ||
      failed(heads->readBool("sentence_order", spec.heads.sentenceOrder)))
    return failure();
  const YamlValue *value = heads->find("classifier");
  if (!value)
    return success();
  FailureOr<MappingReader> classifier = MappingReader::create(
      diagnostics, *value, "heads.classifier", {"classes", "regression"});
  if (failed(classifier) ||
      failed(classifier->readBool("regression", spec.heads.regression)))
    return failure();
  if (spec.heads.regression) {
    if (classifier->find("classes"))
      return diagnostics.emitError(
          classifier->getKeyLoc("classes"),
          "'heads.classifier' is either a regression or has classes, not both");
    spec.heads.classifierOutputs = 1;
    return success();
  }
  int64_t classes = 0;
  if (failed(classifier->readRequiredInteger("classes", classes, 2)))
    return failure();
  spec.heads.classifierOutputs = classes;
  return success();
}

void SpecParser::recordSize(const MappingReader &section, StringRef path,
                            StringRef key, int64_t value) {
  const YamlValue *node = section.find(key);
  if (!node)
    return;
  auto [line, column] = sourceMgr.getLineAndColumn(node->getLoc());
  spec.sizeSettings.push_back(
      {(path + "." + key).str(), value, line, column});
}

LogicalResult SpecParser::parseCompile(const YamlValue *section) {
  if (section) {
    FailureOr<MappingReader> compile = MappingReader::create(
        diagnostics, *section, "compile", {"batch", "seq"});
    if (failed(compile) ||
        failed(compile->readInteger("batch", spec.compileBatch)) ||
        failed(compile->checkAtLeast("batch", spec.compileBatch, 1)) ||
        failed(compile->readInteger("seq", spec.compileSequence)) ||
        failed(compile->checkAtLeast("seq", spec.compileSequence, 1)))
      return failure();
    recordSize(*compile, "compile", "batch", spec.compileBatch);
    recordSize(*compile, "compile", "seq", spec.compileSequence);
    if (spec.compileSequence > spec.maxLength)
      return diagnostics.emitError(
          compile->find("seq")->getLoc(),
          "'compile.seq' (" + Twine(spec.compileSequence) +
              ") exceeds 'model.max_length' (" + Twine(spec.maxLength) + ")");
    if (spec.needsFullLength() && spec.compileSequence != spec.maxLength)
      return diagnostics.emitError(
          compile->find("seq")->getLoc(),
          "'compile.seq' must equal 'model.max_length' (" +
              Twine(spec.maxLength) +
              "): non-attention mixing layers run on inputs padded to the "
              "maximum length");
  }
  return success();
}

FailureOr<ModelSpec> mlir::smx::spec::parseModelSpec(llvm::SourceMgr &sourceMgr,
                                                     unsigned bufferId,
                                                     StringRef defaultName) {
  FailureOr<std::unique_ptr<YamlValue>> root =
      parseYamlDocument(sourceMgr, bufferId);
  if (failed(root))
    return failure();
  return SpecParser(sourceMgr).parse(**root, defaultName);
}
