//===- OutlineKernels.cpp - loop nests as functions, compiled once ---------===//
//
// After the linalg lowering, @forward and @train_step are each one function
// holding every loop nest of the model, layer after layer: tens of thousands
// of lines that LLVM's loop passes (induction variables, vectorizer,
// unroller) walk as one function, and the same loop nest once per layer.
// This pass moves each top-level loop nest of a function into a function of
// its own (its kernel), with the values it uses from outside as arguments
// and the constants it uses cloned inside, and keeps one kernel per distinct
// body: the twelve layers of an encoder call the same few kernels with their
// own buffers. LLVM then optimizes each distinct kernel once, in a small
// function; the kernels are `noinline` so that it does not paste them back.
//
//===----------------------------------------------------------------------===//

#include "smx/Target/CPU/Passes.h"
#include "smx/Target/KernelOutlining.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXOUTLINEKERNELSPASS
#include "smx/Target/CPU/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

/// Whether `op` is a loop nest to outline: a loop without results (its
/// effects are on memory), at the top level of a function.
static bool isKernel(Operation *op) {
  return isa<scf::ParallelOp, scf::ForOp>(op) && op->getNumResults() == 0;
}

void mlir::smx::collectKernelCaptures(Operation *op,
                                      SetVector<Operation *> &constants,
                                      SetVector<Value> &arguments) {
  op->walk([&](Operation *nested) {
    for (Value operand : nested->getOperands()) {
      Region *region = operand.getParentRegion();
      if (op->isProperAncestor(region->getParentOp()) ||
          region->getParentOp() == op)
        continue;
      Operation *definition = operand.getDefiningOp();
      if (definition && definition->hasTrait<OpTrait::ConstantLike>())
        constants.insert(definition);
      else
        arguments.insert(operand);
    }
  });
}

std::string mlir::smx::getKernelKey(Operation *kernel) {
  StringAttr name = SymbolTable::getSymbolName(kernel);
  SymbolTable::setSymbolName(kernel, "kernel");
  std::string key;
  llvm::raw_string_ostream stream(key);
  kernel->print(stream, OpPrintingFlags().printGenericOpForm().useLocalScope());
  SymbolTable::setSymbolName(kernel, name);
  return key;
}

namespace {
struct SmxOutlineKernelsPass
    : public smx::impl::SmxOutlineKernelsPassBase<SmxOutlineKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    SymbolTable symbols(module);
    llvm::StringMap<func::FuncOp> kernelsByKey;

    SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());
    for (func::FuncOp function : functions) {
      if (function.isExternal())
        continue;
      SmallVector<Operation *> loops;
      for (Operation &op : function.getBody().front())
        if (isKernel(&op))
          loops.push_back(&op);
      for (Operation *loop : loops) {
        SetVector<Operation *> constants;
        SetVector<Value> arguments;
        collectKernelCaptures(loop, constants, arguments);

        OpBuilder builder(module.getBody(), module.getBody()->end());
        auto kernel = func::FuncOp::create(
            builder, loop->getLoc(),
            (function.getName() + "_kernel").str(),
            builder.getFunctionType(TypeRange(arguments.getArrayRef()), {}));
        Block *body = kernel.addEntryBlock();
        IRMapping mapping;
        for (auto [value, argument] :
             llvm::zip(arguments, body->getArguments()))
          mapping.map(value, argument);
        builder.setInsertionPointToStart(body);
        for (Operation *constant : constants)
          builder.clone(*constant, mapping);
        builder.clone(*loop, mapping);
        func::ReturnOp::create(builder, loop->getLoc());

        std::string key = getKernelKey(kernel);
        func::FuncOp &existing = kernelsByKey[key];
        if (existing) {
          kernel.erase();
          kernel = existing;
        } else {
          existing = kernel;
          kernel.setPrivate();
          // Its own function for LLVM, never pasted back into the caller,
          // and not a symbol of the object.
          kernel->setAttr("passthrough",
                          ArrayAttr::get(context, {StringAttr::get(
                                                      context, "noinline")}));
          kernel->setAttr("llvm.linkage",
                          LLVM::LinkageAttr::get(context,
                                                 LLVM::Linkage::Internal));
          symbols.insert(kernel);
        }
        OpBuilder callBuilder(loop);
        func::CallOp::create(callBuilder, loop->getLoc(), kernel,
                             arguments.getArrayRef());
        loop->erase();
      }
    }
  }
};
} // namespace
