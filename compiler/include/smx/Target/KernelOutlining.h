//===- KernelOutlining.h - shared pieces of the targets' outliners -*- C++ -*-//
//
// Both targets move loop nests out of the model's functions into kernels:
// the CPU into private functions (smx-outline-kernels), CUDA into
// `gpu.func`s (smx-outline-gpu-kernels). They capture the loop's operands
// and share kernels of equal text the same way.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_TARGET_KERNELOUTLINING_H
#define SMX_TARGET_KERNELOUTLINING_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/SetVector.h"

#include <string>

namespace mlir::smx {

/// The values `op` uses that are defined outside it, split into constants
/// (cloned into the kernel, so that kernels that differ only in constants'
/// SSA names compare equal) and the rest (the kernel's arguments, in order
/// of first use).
void collectKernelCaptures(Operation *op,
                           llvm::SetVector<Operation *> &constants,
                           llvm::SetVector<Value> &arguments);

/// The text of `kernel`, a symbol not yet in any symbol table, printed in
/// generic form under a fixed name: two kernels with the same key compute
/// the same thing on their arguments.
std::string getKernelKey(Operation *kernel);

} // namespace mlir::smx

#endif // SMX_TARGET_KERNELOUTLINING_H
