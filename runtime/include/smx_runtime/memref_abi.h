/*===- memref_abi.h - kernels as compiled code calls them ------*- C -*-===//
 *
 * Compiled models pass buffers to runtime kernels as unranked memrefs, the
 * MLIR convention for library calls: each buffer is a pair (rank, pointer
 * to a descriptor {allocated, aligned, offset, sizes[rank], strides[rank]}).
 * These entry points unpack the descriptors and call the kernels of
 * cpu_kernels.h; `memrefCopy` is the strided copy that MLIR's memref
 * lowering calls for copies it cannot turn into a memcpy; the
 * `_mlir_memref_to_llvm_*` functions are the heap of compiled code (a cache
 * of large blocks, src/cpu/buffer_cache.cpp). All integer
 * arguments are int64_t, as the compiler emits them. See docs/abi.md.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_MEMREF_ABI_H
#define SMX_RUNTIME_MEMREF_ABI_H

#include <stddef.h>
#include <stdint.h>

#include "smx_runtime/api.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An unranked memref as MLIR passes it by pointer to memrefCopy. */
typedef struct smxrt_unranked_memref {
  int64_t rank;
  void *descriptor;
} smxrt_unranked_memref_t;

/* The GEMM compiled code calls: smxrt_cpu_sgemm's arguments (cpu_kernels.h)
 * with each matrix an unranked memref. The CUDA runtime's GEMM has the same
 * type (smx_runtime/cuda.h). */
typedef void smxrt_sgemm_memref_fn(
    int64_t outer, int64_t inner, int64_t m, int64_t n, int64_t k,
    int64_t trans_a, int64_t trans_b, int64_t accumulate, int64_t a_rank,
    void *a, int64_t offset_a, int64_t ld_a, int64_t outer_stride_a,
    int64_t inner_stride_a, int64_t b_rank, void *b, int64_t offset_b,
    int64_t ld_b, int64_t outer_stride_b, int64_t inner_stride_b,
    int64_t c_rank, void *c, int64_t offset_c, int64_t ld_c,
    int64_t outer_stride_c, int64_t inner_stride_c);

SMXRT_API smxrt_sgemm_memref_fn smxrt_cpu_sgemm_memref;

/* The same GEMM with A and B rounded to bfloat16 (to nearest, ties to even)
 * and the products summed in f32: what models compiled with `smxc
 * --precision=bf16` call. On oneDNN's bf16 matmul (AMX or AVX512-BF16)
 * where the runtime has it and the CPU multiplies bf16, else on rounded f32
 * copies and OpenBLAS; SMXRT_BF16_GEMM=openblas forces the latter. */
SMXRT_API smxrt_sgemm_memref_fn smxrt_cpu_sgemm_bf16_memref;
/* Which engine smxrt_cpu_sgemm_bf16_memref uses: "onednn" or "openblas". */
SMXRT_API const char *smxrt_cpu_bf16_gemm_engine(void);

SMXRT_API void smxrt_cpu_route_memref(
    int64_t policy, int64_t k, int64_t batch_prioritized, int64_t groups,
    int64_t tokens_per_group, int64_t experts, int64_t capacity,
    int64_t probs_rank, void *probs, int64_t token_ids_rank, void *token_ids,
    int64_t indices_rank, void *dispatch_indices, int64_t weights_rank,
    void *combine_weights);

SMXRT_API void smxrt_cpu_route_capped_lp_memref(
    int64_t k, int64_t iterations, double entropy, int64_t groups,
    int64_t tokens_per_group, int64_t experts, int64_t capacity,
    int64_t probs_rank, void *probs, int64_t indices_rank,
    void *dispatch_indices, int64_t weights_rank, void *combine_weights);

/* Collectives of a model compiled for a grid (smx_runtime/grid.h), on the
 * grid the application installed: `result` = the sum of `input` over the
 * processes along the axes of `axes_mask` (bit a for grid axis a); both
 * buffers are contiguous and of one shape. Without an installed grid, the
 * sum of one process. A collective that fails prints why and ends every
 * process of the job. */
SMXRT_API void smxrt_grid_all_reduce_sum_f32_memref(int64_t axes_mask,
                                                    int64_t input_rank,
                                                    void *input,
                                                    int64_t result_rank,
                                                    void *result);
SMXRT_API void smxrt_grid_all_reduce_sum_i64_memref(int64_t axes_mask,
                                                    int64_t input_rank,
                                                    void *input,
                                                    int64_t result_rank,
                                                    void *result);
/* The exchange of `moe.all_to_all` over the `n` processes along the axes of
 * `axes_mask`: `input` splits into `n` equal blocks along `split_axis`,
 * block j goes to the process of index j along those axes, and `result`
 * is the blocks received, concatenated along `concat_axis` in that order.
 * Both buffers are contiguous f32; `result` has the input's shape with
 * `split_axis` divided and `concat_axis` multiplied by `n`. */
SMXRT_API void smxrt_grid_all_to_all_f32_memref(int64_t axes_mask,
                                                int64_t split_axis,
                                                int64_t concat_axis,
                                                int64_t input_rank,
                                                void *input,
                                                int64_t result_rank,
                                                void *result);
/* The same sum, started: the runtime copies `input` and starts summing the
 * copy, and returns a handle; smxrt_grid_all_reduce_sum_wait_f32_memref
 * waits for it and writes the sum into `result`. The sum advances while
 * compiled code computes (smxrt_grid_progress), so a train step overlaps
 * its gradient sums with the rest of its backward pass. */
SMXRT_API int64_t smxrt_grid_all_reduce_sum_start_f32_memref(
    int64_t axes_mask, int64_t input_rank, void *input);
SMXRT_API void smxrt_grid_all_reduce_sum_wait_f32_memref(int64_t handle,
                                                         int64_t result_rank,
                                                         void *result);
/* Lets the started sums advance without blocking (MPI progresses inside its
 * calls); the runtime's kernels call it between computations. Only the
 * thread that runs the model may call it. */
SMXRT_API void smxrt_grid_progress(void);
/* This process's linear index in the installed grid (0 without one). */
SMXRT_API int64_t smxrt_grid_process_index(void);

SMXRT_API void memrefCopy(int64_t element_size, smxrt_unranked_memref_t *source,
                          smxrt_unranked_memref_t *destination);

/* The heap of compiled code (finalize-memref-to-llvm's generic allocation
 * functions). Blocks of 1 MiB or more are cached by size and reused. */
SMXRT_API void *_mlir_memref_to_llvm_alloc(size_t size);
SMXRT_API void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment,
                                                   size_t size);
SMXRT_API void _mlir_memref_to_llvm_free(void *block);

#ifdef __cplusplus
}
#endif

#endif /* SMX_RUNTIME_MEMREF_ABI_H */
