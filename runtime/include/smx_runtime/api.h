/*===- smx_runtime/api.h - Export and linkage macros ------------*- C -*-===*
 *
 * Every public declaration of the runtime is wrapped in
 * SMXRT_EXTERN_C_BEGIN/END and marked SMXRT_API: the library is built with
 * hidden visibility, so only these functions form its ABI.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_API_H
#define SMX_RUNTIME_API_H

#if defined(_WIN32)
#define SMXRT_API
#elif defined(__GNUC__)
#define SMXRT_API __attribute__((visibility("default")))
#else
#define SMXRT_API
#endif

/* The runtime's C++ support layer (status helpers, JSON, files, tensor
 * sizes: src/core), exported from the shared library for the model
 * application beside it (application/). Not part of the stable C ABI. */
#define SMXRT_SUPPORT_API SMXRT_API

#ifdef __cplusplus
#define SMXRT_EXTERN_C_BEGIN extern "C" {
#define SMXRT_EXTERN_C_END }
#else
#define SMXRT_EXTERN_C_BEGIN
#define SMXRT_EXTERN_C_END
#endif

#endif /* SMX_RUNTIME_API_H */
