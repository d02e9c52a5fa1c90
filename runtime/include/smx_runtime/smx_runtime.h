/*===- smx_runtime/smx_runtime.h - The smx runtime C ABI --------*- C -*-===*
 *
 * Umbrella header. The runtime's ABI is C: opaque handles, statuses instead
 * of exceptions, and enums whose values never change. What compiled models
 * and the runtime agree on (SMXRT_ABI_VERSION, symbols, manifest keys) is in
 * model_abi.h.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_SMX_RUNTIME_H
#define SMX_RUNTIME_SMX_RUNTIME_H

#include "smx_runtime/api.h"
#include "smx_runtime/cpu_kernels.h"
#include "smx_runtime/cuda.h"
#include "smx_runtime/memory.h"
#include "smx_runtime/memref_abi.h"
#include "smx_runtime/model_abi.h"
#include "smx_runtime/safetensors.h"
#include "smx_runtime/status.h"
#include "smx_runtime/tensor.h"

SMXRT_EXTERN_C_BEGIN

/* The SMXRT_ABI_VERSION the library was built with; a program compares it
 * with its own to catch a stale shared library. */
SMXRT_API int smxrt_abi_version(void);

SMXRT_EXTERN_C_END

#endif /* SMX_RUNTIME_SMX_RUNTIME_H */
