/*===- smx_runtime/memory.h - The runtime's buffers -----------------*- C
 *-*-===*
 *
 * Every buffer a compiled model touches (tensors, the entry points' arenas,
 * what compiled code allocates itself) comes from the runtime: host memory,
 * or CUDA managed memory once smxrt_cuda_open opened a GPU. These report
 * how much of it the process holds.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_MEMORY_H
#define SMX_RUNTIME_MEMORY_H

#include <stdint.h>

#include "smx_runtime/api.h"

SMXRT_EXTERN_C_BEGIN

/* Bytes of runtime buffers held now, and the most held at once so far. */
SMXRT_API int64_t smxrt_memory_live_bytes(void);
SMXRT_API int64_t smxrt_memory_peak_bytes(void);
/* Where buffers come from: "host" or "cuda managed". */
SMXRT_API const char *smxrt_memory_kind(void);

SMXRT_EXTERN_C_END

#endif /* SMX_RUNTIME_MEMORY_H */
