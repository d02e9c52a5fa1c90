/*===- smx_runtime/cuda.h - Models compiled for a GPU ---------------*- C
 *-*-===*
 *
 * A model compiled with `smxc --target=cuda` runs its loop nests as kernels
 * embedded in the executable (a fatbin for the compiled architecture) and
 * its GEMMs on cuBLASLt. The runtime's CUDA layer (src/cuda) loads the
 * driver (libcuda.so.1) and cuBLASLt when the application opens the device,
 * not at link time, so an executable built here starts on a machine without
 * a GPU and says so. Every buffer the runtime hands out is then CUDA managed
 * memory, which the model's host code and its kernels both address; kernels
 * and GEMMs run in order on one stream and the host waits for each
 * (docs/gpu.md).
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_CUDA_H
#define SMX_RUNTIME_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "smx_runtime/api.h"
#include "smx_runtime/memref_abi.h"
#include "smx_runtime/status.h"

SMXRT_EXTERN_C_BEGIN

/* Whether this runtime was built with its CUDA layer (the toolkit's headers
 * were found); without it smxrt_cuda_open always fails. */
SMXRT_API int32_t smxrt_cuda_available(void);

/* Opens the GPU of this process: device `local_rank` modulo the devices the
 * driver sees (one GPU per process of a job on one machine), its primary
 * context, the stream the model runs on and a cuBLASLt handle, and makes
 * managed memory the source of every runtime buffer. Call it before
 * allocating any tensor. Returns NULL, or SMXRT_STATUS_UNAVAILABLE with
 * "no CUDA device: <why>" (no driver, no GPU, a driver too old). Opening
 * twice returns NULL. */
SMXRT_API smxrt_status_t smxrt_cuda_open(int32_t local_rank);

/* The opened device's name and its compute capability as "sm_XY", or "" if
 * none is open. */
SMXRT_API const char *smxrt_cuda_device_name(void);
SMXRT_API const char *smxrt_cuda_device_arch(void);

/* Waits for everything queued on the model's stream. */
SMXRT_API void smxrt_cuda_synchronize(void);

/* The GEMM of smxrt_cpu_sgemm_memref (memref_abi.h, same arguments and
 * semantics) on cuBLASLt: f32 operands rounded to bfloat16 by the tensor
 * cores, products summed in f32 (CUBLAS_COMPUTE_32F_FAST_16BF). A failure
 * prints why and ends the process. */
SMXRT_API smxrt_sgemm_memref_fn smxrt_cuda_sgemm_memref;

/* What smxrt_cuda_sgemm_memref did since the GPU was opened: calls,
 * floating-point operations (2mnk per product) and seconds from call to
 * completion (each call waits for its GEMMs). Zeros if none ran. */
typedef struct smxrt_cuda_gemm_stats {
  int64_t calls;
  double flops;
  double seconds;
} smxrt_cuda_gemm_stats_t;
SMXRT_API smxrt_cuda_gemm_stats_t smxrt_cuda_gemm_stats(void);

/* The functions MLIR's `gpu-to-llvm` lowering makes compiled code call (the
 * upstream `libmlir_cuda_runtime`'s names and signatures, which Debian does
 * not ship). `mgpuModuleLoad` runs from a global constructor, before main:
 * it only records the image, which the first `mgpuModuleGetFunction`
 * loads. Streams are the model's one stream. A failure prints why and ends
 * the process. */
SMXRT_API void *mgpuModuleLoad(void *data, size_t size);
SMXRT_API void mgpuModuleUnload(void *module);
SMXRT_API void *mgpuModuleGetFunction(void *module, const char *name);
SMXRT_API void mgpuLaunchKernel(void *function, intptr_t grid_x,
                                intptr_t grid_y, intptr_t grid_z,
                                intptr_t block_x, intptr_t block_y,
                                intptr_t block_z, int32_t shared_memory_bytes,
                                void *stream, void **params, void **extra,
                                size_t param_count);
SMXRT_API void *mgpuStreamCreate(void);
SMXRT_API void mgpuStreamDestroy(void *stream);
SMXRT_API void mgpuStreamSynchronize(void *stream);

SMXRT_EXTERN_C_END

#endif /* SMX_RUNTIME_CUDA_H */
