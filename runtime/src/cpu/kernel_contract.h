//===- kernel_contract.h - Checking kernel preconditions --------*- C++ -*-===//
//
// Kernels called by compiled code return no status: their arguments come from
// the compiler, so a broken precondition is a compiler bug. It is reported
// once on stderr, naming the kernel and the value, and the process aborts
// rather than computing garbage.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_CPU_KERNEL_CONTRACT_H
#define SMX_RUNTIME_CPU_KERNEL_CONTRACT_H

namespace smxrt {

/// Prints "<kernel>: broken precondition (a compiler bug): <message>" and
/// aborts.
[[noreturn]] void reportKernelContractViolation(const char *kernel,
                                                const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/// Prints "<kernel>: <message>" and aborts: for failures that are nobody's
/// bug, such as running out of memory.
[[noreturn]] void reportKernelFailure(const char *kernel, const char *format,
                                      ...)
    __attribute__((format(printf, 2, 3)));

} // namespace smxrt

#endif // SMX_RUNTIME_CPU_KERNEL_CONTRACT_H
