//===- ModelSpec.h - a parsed, validated model spec -------------*- C++ -*-===//
//
// What a YAML model spec (docs/spec.md) says, with every default applied and
// every layer placement resolved to a per-layer decision. A ModelSpec that
// the parser returns satisfies every constraint of docs/spec.md.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_FRONTEND_SPEC_MODELSPEC_H
#define SMX_FRONTEND_SPEC_MODELSPEC_H

#include "smx/Dialect/Moe/IR/MoeAttributes.h"
#include "smx/Dialect/Smx/IR/SmxAttributes.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include <optional>
#include <string>
#include <vector>

namespace mlir::smx::spec {

enum class MixingKind { Linear, Fourier, Hartley, Circulant, Toeplitz, Attention };
enum class Placement { Bottom, Middle, Mixed, Top };

StringRef stringifyMixingKind(MixingKind kind);
std::optional<MixingKind> parseMixingKind(StringRef text);
std::optional<Placement> parsePlacement(StringRef text);

/// Whether layer `layer` of `numLayers` is one of the `count` layers that
/// `placement` chooses (docs/spec.md's BOTTOM/MIDDLE/MIXED/TOP rules).
bool isPlacedLayer(Placement placement, int64_t count, int64_t layer,
                   int64_t numLayers);

struct RouterSpec {
  /// The mnemonic of a moe routing-policy attribute (every policy the moe
  /// dialect defines is accepted: moe::getRoutingPolicies()).
  std::string policy = "experts_choose";
  /// Experts per token, for policies whose spec options include `k`.
  int64_t k = 1;
  /// For policies whose spec options include `batch_prioritized`.
  bool batchPrioritized = true;
  /// capped_experts_choose's method (`greedy` or `lp`), and the `lp`
  /// solver's iterations and entropy weight.
  std::string method = "greedy";
  int64_t iterations = moe::kDefaultLpIterations;
  double entropy = moe::kDefaultLpEntropy;
  double jitter = 0.0;
};

struct MoeSpec {
  int64_t numExperts = 0;
  RouterSpec router;
  double trainCapacityFactor = 1.0;
  double evalCapacityFactor = 1.0;
  int64_t groupSize = 4096;
  double expertDropout = 0.1;
  double loadBalanceLossFactor = 0.01;
  double zLossFactor = 1.0e-4;
};

struct HeadsSpec {
  bool mlm = true;
  bool sentenceOrder = true;
  /// Classes of the fine-tuning classifier (1 for regression), if any.
  std::optional<int64_t> classifierOutputs;
  bool regression = false;

  bool needsPooler() const { return sentenceOrder || classifierOutputs; }
};

struct ModelSpec {
  std::string name;
  int64_t vocabSize = 0;
  int64_t maxLength = 0;
  int64_t typeVocabSize = 4;
  int64_t embeddingWidth = 0;
  int64_t modelWidth = 0;
  int64_t feedForwardWidth = 0;
  int64_t numHeads = 0;
  int64_t numLayers = 0;
  Activation activation = Activation::gelu_tanh;
  double layerNormEpsilon = 1.0e-12;

  /// Per layer: its token mixing and whether its FFN is a mixture of experts.
  SmallVector<MixingKind> layerMixing;
  SmallVector<bool> layerIsMoe;
  std::optional<MoeSpec> moe;

  double hiddenDropout = 0.1;
  double attentionDropout = 0.1;
  HeadsSpec heads;

  /// Default compiled shapes (smxc --batch / --seq override them).
  int64_t compileBatch = 8;
  int64_t compileSequence = 0;

  /// The deepest stack a spec may describe.
  static constexpr int64_t kMaxLayers = 1024;

  /// Where the spec sets each size (model.d_model, moe.num_experts, ...), so
  /// that a tensor too large to allocate is reported at the size that makes
  /// it so.
  struct SizeSetting {
    std::string key;
    int64_t value = 0;
    unsigned line = 0, column = 0;
  };
  std::vector<SizeSetting> sizeSettings;

  /// True when some layer mixes without attention, so inputs must be padded
  /// to `maxLength`.
  bool needsFullLength() const;
  int64_t countMoeLayers() const;
};

} // namespace mlir::smx::spec

#endif // SMX_FRONTEND_SPEC_MODELSPEC_H
