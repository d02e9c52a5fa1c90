//===- MoeAttributes.h - moe routing policy attributes ----------*- C++ -*-===//

#ifndef SMX_DIALECT_MOE_IR_MOEATTRIBUTES_H
#define SMX_DIALECT_MOE_IR_MOEATTRIBUTES_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/ArrayRef.h"
#include <optional>

// The policy codes of the runtime's route kernel (the compiler-runtime
// contract).
#include "smx_runtime/model_abi.h"

namespace mlir::moe {

/// How #moe.capped_experts_choose fills its slots.
enum class CappedRoutingMethod : uint32_t {
  /// In order of decreasing probability.
  Greedy,
  /// In order of the entropy-regularized program's assignment.
  Lp,
};

/// The method's name in the IR and in specs, and back.
llvm::StringRef stringifyCappedRoutingMethod(CappedRoutingMethod method);
std::optional<CappedRoutingMethod>
symbolizeCappedRoutingMethod(llvm::StringRef name);

/// The defaults of the `lp` method's solver.
inline constexpr int64_t kDefaultLpIterations = 50;
inline constexpr double kDefaultLpEntropy = 0.03;

/// The per-group program a policy solves before it fills slots
/// (RoutingPolicyAttrInterface::getSolver).
struct RoutingSolver {
  /// Rounds of scaling.
  int64_t iterations;
  /// The weight of the entropy term.
  double entropy;
};

/// The options a spec's `moe.router` section may set on a policy
/// (docs/spec.md); each policy reads the ones its getSpecOptions() names.
struct RoutingPolicyOptions {
  int64_t k = 1;
  bool batchPrioritized = false;
  CappedRoutingMethod cappedMethod = CappedRoutingMethod::Greedy;
  int64_t lpIterations = kDefaultLpIterations;
  double lpEntropy = kDefaultLpEntropy;
};

/// Which RoutingPolicyOptions a policy reads.
struct RoutingPolicyOptionSet {
  bool k = false;
  bool batchPrioritized = false;
  /// `method`, and `iterations` and `entropy` for `lp`.
  bool cappedMethod = false;
};

/// `min(max(round_half_even(CF * T / E), 4), T)`: the capacity rule of the
/// released code, with an expert never holding more slots than its group
/// has tokens. Dynamic when T or E is.
int64_t computeDefaultExpertCapacity(int64_t tokensPerGroup, int64_t numExperts,
                                     double capacityFactor);

/// A routing policy of the dialect, as the spec frontend sees it: its
/// mnemonic, the options it reads and how to build it.
struct RoutingPolicyInfo {
  llvm::StringRef name;
  RoutingPolicyOptionSet specOptions;
  Attribute (*buildFromSpec)(MLIRContext *context,
                             const RoutingPolicyOptions &options);
};

/// Every routing policy attribute of the moe dialect, in declaration order.
llvm::ArrayRef<RoutingPolicyInfo> getRoutingPolicies();

/// The policy whose mnemonic is `name`, or nullptr.
const RoutingPolicyInfo *lookupRoutingPolicy(llvm::StringRef name);

} // namespace mlir::moe

#include "smx/Dialect/Moe/IR/MoeAttrInterfaces.h.inc"

#define GET_ATTRDEF_CLASSES
#include "smx/Dialect/Moe/IR/MoeAttributes.h.inc"

#endif // SMX_DIALECT_MOE_IR_MOEATTRIBUTES_H
