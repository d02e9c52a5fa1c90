/*===- abi.c - ABI version, and a check that the headers are C --*- C -*-===*
 *
 * Compiled as C (not C++) so that every public header stays valid C.
 *
 *===----------------------------------------------------------------------===*/

#include "smx_runtime/smx_runtime.h"

_Static_assert(sizeof(smxrt_status_code_t) == sizeof(int),
               "status codes are passed as int across the ABI");
_Static_assert(sizeof(smxrt_dtype_t) == sizeof(int),
               "dtypes are passed as int across the ABI");

int smxrt_abi_version(void) { return SMXRT_ABI_VERSION; }
