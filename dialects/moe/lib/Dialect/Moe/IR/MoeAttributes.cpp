//===- MoeAttributes.cpp - moe routing policy attributes ------------------===//

#include "smx/Dialect/Moe/IR/MoeAttributes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "smx/Dialect/Moe/IR/MoeDialect.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::moe;

#include "smx/Dialect/Moe/IR/MoeAttrInterfaces.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "smx/Dialect/Moe/IR/MoeAttributes.cpp.inc"

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

LogicalResult
CappedExpertsChooseAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                int64_t k) {
  return verifyExpertsPerToken(emitError, "capped_experts_choose", k);
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
