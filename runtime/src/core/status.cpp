//===- status.cpp - Error statuses ---------------------------------------===//
//
// A status is a heap object holding a code and a message. If allocating one
// fails we hand out a static out-of-memory status instead, which
// smxrt_status_free recognizes and leaves alone.
//
//===----------------------------------------------------------------------===//

#include "status_internal.h"

#include <cstdarg>
#include <cstdio>
#include <utility>

struct smxrt_status_storage_t {
  smxrt_status_code_t code;
  std::string message;
};

namespace smxrt {
namespace {

// The message is short enough to need no heap memory of its own.
smxrt_status_storage_t outOfMemoryStatus{SMXRT_STATUS_RESOURCE_EXHAUSTED,
                                         "out of memory"};

std::string formatStringV(const char *format, va_list arguments) {
  va_list counting;
  va_copy(counting, arguments);
  int length = std::vsnprintf(nullptr, 0, format, counting);
  va_end(counting);
  if (length <= 0)
    return std::string();
  std::string result(static_cast<size_t>(length), '\0');
  std::vsnprintf(&result[0], result.size() + 1, format, arguments);
  return result;
}

} // namespace

smxrt_status_t makeStatus(smxrt_status_code_t code, std::string message) {
  if (code == SMXRT_STATUS_OK)
    return nullptr;
  auto *status = new (std::nothrow) smxrt_status_storage_t{code, {}};
  if (!status)
    return &outOfMemoryStatus;
  status->message = std::move(message);
  return status;
}

smxrt_status_t annotateStatus(smxrt_status_t status, const std::string &prefix,
                              smxrt_status_code_t newCode) {
  // The shared out-of-memory status must not change.
  if (!status || status == &outOfMemoryStatus)
    return status;
  status->message.insert(0, prefix);
  if (newCode != SMXRT_STATUS_OK)
    status->code = newCode;
  return status;
}

std::string formatString(const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  std::string result = formatStringV(format, arguments);
  va_end(arguments);
  return result;
}

smxrt_status_t makeStatusf(smxrt_status_code_t code, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  std::string message = formatStringV(format, arguments);
  va_end(arguments);
  return makeStatus(code, std::move(message));
}

} // namespace smxrt

extern "C" {

smxrt_status_code_t smxrt_status_code(smxrt_status_t status) {
  return status ? status->code : SMXRT_STATUS_OK;
}

const char *smxrt_status_message(smxrt_status_t status) {
  return status ? status->message.c_str() : "";
}

const char *smxrt_status_code_name(smxrt_status_code_t code) {
  switch (code) {
  case SMXRT_STATUS_OK:
    return "OK";
  case SMXRT_STATUS_INVALID_ARGUMENT:
    return "INVALID_ARGUMENT";
  case SMXRT_STATUS_NOT_FOUND:
    return "NOT_FOUND";
  case SMXRT_STATUS_IO_ERROR:
    return "IO_ERROR";
  case SMXRT_STATUS_DATA_LOSS:
    return "DATA_LOSS";
  case SMXRT_STATUS_OUT_OF_RANGE:
    return "OUT_OF_RANGE";
  case SMXRT_STATUS_UNIMPLEMENTED:
    return "UNIMPLEMENTED";
  case SMXRT_STATUS_INTERNAL:
    return "INTERNAL";
  case SMXRT_STATUS_RESOURCE_EXHAUSTED:
    return "RESOURCE_EXHAUSTED";
  case SMXRT_STATUS_DEADLINE_EXCEEDED:
    return "DEADLINE_EXCEEDED";
  case SMXRT_STATUS_UNAVAILABLE:
    return "UNAVAILABLE";
  }
  return "UNKNOWN";
}

smxrt_status_t smxrt_status_make(smxrt_status_code_t code,
                                 const char *message) {
  return smxrt::catchExceptions(
      [&] { return smxrt::makeStatus(code, message ? message : ""); });
}

void smxrt_status_free(smxrt_status_t status) {
  if (status != &smxrt::outOfMemoryStatus)
    delete status;
}

} // extern "C"
