/*===- smx_runtime/status.h - Error reporting -------------------*- C -*-===*
 *
 * Every fallible runtime function returns an smxrt_status_t. NULL means
 * success; anything else is an owned error that the caller reads with
 * smxrt_status_code/smxrt_status_message and releases with
 * smxrt_status_free. Messages are complete sentences that name the offending
 * file, tensor or value, ready to print once.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_STATUS_H
#define SMX_RUNTIME_STATUS_H

#include "smx_runtime/api.h"

SMXRT_EXTERN_C_BEGIN

/* The values are part of the ABI: never renumber, only append. */
typedef enum smxrt_status_code_e {
  SMXRT_STATUS_OK = 0,
  /* The caller passed a bad argument (null pointer, mismatched shape, ...). */
  SMXRT_STATUS_INVALID_ARGUMENT = 1,
  /* A file or a named entity (tensor, metadata key) does not exist. */
  SMXRT_STATUS_NOT_FOUND = 2,
  /* The operating system reported a failure reading or writing a file. */
  SMXRT_STATUS_IO_ERROR = 3,
  /* A file is corrupt or truncated. */
  SMXRT_STATUS_DATA_LOSS = 4,
  /* An index or value lies outside its valid range. */
  SMXRT_STATUS_OUT_OF_RANGE = 5,
  /* Well-formed input that this runtime does not support. */
  SMXRT_STATUS_UNIMPLEMENTED = 6,
  /* A bug in the runtime. */
  SMXRT_STATUS_INTERNAL = 7,
  /* Out of memory, or a size too large to represent. */
  SMXRT_STATUS_RESOURCE_EXHAUSTED = 8,
  /* A collective did not complete in time: another process of the job
   * failed, or the processes diverged (smx_runtime/comm.h). */
  SMXRT_STATUS_DEADLINE_EXCEEDED = 9,
  /* Hardware or a system component the program needs is not there: no CUDA
   * driver or device (smx_runtime/cuda.h). */
  SMXRT_STATUS_UNAVAILABLE = 10,
} smxrt_status_code_t;

/* Opaque error object; NULL is success. */
typedef struct smxrt_status_storage_t *smxrt_status_t;

/* Returns SMXRT_STATUS_OK for NULL. */
SMXRT_API smxrt_status_code_t smxrt_status_code(smxrt_status_t status);

/* Returns the message, "" for NULL. Valid until the status is freed. */
SMXRT_API const char *smxrt_status_message(smxrt_status_t status);

/* Returns the code's name, e.g. "DATA_LOSS"; "UNKNOWN" for a bad value. */
SMXRT_API const char *smxrt_status_code_name(smxrt_status_code_t code);

/* Makes an error with a copy of `message`, for callbacks written in C.
 * Returns NULL for SMXRT_STATUS_OK. */
SMXRT_API smxrt_status_t smxrt_status_make(smxrt_status_code_t code,
                                           const char *message);

/* Releases a status; NULL is a no-op. */
SMXRT_API void smxrt_status_free(smxrt_status_t status);

SMXRT_EXTERN_C_END

#endif /* SMX_RUNTIME_STATUS_H */
