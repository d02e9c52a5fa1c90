//===- kernel_contract.cpp - Checking kernel preconditions ----------------===//

#include "kernel_contract.h"

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

namespace smxrt {
namespace {

[[noreturn]] void printAndAbort(const char *kernel, const char *what,
                                const char *format, va_list arguments) {
  std::fprintf(stderr, "%s: %s", kernel, what);
  std::vfprintf(stderr, format, arguments);
  std::fputc('\n', stderr);
  std::fflush(stderr);
  std::abort();
}

} // namespace

void reportKernelContractViolation(const char *kernel, const char *format,
                                   ...) {
  va_list arguments;
  va_start(arguments, format);
  printAndAbort(kernel, "broken precondition (a compiler bug): ", format,
                arguments);
}

void reportKernelFailure(const char *kernel, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  printAndAbort(kernel, "", format, arguments);
}

} // namespace smxrt
