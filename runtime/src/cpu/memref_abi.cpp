//===- memref_abi.cpp - kernels as compiled code calls them ---------------===//

#include "smx_runtime/memref_abi.h"

#include "smx_runtime/cpu_kernels.h"

#include "memref_descriptor.h"

#include <omp.h>

#include <cstring>
#include <vector>

using smxrt::basePointer;
using smxrt::DescriptorHead;
using smxrt::sizesOf;

extern "C" void smxrt_cpu_sgemm_memref(
    int64_t outer, int64_t inner, int64_t m, int64_t n, int64_t k,
    int64_t trans_a, int64_t trans_b, int64_t accumulate, int64_t, void *a,
    int64_t offset_a, int64_t ld_a, int64_t outer_stride_a,
    int64_t inner_stride_a, int64_t, void *b, int64_t offset_b, int64_t ld_b,
    int64_t outer_stride_b, int64_t inner_stride_b, int64_t, void *c,
    int64_t offset_c, int64_t ld_c, int64_t outer_stride_c,
    int64_t inner_stride_c) {
  // Between GEMMs, started gradient sums advance (from the thread that runs
  // the model only: MPI is initialized for one thread).
  if (!omp_in_parallel())
    smxrt_grid_progress();
  smxrt_cpu_sgemm(outer, inner, m, n, k, static_cast<int32_t>(trans_a),
                  static_cast<int32_t>(trans_b),
                  static_cast<int32_t>(accumulate), basePointer<float>(a),
                  offset_a, ld_a, outer_stride_a, inner_stride_a,
                  basePointer<float>(b), offset_b, ld_b, outer_stride_b,
                  inner_stride_b, basePointer<float>(c), offset_c, ld_c,
                  outer_stride_c, inner_stride_c);
}

extern "C" void smxrt_cpu_route_memref(
    int64_t policy, int64_t k, int64_t batch_prioritized, int64_t groups,
    int64_t tokens_per_group, int64_t experts, int64_t capacity, int64_t,
    void *probs, int64_t, void *token_ids, int64_t, void *dispatch_indices,
    int64_t, void *combine_weights) {
  smxrt_cpu_route(static_cast<int32_t>(policy), k,
                  static_cast<int32_t>(batch_prioritized), groups,
                  tokens_per_group, experts, capacity,
                  basePointer<float>(probs), basePointer<int32_t>(token_ids),
                  basePointer<int32_t>(dispatch_indices),
                  basePointer<float>(combine_weights));
}

extern "C" void smxrt_cpu_route_capped_lp_memref(
    int64_t k, int64_t iterations, double entropy, int64_t groups,
    int64_t tokens_per_group, int64_t experts, int64_t capacity, int64_t,
    void *probs, int64_t, void *dispatch_indices, int64_t,
    void *combine_weights) {
  smxrt_cpu_route_capped_lp(k, iterations, entropy, groups, tokens_per_group,
                            experts, capacity, basePointer<float>(probs),
                            basePointer<int32_t>(dispatch_indices),
                            basePointer<float>(combine_weights));
}

extern "C" void memrefCopy(int64_t element_size,
                           smxrt_unranked_memref_t *source,
                           smxrt_unranked_memref_t *destination) {
  int64_t rank = source->rank;
  // Offsets and strides count elements, not bytes.
  auto *sourceHead = static_cast<DescriptorHead<char> *>(source->descriptor);
  auto *destinationHead =
      static_cast<DescriptorHead<char> *>(destination->descriptor);
  char *from = sourceHead->aligned + sourceHead->offset * element_size;
  char *to = destinationHead->aligned + destinationHead->offset * element_size;
  if (rank == 0) {
    std::memcpy(to, from, element_size);
    return;
  }
  const int64_t *sizes = sizesOf(source->descriptor);
  const int64_t *sourceStrides = sizes + rank;
  const int64_t *destinationStrides = sizesOf(destination->descriptor) + rank;
  for (int64_t dim = 0; dim < rank; ++dim)
    if (sizes[dim] == 0)
      return;
  // Walk the index space like an odometer, last dimension fastest.
  std::vector<int64_t> index(rank, 0);
  while (true) {
    std::memcpy(to, from, element_size);
    int64_t dim = rank - 1;
    for (; dim >= 0; --dim) {
      from += sourceStrides[dim] * element_size;
      to += destinationStrides[dim] * element_size;
      if (++index[dim] < sizes[dim])
        break;
      from -= sourceStrides[dim] * element_size * sizes[dim];
      to -= destinationStrides[dim] * element_size * sizes[dim];
      index[dim] = 0;
    }
    if (dim < 0)
      return;
  }
}
