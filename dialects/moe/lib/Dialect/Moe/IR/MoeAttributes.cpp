//===- MoeAttributes.cpp - moe routing policy attributes ------------------===//

#include "smx/Dialect/Moe/IR/MoeAttributes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "smx/Dialect/Moe/IR/MoeDialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/TypeSwitch.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::moe;

#include "smx/Dialect/Moe/IR/MoeAttrInterfaces.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "smx/Dialect/Moe/IR/MoeAttributes.cpp.inc"

namespace {
/// One RoutingPolicyInfo per policy attribute class.
template <typename... Policies> struct RoutingPolicyTable {
  static llvm::ArrayRef<RoutingPolicyInfo> get() {
    static const RoutingPolicyInfo policies[] = {
        {Policies::getMnemonic(), Policies::getSpecOptions(),
         &Policies::buildFromSpec}...};
    return policies;
  }
};
} // namespace

llvm::ArrayRef<RoutingPolicyInfo> mlir::moe::getRoutingPolicies() {
  // Every attribute of the dialect is a routing policy (the interface's
  // static methods make each one define buildFromSpec and getSpecOptions).
  return RoutingPolicyTable<
#define GET_ATTRDEF_LIST
#include "smx/Dialect/Moe/IR/MoeAttributes.cpp.inc"
      >::get();
}

const RoutingPolicyInfo *mlir::moe::lookupRoutingPolicy(StringRef name) {
  for (const RoutingPolicyInfo &policy : getRoutingPolicies())
    if (policy.name == name)
      return &policy;
  return nullptr;
}

int64_t mlir::moe::computeDefaultExpertCapacity(int64_t tokensPerGroup,
                                                int64_t numExperts,
                                                double capacityFactor) {
  if (ShapedType::isDynamic(tokensPerGroup) ||
      ShapedType::isDynamic(numExperts) || numExperts == 0)
    return ShapedType::kDynamic;
  // std::nearbyint rounds half to even in the default rounding mode, as the
  // released code's round() does.
  auto rounded = static_cast<int64_t>(
      std::nearbyint(capacityFactor * static_cast<double>(tokensPerGroup) /
                     static_cast<double>(numExperts)));
  return std::min(std::max<int64_t>(rounded, 4), tokensPerGroup);
}

void MoeDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "smx/Dialect/Moe/IR/MoeAttributes.cpp.inc"
      >();
}

/// Checks the `k` of a policy that bounds the experts per token.
static LogicalResult verifyExpertsPerToken(
    function_ref<InFlightDiagnostic()> emitError, StringRef policy,
    int64_t k) {
  if (k >= 1)
    return success();
  return emitError() << "#moe." << policy << ": k must be at least 1, got "
                     << k;
}

LogicalResult
TokensChooseAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                         int64_t k, bool batchPrioritized) {
  return verifyExpertsPerToken(emitError, "tokens_choose", k);
}

StringRef mlir::moe::stringifyCappedRoutingMethod(CappedRoutingMethod method) {
  switch (method) {
  case CappedRoutingMethod::Greedy:
    return "greedy";
  case CappedRoutingMethod::Lp:
    return "lp";
  }
  llvm_unreachable("unknown capped routing method");
}

std::optional<CappedRoutingMethod>
mlir::moe::symbolizeCappedRoutingMethod(StringRef name) {
  for (CappedRoutingMethod method :
       {CappedRoutingMethod::Greedy, CappedRoutingMethod::Lp})
    if (name == stringifyCappedRoutingMethod(method))
      return method;
  return std::nullopt;
}

LogicalResult
CappedExpertsChooseAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                int64_t k, CappedRoutingMethod method,
                                int64_t iterations, APFloat entropyWeight) {
  if (failed(verifyExpertsPerToken(emitError, "capped_experts_choose", k)))
    return failure();
  double entropy = entropyWeight.convertToDouble();
  if (method != CappedRoutingMethod::Lp) {
    if (iterations != kDefaultLpIterations || entropy != kDefaultLpEntropy)
      return emitError() << "#moe.capped_experts_choose: iterations and "
                            "entropy apply to the lp method only";
    return success();
  }
  if (iterations < 1)
    return emitError() << "#moe.capped_experts_choose: iterations must be at "
                          "least 1, got "
                       << iterations;
  if (!(entropy > 0.0) || !std::isfinite(entropy))
    return emitError() << "#moe.capped_experts_choose: entropy must be a "
                          "positive number, got "
                       << entropy;
  return success();
}

// `<` `k` `=` integer (`,` `greedy` | `,` `lp` (`,` `iterations` `=` integer)?
// (`,` `entropy` `=` float)?)? `>`
Attribute CappedExpertsChooseAttr::parse(AsmParser &parser, Type) {
  int64_t k = 0;
  if (parser.parseLess() || parser.parseKeyword("k") || parser.parseEqual() ||
      parser.parseInteger(k))
    return {};
  CappedRoutingMethod method = CappedRoutingMethod::Greedy;
  int64_t iterations = kDefaultLpIterations;
  double entropy = kDefaultLpEntropy;
  if (succeeded(parser.parseOptionalComma())) {
    StringRef name;
    SMLoc nameLoc = parser.getCurrentLocation();
    if (parser.parseKeyword(&name))
      return {};
    std::optional<CappedRoutingMethod> parsed =
        symbolizeCappedRoutingMethod(name);
    if (!parsed) {
      parser.emitError(nameLoc, "expected 'greedy' or 'lp', got '")
          << name << "'";
      return {};
    }
    method = *parsed;
    if (method == CappedRoutingMethod::Lp) {
      if (succeeded(parser.parseOptionalComma())) {
        StringRef key;
        SMLoc keyLoc = parser.getCurrentLocation();
        if (parser.parseKeyword(&key) || parser.parseEqual())
          return {};
        if (key == "iterations") {
          if (parser.parseInteger(iterations))
            return {};
          if (succeeded(parser.parseOptionalComma()) &&
              (parser.parseKeyword("entropy") || parser.parseEqual() ||
               parser.parseFloat(entropy)))
            return {};
        } else if (key == "entropy") {
          if (parser.parseFloat(entropy))
            return {};
        } else {
          parser.emitError(keyLoc, "expected 'iterations' or 'entropy', got '")
              << key << "'";
          return {};
        }
      }
    }
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); },
                    parser.getContext(), k, method, iterations,
                    APFloat(entropy));
}

void CappedExpertsChooseAttr::print(AsmPrinter &printer) const {
  printer << "<k = " << getK();
  if (getMethod() == CappedRoutingMethod::Lp) {
    printer << ", lp";
    if (getIterations() != kDefaultLpIterations)
      printer << ", iterations = " << getIterations();
    if (getEntropy().convertToDouble() != kDefaultLpEntropy)
      printer << ", entropy = " << getEntropy().convertToDouble();
  }
  printer << ">";
}

// `<` `k` `=` integer (`,` `batch_prioritized`)? `>`
Attribute TokensChooseAttr::parse(AsmParser &parser, Type) {
  int64_t k = 0;
  if (parser.parseLess() || parser.parseKeyword("k") || parser.parseEqual() ||
      parser.parseInteger(k))
    return {};
  bool batchPrioritized = false;
  if (succeeded(parser.parseOptionalComma())) {
    if (parser.parseKeyword("batch_prioritized"))
      return {};
    batchPrioritized = true;
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(parser.getNameLoc()); },
                    parser.getContext(), k, batchPrioritized);
}

void TokensChooseAttr::print(AsmPrinter &printer) const {
  printer << "<k = " << getK();
  if (getBatchPrioritized())
    printer << ", batch_prioritized";
  printer << ">";
}
