//===- SetCapacityFactor.cpp - change the capacity of every route ---------===//

#include "smx/Dialect/Moe/IR/MoeOps.h"
#include "smx/Dialect/Moe/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::moe {
#define GEN_PASS_DEF_MOESETCAPACITYFACTORPASS
#include "smx/Dialect/Moe/Transforms/Passes.h.inc"
} // namespace mlir::moe

using namespace mlir;
using namespace mlir::moe;

/// Re-infers the result types of `op` in place. Returns true when a type
/// changed, so its users must be retyped in turn. An op that cannot infer
/// its result types (`moe.combine`, whose `[T, d]` result does not depend on
/// the capacity) must accept its new operand types as they are.
static FailureOr<bool> reinferResultTypes(Operation *op) {
  auto inferrable = dyn_cast<InferTypeOpInterface>(op);
  if (!inferrable) {
    if (failed(verify(op, /*verifyRecursively=*/false)))
      return op->emitOpError()
             << "cannot be retyped for a new expert capacity: it does not "
                "implement InferTypeOpInterface";
    return false;
  }
  SmallVector<Type> inferredTypes;
  if (failed(inferrable.inferReturnTypes(
          op->getContext(), op->getLoc(), op->getOperands(),
          op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
          op->getRegions(), inferredTypes)))
    return failure();
  bool changed = false;
  for (auto [result, type] : llvm::zip_equal(op->getResults(), inferredTypes)) {
    if (result.getType() == type)
      continue;
    result.setType(type);
    changed = true;
  }
  return changed;
}

namespace {
struct MoeSetCapacityFactorPass
    : public moe::impl::MoeSetCapacityFactorPassBase<MoeSetCapacityFactorPass> {
  using Base::Base;

  void runOnOperation() override {
    if (!(capacityFactor > 0.0)) {
      getOperation()->emitError()
          << "moe-set-capacity-factor: capacity-factor must be positive, got "
          << capacityFactor;
      return signalPassFailure();
    }
    Builder builder(&getContext());
    llvm::SetVector<Operation *> worklist;
    getOperation()->walk([&](RouteOp route) {
      route.setCapacityFactorAttr(builder.getF64FloatAttr(capacityFactor));
      worklist.insert(route);
    });
    // Types flow forward along def-use edges, so a worklist visits each op
    // whose operand types changed.
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      FailureOr<bool> changed = reinferResultTypes(op);
      if (failed(changed))
        return signalPassFailure();
      if (!*changed)
        continue;
      for (Operation *user : op->getUsers())
        worklist.insert(user);
    }
  }
};
} // namespace
