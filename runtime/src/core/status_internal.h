//===- status_internal.h - Building statuses in C++ ------------*- C++ -*-===//
//
// Helpers for the runtime's C++ implementation: make an error status from a
// std::string or a printf-style format, propagate it, and keep C++
// exceptions (std::bad_alloc from a container) from crossing the C ABI.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_CORE_STATUS_INTERNAL_H
#define SMX_RUNTIME_CORE_STATUS_INTERNAL_H

#include "smx_runtime/status.h"

#include <exception>
#include <new>
#include <string>
#include <utility>

namespace smxrt {

/// Returns an error status owning `message`; NULL for SMXRT_STATUS_OK.
SMXRT_SUPPORT_API smxrt_status_t makeStatus(smxrt_status_code_t code,
                                            std::string message);

/// An INVALID_ARGUMENT status: what the application returns for bad
/// command lines, settings and data.
inline smxrt_status_t invalidArgument(std::string message) {
  return makeStatus(SMXRT_STATUS_INVALID_ARGUMENT, std::move(message));
}

/// printf-style variant of makeStatus.
SMXRT_SUPPORT_API smxrt_status_t makeStatusf(smxrt_status_code_t code,
                                             const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/// Adds context to an error: prefixes its message with `prefix` and, unless
/// `newCode` is SMXRT_STATUS_OK, replaces its code. Returns `status` (NULL
/// stays NULL).
SMXRT_SUPPORT_API smxrt_status_t
annotateStatus(smxrt_status_t status, const std::string &prefix,
               smxrt_status_code_t newCode = SMXRT_STATUS_OK);

/// printf into a std::string.
SMXRT_SUPPORT_API std::string formatString(const char *format, ...)
    __attribute__((format(printf, 1, 2)));

/// Runs `body` (returning smxrt_status_t) and turns an escaping exception
/// into an error status. Every ABI entry point that may allocate uses it.
template <typename Body> smxrt_status_t catchExceptions(Body &&body) noexcept {
#if defined(__cpp_exceptions)
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return makeStatus(SMXRT_STATUS_RESOURCE_EXHAUSTED, "out of memory");
  } catch (const std::exception &error) {
    return makeStatusf(SMXRT_STATUS_INTERNAL, "unexpected exception: %s",
                       error.what());
  } catch (...) {
    return makeStatus(SMXRT_STATUS_INTERNAL, "unexpected exception");
  }
#else
  return body();
#endif
}

} // namespace smxrt

/// Returns from the enclosing function if `expr` yields an error status.
#define SMXRT_RETURN_IF_ERROR(expr)                                            \
  do {                                                                         \
    smxrt_status_t smxrtStatusOrNull = (expr);                                 \
    if (smxrtStatusOrNull)                                                     \
      return smxrtStatusOrNull;                                                \
  } while (false)

#endif // SMX_RUNTIME_CORE_STATUS_INTERNAL_H
