//===- SetCapacityFactor.cpp - change the capacity of every route ---------===//

#include "smx/Dialect/Moe/IR/MoeOps.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "smx/Dialect/Moe/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::moe {
#define GEN_PASS_DEF_MOESETCAPACITYFACTORPASS
#include "smx/Dialect/Moe/Transforms/Passes.h.inc"
} // namespace mlir::moe

using namespace mlir;
using namespace mlir::moe;

/// Checks that `op` verifies alone with its new operand types, including
/// the checks that need its symbols (`moe.all_to_all` checks its result
/// shape against its grid there). The first diagnostic is returned as
/// `reason` instead of being reported, so the pass reports one error.
static LogicalResult verifyAlone(Operation *op,
                                 SymbolTableCollection &symbolTables,
                                 std::string &reason) {
  ScopedDiagnosticHandler captureFirstError(
      op->getContext(), [&](Diagnostic &diagnostic) {
        if (reason.empty())
          reason = diagnostic.str();
        return success();
      });
  if (failed(verify(op, /*verifyRecursively=*/false)))
    return failure();
  if (auto symbolUser = dyn_cast<SymbolUserOpInterface>(op))
    return symbolUser.verifySymbolUses(symbolTables);
  return success();
}

/// Retypes the results of the function that `returnOp` returns from, so a
/// model function can return routing results.
static LogicalResult retypeFunctionResults(func::ReturnOp returnOp) {
  auto function = returnOp->getParentOfType<func::FuncOp>();
  if (!function)
    return failure();
  FunctionType type = function.getFunctionType();
  if (type.getNumResults() == returnOp.getNumOperands() &&
      TypeRange(type.getResults()) == returnOp.getOperandTypes())
    return success();
  auto module = function->getParentOfType<ModuleOp>();
  if (module && !SymbolTable::symbolKnownUseEmpty(function, module))
    return returnOp.emitOpError()
           << "cannot be retyped for a new expert capacity: function @"
           << function.getSymName() << " is called, and its callers would "
           << "no longer match its results";
  function.setFunctionType(FunctionType::get(
      function.getContext(), type.getInputs(), returnOp.getOperandTypes()));
  return success();
}

/// Re-infers the result types of `op` in place. Returns true when a type
/// changed, so its users must be retyped in turn. An op that cannot infer
/// its result types (`moe.combine`, whose `[T, d]` result does not depend on
/// the capacity) must accept its new operand types as they are.
static FailureOr<bool> reinferResultTypes(Operation *op,
                                          SymbolTableCollection &symbolTables) {
  if (auto returnOp = dyn_cast<func::ReturnOp>(op)) {
    if (failed(retypeFunctionResults(returnOp)))
      return failure();
    return false;
  }
  // The exchange's result type depends on its grid, a symbol.
  if (auto exchange = dyn_cast<AllToAllOp>(op)) {
    FailureOr<RankedTensorType> type = exchange.inferResultType(symbolTables);
    if (failed(type))
      return op->emitOpError() << "cannot be retyped for a new expert "
                                  "capacity: its split axis does not divide "
                                  "over its grid's devices";
    if (exchange.getType() == *type)
      return false;
    exchange.getResult().setType(*type);
    return true;
  }
  auto inferrable = dyn_cast<InferTypeOpInterface>(op);
  if (!inferrable) {
    std::string reason;
    if (failed(verifyAlone(op, symbolTables, reason)))
      return op->emitOpError()
             << "cannot be retyped for a new expert capacity: it does not "
                "infer its result types, and with the new operand types: "
             << reason;
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
      if (smx::isInTrainStep(route))
        return;
      route.setCapacityFactorAttr(builder.getF64FloatAttr(capacityFactor));
      worklist.insert(route);
    });
    // Types flow forward along def-use edges, so a worklist visits each op
    // whose operand types changed.
    SymbolTableCollection symbolTables;
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      FailureOr<bool> changed = reinferResultTypes(op, symbolTables);
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
