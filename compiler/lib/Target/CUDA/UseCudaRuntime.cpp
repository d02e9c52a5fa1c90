//===- UseCudaRuntime.cpp - runtime calls of the CUDA target --------------===//
//
// The linalg lowering calls the CPU runtime's kernels; the CUDA runtime
// implements some of them on the GPU with the same arguments. This pass
// points the calls at those (Passes.td).
//
//===----------------------------------------------------------------------===//

#include "smx/Target/CUDA/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "smx_runtime/model_abi.h"

namespace mlir::smx {
#define GEN_PASS_DEF_SMXUSECUDARUNTIMEPASS
#include "smx/Target/CUDA/Passes.h.inc"
} // namespace mlir::smx

using namespace mlir;
using namespace mlir::smx;

namespace {

/// The CPU entry points the CUDA runtime implements, and their
/// counterparts (model_abi.h).
constexpr std::pair<StringLiteral, StringLiteral> kCudaCounterparts[] = {
    {SMXRT_SYMBOL_STRING(SMXRT_CPU_SGEMM_MEMREF),
     SMXRT_SYMBOL_STRING(SMXRT_CUDA_SGEMM_MEMREF)},
    // cuBLASLt's GEMM rounds its operands to bf16 itself.
    {SMXRT_SYMBOL_STRING(SMXRT_CPU_SGEMM_BF16_MEMREF),
     SMXRT_SYMBOL_STRING(SMXRT_CUDA_SGEMM_MEMREF)},
};

struct SmxUseCudaRuntimePass
    : public smx::impl::SmxUseCudaRuntimePassBase<SmxUseCudaRuntimePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (auto [cpuName, cudaName] : kCudaCounterparts) {
      auto cpu = symbols.lookup<func::FuncOp>(cpuName);
      if (!cpu)
        continue;
      auto cuda = symbols.lookup<func::FuncOp>(cudaName);
      if (!cuda) {
        cuda = cast<func::FuncOp>(cpu->clone());
        cuda.setName(cudaName);
        symbols.insert(cuda, Block::iterator(cpu));
      }
      if (failed(SymbolTable::replaceAllSymbolUses(
              cpu.getSymNameAttr(), cuda.getSymNameAttr(), module))) {
        cpu.emitError() << "cannot replace the uses of " << cpuName;
        return signalPassFailure();
      }
      cpu.erase();
    }
  }
};

} // namespace
