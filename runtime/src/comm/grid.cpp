//===- grid.cpp - The device grid of a partitioned model ------------------===//
//
// smx_runtime/grid.h: one communicator per set of grid axes, split from the
// job's, and the collectives compiled models call on the installed grid
// (memref_abi.h). A collective of compiled code has no status to return:
// when one fails (a peer died, the processes diverged, the deadline
// passed) it prints why and ends every process of the job.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/grid.h"

#include "smx_runtime/memref_abi.h"
#include "smx_runtime/tensor.h"

#include "status_internal.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

using namespace smxrt;

struct smxrt_grid_storage_t {
  smxrt_comm_t job = nullptr;
  std::vector<int64_t> shape;
  std::vector<int64_t> index; ///< This process's index along each axis.
  int64_t rank = 0;
  /// communicators[mask]: over the axes of `mask`; the job's for all axes,
  /// null (this process alone) for none.
  std::vector<smxrt_comm_t> communicators;
};

namespace {

std::atomic<smxrt_grid_t> installedGrid{nullptr};

std::string formatShape(const int64_t *shape, int64_t rank) {
  std::string text;
  for (int64_t axis = 0; axis < rank; ++axis)
    text += (axis ? " x " : "") + std::to_string(shape[axis]);
  return text;
}

/// Ends the job after a failed collective of compiled code.
[[noreturn]] void abortJob(smxrt_grid_t grid, smxrt_status_t status) {
  std::fprintf(stderr, "error: %s\n", smxrt_status_message(status));
  std::fflush(stderr);
  smxrt_status_free(status);
  smxrt_comm_abort(grid ? grid->job : nullptr, 1);
  std::_Exit(1); // smxrt_comm_abort does not return; the C API cannot say so.
}

void destroyCommunicators(smxrt_grid_t grid) {
  size_t all = grid->communicators.size() - 1;
  // Splits first, in reverse; the job's (all axes) is the caller's.
  for (size_t mask = all; mask-- > 1;)
    smxrt_comm_close(grid->communicators[mask]);
}

} // namespace

extern "C" smxrt_status_t smxrt_grid_create(smxrt_comm_t job,
                                            const int64_t *shape, int64_t rank,
                                            smxrt_grid_t *out) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (!out)
      return invalidArgument("smxrt_grid_create: out is NULL");
    *out = nullptr;
    if (!job || !shape || rank < 1 || rank > SMXRT_GRID_MAX_AXES)
      return invalidArgument("smxrt_grid_create: bad arguments");
    int64_t processes = 1;
    for (int64_t axis = 0; axis < rank; ++axis) {
      if (shape[axis] < 1)
        return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                           "grid %s: every axis needs at least one process",
                           formatShape(shape, rank).c_str());
      processes *= shape[axis];
    }
    int64_t size = smxrt_comm_size(job);
    if (processes != size)
      return makeStatusf(
          SMXRT_STATUS_INVALID_ARGUMENT,
          "the model was compiled for a grid of %s = %lld processes, but this "
          "job has %lld (mpirun -np %lld)",
          formatShape(shape, rank).c_str(), static_cast<long long>(processes),
          static_cast<long long>(size), static_cast<long long>(processes));
    auto grid = std::make_unique<smxrt_grid_storage_t>();
    grid->job = job;
    grid->shape.assign(shape, shape + rank);
    grid->rank = smxrt_comm_rank(job);
    grid->index.resize(static_cast<size_t>(rank));
    // Row-major: the last axis varies fastest (shard.process_linear_index).
    for (int64_t axis = rank - 1, rest = grid->rank; axis >= 0; --axis) {
      grid->index[axis] = rest % shape[axis];
      rest /= shape[axis];
    }
    size_t masks = size_t{1} << rank;
    grid->communicators.assign(masks, nullptr);
    grid->communicators[masks - 1] = job;
    for (size_t mask = 1; mask + 1 < masks; ++mask) {
      // Color: the indices off the mask's axes; key: those on them.
      int64_t color = 0, key = 0;
      for (int64_t axis = 0; axis < rank; ++axis) {
        int64_t &part = (mask >> axis) & 1 ? key : color;
        part = part * shape[axis] + grid->index[axis];
      }
      if (smxrt_status_t status =
              smxrt_comm_split(job, color, key, &grid->communicators[mask])) {
        destroyCommunicators(grid.get());
        return status;
      }
    }
    *out = grid.release();
    return nullptr;
  });
}

