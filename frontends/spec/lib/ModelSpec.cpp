//===- ModelSpec.cpp - a parsed, validated model spec ---------------------===//

#include "smx/Frontend/Spec/ModelSpec.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace mlir::smx::spec;

StringRef mlir::smx::spec::stringifyMixingKind(MixingKind kind) {
  switch (kind) {
  case MixingKind::Linear:
    return "linear";
  case MixingKind::Fourier:
    return "fourier";
  case MixingKind::Hartley:
    return "hartley";
  case MixingKind::Circulant:
    return "circulant";
  case MixingKind::Toeplitz:
    return "toeplitz";
  case MixingKind::Attention:
    return "attention";
  }
  llvm_unreachable("unknown mixing kind");
}

std::optional<MixingKind> mlir::smx::spec::parseMixingKind(StringRef text) {
  return llvm::StringSwitch<std::optional<MixingKind>>(text)
      .Case("linear", MixingKind::Linear)
      .Case("fourier", MixingKind::Fourier)
      .Case("hartley", MixingKind::Hartley)
      .Case("circulant", MixingKind::Circulant)
      .Case("toeplitz", MixingKind::Toeplitz)
      .Case("attention", MixingKind::Attention)
      .Default(std::nullopt);
}

std::optional<Placement> mlir::smx::spec::parsePlacement(StringRef text) {
  return llvm::StringSwitch<std::optional<Placement>>(text)
      .Case("BOTTOM", Placement::Bottom)
      .Case("MIDDLE", Placement::Middle)
      .Case("MIXED", Placement::Mixed)
      .Case("TOP", Placement::Top)
      .Default(std::nullopt);
}

bool mlir::smx::spec::isPlacedLayer(Placement placement, int64_t count,
                                    int64_t layer, int64_t numLayers) {
  switch (placement) {
  case Placement::Bottom:
    return layer < count;
  case Placement::Middle:
    return numLayers - count <= 2 * layer && 2 * layer < numLayers + count;
  case Placement::Mixed:
    return layer % (numLayers / count) == 0;
  case Placement::Top:
    return layer >= numLayers - count;
  }
  llvm_unreachable("unknown placement");
}

bool ModelSpec::needsFullLength() const {
  return llvm::any_of(layerMixing,
                      [](MixingKind kind) { return kind != MixingKind::Attention; });
}

int64_t ModelSpec::countMoeLayers() const {
  return llvm::count(layerIsMoe, true);
}
