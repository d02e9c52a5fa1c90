//===- ProfileCalls.cpp - time every call of the entry functions ----------===//
//
// `smxc --profile`: after smx-outline-kernels, an entry function is a
// sequence of calls (its kernels, the runtime's GEMMs and routes) and
// copies. This pass numbers each of them as a profile site, brackets it
// with smxrt_profile_begin/end(site), and records what the site is: the
// model path it computes, its kind, the bytes of the buffers it touches
// and, for GEMMs, its floating-point operations. smx-emit-entry-points
// puts that list in the manifest; `OUT profile` reads the times back.
//
//===----------------------------------------------------------------------===//

#include "smx/Target/CPU/Passes.h"
#include "smx/Target/CPU/StaticSizes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"
#include "smx/Dialect/Smx/IR/ModelInterface.h"
#include "smx_runtime/model_abi.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXPROFILECALLSPASS
#include "smx/Target/CPU/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

/// Bytes of the static memref of integers or floats behind `value` (through
/// a cast to an unranked memref), or 0.
static int64_t getBufferBytes(Value value) {
  if (auto cast = value.getDefiningOp<memref::CastOp>())
    value = cast.getSource();
  auto type = dyn_cast<MemRefType>(value.getType());
  return type ? getStaticByteSize(type).value_or(0) : 0;
}

/// Whether the kernel `callee` reduces (carries a value around a loop).
static bool isReduction(func::FuncOp callee) {
  return callee &&
         callee
             .walk([](scf::ForOp loop) {
               return loop.getNumResults() > 0 ? WalkResult::interrupt()
                                               : WalkResult::advance();
             })
             .wasInterrupted();
}

static func::FuncOp declareHook(ModuleOp module, StringRef name) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder builder = OpBuilder::atBlockBegin(module.getBody());
  auto hook = func::FuncOp::create(
      builder, module.getLoc(), name,
      builder.getFunctionType({builder.getI64Type()}, {}));
  hook.setPrivate();
  return hook;
}

namespace {
struct SmxProfileCallsPass
    : public smx::impl::SmxProfileCallsPassBase<SmxProfileCallsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Builder attrs(&getContext());
    func::FuncOp begin =
        declareHook(module, SMXRT_SYMBOL_STRING(SMXRT_PROFILE_BEGIN));
    func::FuncOp end =
        declareHook(module, SMXRT_SYMBOL_STRING(SMXRT_PROFILE_END));
    SymbolTable symbols(module);
    SmallVector<Attribute> sites;

    for (func::FuncOp function : module.getOps<func::FuncOp>()) {
      if (function.isExternal() ||
          !function->hasAttr(kEntryArgumentsAttrName))
        continue;
      SmallVector<Operation *> timed;
      for (Operation &op : function.getBody().front())
        if (isa<func::CallOp, memref::CopyOp>(op))
          timed.push_back(&op);
      for (Operation *op : timed) {
        StringRef kind = SMXRT_PROFILE_KIND_COPY;
        StringRef callee = SMXRT_PROFILE_KIND_COPY;
        int64_t flops = 0;
        if (auto call = dyn_cast<func::CallOp>(op)) {
          callee = call.getCallee();
          if (callee == SMXRT_SYMBOL_STRING(SMXRT_CPU_SGEMM_MEMREF) ||
              callee == SMXRT_SYMBOL_STRING(SMXRT_CPU_SGEMM_BF16_MEMREF)) {
            kind = SMXRT_PROFILE_KIND_GEMM;
            // outer, inner, m, n, k come first (memref_abi.h).
            flops = 2;
            for (Value size : call.getOperands().take_front(5))
              flops *= getConstantIntValue(size).value_or(0);
          } else if (callee == SMXRT_SYMBOL_STRING(SMXRT_CPU_ROUTE_MEMREF)) {
            kind = SMXRT_PROFILE_KIND_ROUTE;
          } else {
            kind = isReduction(symbols.lookup<func::FuncOp>(callee))
                       ? SMXRT_PROFILE_KIND_REDUCTION
                       : SMXRT_PROFILE_KIND_ELEMENTWISE;
          }
        }
        int64_t bytes = 0;
        for (Value operand : op->getOperands())
          bytes += getBufferBytes(operand);

        int64_t site = static_cast<int64_t>(sites.size());
        sites.push_back(attrs.getDictionaryAttr({
            attrs.getNamedAttr(SMXRT_PROFILE_AT,
                               attrs.getStringAttr(getModelPath(op->getLoc()))),
            attrs.getNamedAttr(SMXRT_PROFILE_KIND, attrs.getStringAttr(kind)),
            attrs.getNamedAttr(SMXRT_PROFILE_BYTES,
                               attrs.getI64IntegerAttr(bytes)),
            attrs.getNamedAttr(SMXRT_PROFILE_FLOPS,
                               attrs.getI64IntegerAttr(flops)),
            attrs.getNamedAttr(SMXRT_PROFILE_CALLEE,
                               attrs.getStringAttr(callee)),
            attrs.getNamedAttr(SMXRT_PROFILE_ENTRY, function.getSymNameAttr()),
        }));
        OpBuilder builder(op);
        Value index = arith::ConstantIntOp::create(builder, op->getLoc(),
                                                   builder.getI64Type(), site);
        func::CallOp::create(builder, op->getLoc(), begin, index);
        builder.setInsertionPointAfter(op);
        func::CallOp::create(builder, op->getLoc(), end, index);
      }
    }
    module->setAttr(kProfileSitesAttrName, attrs.getArrayAttr(sites));
  }
};
} // namespace
