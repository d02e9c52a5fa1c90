/*===- profile.h - time spent per call site of a compiled model -*- C -*-===*
 *
 * A model compiled with `smxc --profile` brackets every call of its entry
 * functions (kernels, runtime GEMMs and routes) with smxrt_profile_begin and
 * smxrt_profile_end, passing the call site's index in the manifest's
 * `profile` list (docs/abi.md). The runtime adds up the wall time and the
 * number of calls per site; `OUT profile` reads them back. Calls come from
 * the thread that called the entry point (kernels fork their own threads
 * inside), so the counters need no lock.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_PROFILE_H
#define SMX_RUNTIME_PROFILE_H

#include <stdint.h>

#include "smx_runtime/api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called by compiled code around call site `site` (>= 0). */
SMXRT_API void smxrt_profile_begin(int64_t site);
SMXRT_API void smxrt_profile_end(int64_t site);

/* Seconds spent in and calls of site `site` since the last reset; both 0
 * for a site never called. */
SMXRT_API void smxrt_profile_read(int64_t site, double *seconds,
                                  int64_t *calls);
/* Forgets every site's time and calls. */
SMXRT_API void smxrt_profile_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* SMX_RUNTIME_PROFILE_H */
