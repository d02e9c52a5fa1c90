//===- UpdateStateInPlace.cpp - the train step writes its state in place ---===//
//
// A train step reads each parameter and its two Adam moments and returns
// their next values; after buffer-results-to-out-params the next values are
// written into out-parameters, so the caller must hold two copies of the
// whole training state. The update is elementwise and comes after every
// other read of the old value (the gradient norm that scales it needs every
// gradient first), so it can write over the old value instead: this pass
// proves that for each state out-parameter and, where it holds, makes the
// function write the argument's buffer and never touch the out-parameter.
// The manifest then tells the application that it needs one copy.
//
//===----------------------------------------------------------------------===//

#include "smx/Target/CPU/Passes.h"

#include "ResultsInPlace.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXUPDATESTATEINPLACEPASS
#include "smx/Target/CPU/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

/// The argument attributes that name a piece of training state.
static constexpr StringLiteral kStateAttrNames[] = {
    kParameterAttrName, kFirstMomentAttrName, kSecondMomentAttrName};

/// The state attribute of argument `index` of `function` and its value,
/// e.g. {"smx.first_moment", "layers.0.ffn.input.weight"}.
using StateName = std::pair<StringRef, StringRef>;
static std::optional<StateName> getStateName(func::FuncOp function,
                                             unsigned index) {
  for (StringRef name : kStateAttrNames)
    if (auto value = function.getArgAttrOfType<StringAttr>(index, name))
      return StateName(name, value.getValue());
  return std::nullopt;
}

/// Whether `op` may read `input` and write `output` in the same buffer: an
/// all-parallel linalg.generic that reads `input` only as an input and
/// writes `output` only as an init, both through the same indexing map, so
/// each element is read before it is written and by the same iteration.
static bool isElementwiseUpdate(Operation *op, Value input, Value output) {
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic || generic.getNumLoops() != generic.getNumParallelLoops())
    return false;
  std::optional<AffineMap> inputMap, outputMap;
  for (OpOperand &operand : generic->getOpOperands()) {
    bool isInit = generic.isDpsInit(&operand);
    if (operand.get() == input) {
      if (isInit || inputMap)
        return false;
      inputMap = generic.getMatchingIndexingMap(&operand);
    } else if (operand.get() == output) {
      if (!isInit || outputMap)
        return false;
      outputMap = generic.getMatchingIndexingMap(&operand);
    }
  }
  return inputMap && outputMap && *inputMap == *outputMap;
}

/// Whether every use of `input` (or of a memref derived from it) comes
/// before the first use of `output`, except for one elementwise update at
/// that first use.
static bool canWriteInPlace(Block &entry, BlockArgument input,
                            BlockArgument output) {
  Operation *firstWrite = nullptr;
  for (Operation *user : output.getUsers()) {
    Operation *anchor = entry.findAncestorOpInBlock(*user);
    if (!anchor)
      return false;
    if (!firstWrite || anchor->isBeforeInBlock(firstWrite))
      firstWrite = anchor;
  }
  if (!firstWrite)
    return false;
  SmallVector<Value> worklist = {input};
  DenseSet<Value> visited = {input};
  while (!worklist.empty()) {
    Value value = worklist.pop_back_val();
    for (OpOperand &use : value.getUses()) {
      Operation *user = use.getOwner();
      Operation *anchor = entry.findAncestorOpInBlock(*user);
      if (!anchor)
        return false;
      if (anchor == firstWrite) {
        if (user != anchor || value != input ||
            !isElementwiseUpdate(user, input, output))
          return false;
        continue;
      }
      if (!anchor->isBeforeInBlock(firstWrite))
        return false;
      for (Value result : user->getResults())
        if (isa<BaseMemRefType>(result.getType()) &&
            visited.insert(result).second)
          worklist.push_back(result);
    }
  }
  return true;
}

namespace {
struct SmxUpdateStateInPlacePass
    : public smx::impl::SmxUpdateStateInPlacePassBase<
          SmxUpdateStateInPlacePass> {
  void runOnOperation() override {
    func::FuncOp function = getOperation();
    auto entryArguments =
        function->getAttrOfType<IntegerAttr>(kEntryArgumentsAttrName);
    if (function.isExternal() || !entryArguments)
      return;
    unsigned numArguments = entryArguments.getInt();
    Block &entry = function.getBody().front();
    Builder builder(&getContext());
    // The next state where the update computes it, not in a buffer copied
    // to the out-parameter at the end.
    computeResultsInPlace(entry);

    DenseMap<StateName, unsigned> stateArguments;
    for (unsigned index = 0; index < numArguments; ++index)
      if (std::optional<StateName> state = getStateName(function, index))
        stateArguments[*state] = index;

    for (unsigned index = numArguments; index < function.getNumArguments();
         ++index) {
      std::optional<StateName> state = getStateName(function, index);
      if (!state)
        continue;
      auto found = stateArguments.find(*state);
      if (found == stateArguments.end())
        continue;
      BlockArgument input = entry.getArgument(found->second);
      BlockArgument output = entry.getArgument(index);
      if (input.getType() != output.getType() ||
          !canWriteInPlace(entry, input, output))
        continue;
      output.replaceAllUsesWith(input);
      function.setArgAttr(index, kInPlaceAttrName, builder.getUnitAttr());
    }
  }
};
} // namespace