extern "C" int64_t smxrt_grid_rank(smxrt_grid_t grid) {
  return grid ? grid->rank : 0;
}

extern "C" int64_t smxrt_grid_axis_size(smxrt_grid_t grid, int64_t axis) {
  if (!grid || axis < 0 || axis >= static_cast<int64_t>(grid->shape.size()))
    return 1;
  return grid->shape[axis];
}

extern "C" int64_t smxrt_grid_axis_index(smxrt_grid_t grid, int64_t axis) {
  if (!grid || axis < 0 || axis >= static_cast<int64_t>(grid->shape.size()))
    return 0;
  return grid->index[axis];
}

extern "C" smxrt_comm_t smxrt_grid_comm(smxrt_grid_t grid, int64_t axes_mask) {
  if (!grid || axes_mask <= 0)
    return nullptr;
  size_t mask = static_cast<size_t>(axes_mask) & (grid->communicators.size() - 1);
  return grid->communicators[mask];
}

extern "C" smxrt_comm_t smxrt_grid_job(smxrt_grid_t grid) {
  return grid ? grid->job : nullptr;
}

extern "C" void smxrt_grid_install(smxrt_grid_t grid) {
  installedGrid.store(grid);
}

extern "C" smxrt_grid_t smxrt_grid_installed(void) {
  return installedGrid.load();
}

extern "C" void smxrt_grid_destroy(smxrt_grid_t grid) {
  if (!grid)
    return;
  if (installedGrid.load() == grid)
    installedGrid.store(nullptr);
  destroyCommunicators(grid);
  delete grid;
}

//===----------------------------------------------------------------------===//
// Collectives of compiled code (memref_abi.h)
//===----------------------------------------------------------------------===//

namespace {

struct DescriptorHead {
  char *allocated;
  char *aligned;
  int64_t offset;
};

/// The first element of a memref.
char *dataOf(void *descriptor, size_t elementSize) {
  auto *head = static_cast<DescriptorHead *>(descriptor);
  return head->aligned + head->offset * static_cast<int64_t>(elementSize);
}

/// The elements of a memref of `rank` dimensions.
int64_t elementCount(int64_t rank, void *descriptor) {
  auto *sizes = reinterpret_cast<const int64_t *>(
      static_cast<DescriptorHead *>(descriptor) + 1);
  int64_t count = 1;
  for (int64_t dim = 0; dim < rank; ++dim)
    count *= sizes[dim];
  return count;
}

/// `result` = the sum of `input` over the axes of `axesMask`.
void allReduceSum(int64_t axesMask, smxrt_dtype_t dtype, int64_t inputRank,
                  void *input, void *result) {
  smxrt_grid_t grid = installedGrid.load();
  size_t elementSize = dtype == SMXRT_DTYPE_I64 ? 8 : 4;
  // Both buffers have the input's shape (the op's type constraint).
  int64_t count = elementCount(inputRank, input);
  const char *from = dataOf(input, elementSize);
  char *to = dataOf(result, elementSize);
  if (from != to && count > 0)
    std::memmove(to, from, static_cast<size_t>(count) * elementSize);
  smxrt_comm_t comm = smxrt_grid_comm(grid, axesMask);
  if (!comm)
    return; // One process along these axes: the sum is the value.
  smxrt_status_t status =
      dtype == SMXRT_DTYPE_I64
          ? smxrt_comm_all_reduce_sum_i64(
                comm, reinterpret_cast<int64_t *>(to), count)
          : smxrt_comm_all_reduce_sum_f32(comm, reinterpret_cast<float *>(to),
                                          count);
  if (status)
    abortJob(grid, status);
}

} // namespace

extern "C" void smxrt_grid_all_reduce_sum_f32_memref(int64_t axes_mask,
                                                     int64_t input_rank,
                                                     void *input,
                                                     int64_t /*result_rank*/,
                                                     void *result) {
  allReduceSum(axes_mask, SMXRT_DTYPE_F32, input_rank, input, result);
}

extern "C" void smxrt_grid_all_reduce_sum_i64_memref(int64_t axes_mask,
                                                     int64_t input_rank,
                                                     void *input,
                                                     int64_t /*result_rank*/,
                                                     void *result) {
  allReduceSum(axes_mask, SMXRT_DTYPE_I64, input_rank, input, result);
}

extern "C" int64_t smxrt_grid_process_index(void) {
  return smxrt_grid_rank(installedGrid.load());
}
