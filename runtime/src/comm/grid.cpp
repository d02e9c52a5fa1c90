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

#include "memory.h"
#include "memref_descriptor.h"
#include "status_internal.h"

#include <algorithm>
#include <atomic>
#include <chrono>
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
  /// What compiled code's collectives did (only the thread that runs the
  /// model calls them).
  smxrt_grid_collective_stats_t allReduceStats{0, 0, 0.0};
  smxrt_grid_collective_stats_t allToAllStats{0, 0, 0.0};
  /// Started sums of compiled code, by handle: the runtime's copy of the
  /// input, summed in place, and its request (null over one process).
  struct PendingSum {
    smxrt::OwnedBuffer buffer;
    smxrt_comm_request_t request = nullptr;
  };
  std::vector<std::unique_ptr<PendingSum>> pending;
  int64_t pendingCount = 0;
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

/// Adds to `stats` the time until it ends, and unless `waitOnly` one call
/// of `bytes` (the wait for a started sum adds time to the start's call).
class CollectiveTimer {
public:
  CollectiveTimer(smxrt_grid_collective_stats_t *stats, int64_t bytes,
                  bool waitOnly = false)
      : stats(stats), start(std::chrono::steady_clock::now()) {
    if (stats && !waitOnly) {
      ++stats->calls;
      stats->bytes += bytes;
    }
  }
  ~CollectiveTimer() {
    if (stats)
      stats->seconds += std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - start)
                            .count();
  }

private:
  smxrt_grid_collective_stats_t *stats;
  std::chrono::steady_clock::time_point start;
};

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
  size_t mask =
      static_cast<size_t>(axes_mask) & (grid->communicators.size() - 1);
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

extern "C" void smxrt_grid_stats(smxrt_grid_t grid,
                                 smxrt_grid_collective_stats_t *all_reduce,
                                 smxrt_grid_collective_stats_t *all_to_all) {
  const smxrt_grid_collective_stats_t zero{0, 0, 0.0};
  if (all_reduce)
    *all_reduce = grid ? grid->allReduceStats : zero;
  if (all_to_all)
    *all_to_all = grid ? grid->allToAllStats : zero;
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

/// The first element of a memref.
char *dataOf(void *descriptor, size_t elementSize) {
  auto *head = static_cast<smxrt::DescriptorHead<char> *>(descriptor);
  return head->aligned + head->offset * static_cast<int64_t>(elementSize);
}

/// The sizes of a memref of `rank` dimensions.
std::vector<int64_t> shapeOf(int64_t rank, void *descriptor) {
  const int64_t *sizes = smxrt::sizesOf(descriptor);
  return std::vector<int64_t>(sizes, sizes + rank);
}

/// The product of `sizes[first, last)`.
int64_t product(const std::vector<int64_t> &sizes, size_t first, size_t last) {
  int64_t result = 1;
  for (size_t dim = first; dim < last; ++dim)
    result *= sizes[dim];
  return result;
}

/// The elements of a memref of `rank` dimensions.
int64_t elementCount(int64_t rank, void *descriptor) {
  std::vector<int64_t> shape = shapeOf(rank, descriptor);
  return product(shape, 0, shape.size());
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
  CollectiveTimer timer(&grid->allReduceStats,
                        count * static_cast<int64_t>(elementSize));
  smxrt_status_t status =
      dtype == SMXRT_DTYPE_I64
          ? smxrt_comm_all_reduce_sum_i64(comm, reinterpret_cast<int64_t *>(to),
                                          count)
          : smxrt_comm_all_reduce_sum_f32(comm, reinterpret_cast<float *>(to),
                                          count);
  if (status)
    abortJob(grid, status);
}

/// Copies `pieces` runs of `run` floats: run k goes from `from` +
/// k·`fromStride` to `to` + k·`toStride`.
void copyRuns(const float *from, int64_t fromStride, float *to,
              int64_t toStride, int64_t pieces, int64_t run) {
  for (int64_t k = 0; k < pieces; ++k)
    std::memcpy(to + k * toStride, from + k * fromStride,
                static_cast<size_t>(run) * sizeof(float));
}

/// moe.all_to_all: blocks along `splitAxis` out, blocks along `concatAxis`
/// in. The blocks travel packed: block j of the send buffer is the input's
/// j-th slice along `splitAxis`, and block i of the receive buffer lands as
/// the result's i-th slice along `concatAxis`. An axis 0 needs no packing.
void allToAll(int64_t axesMask, int64_t splitAxis, int64_t concatAxis,
              int64_t inputRank, void *input, int64_t resultRank,
              void *result) {
  smxrt_grid_t grid = installedGrid.load();
  std::vector<int64_t> in = shapeOf(inputRank, input);
  std::vector<int64_t> out = shapeOf(resultRank, result);
  smxrt_comm_t comm = smxrt_grid_comm(grid, axesMask);
  int64_t devices = comm ? smxrt_comm_size(comm) : 1;
  std::vector<int64_t> block = in;
  bool shapesAgree = inputRank == resultRank && splitAxis >= 0 &&
                     splitAxis < inputRank && concatAxis >= 0 &&
                     concatAxis < inputRank && in[splitAxis] % devices == 0;
  if (shapesAgree) {
    block[splitAxis] /= devices;
    std::vector<int64_t> expected = block;
    expected[concatAxis] *= devices;
    shapesAgree = expected == out;
  }
  if (!shapesAgree)
    abortJob(grid, makeStatusf(SMXRT_STATUS_INTERNAL,
                               "all-to-all over %lld processes cannot send %s "
                               "split along %lld and receive %s",
                               static_cast<long long>(devices),
                               formatShape(in.data(), inputRank).c_str(),
                               static_cast<long long>(splitAxis),
                               formatShape(out.data(), resultRank).c_str()));
  auto *from = reinterpret_cast<const float *>(dataOf(input, sizeof(float)));
  auto *to = reinterpret_cast<float *>(dataOf(result, sizeof(float)));
  const int64_t blockSize = product(block, 0, block.size());
  if (!comm) {
    std::memmove(to, from, static_cast<size_t>(blockSize) * sizeof(float));
    return;
  }

  // Staging from the runtime's buffers: device-accessible under NCCL.
  const size_t stagingBytes =
      static_cast<size_t>(blockSize * devices) * sizeof(float);
  auto allocateStaging = [&]() {
    smxrt::OwnedBuffer staging(stagingBytes);
    if (!staging.data() && stagingBytes > 0)
      abortJob(grid, makeStatusf(SMXRT_STATUS_RESOURCE_EXHAUSTED,
                                 "cannot allocate %zu bytes to stage an "
                                 "all-to-all",
                                 stagingBytes));
    return staging;
  };
  smxrt::OwnedBuffer sendStaging, receiveStaging;
  const float *send = from;
  if (splitAxis != 0) {
    sendStaging = allocateStaging();
    int64_t inner = product(in, splitAxis + 1, in.size());
    int64_t run = block[splitAxis] * inner;
    int64_t outer = product(in, 0, splitAxis);
    for (int64_t j = 0; j < devices; ++j)
      copyRuns(from + j * run, in[splitAxis] * inner,
               sendStaging.data<float>() + j * blockSize, run, outer, run);
    send = sendStaging.data<float>();
  }
  float *receive = to;
  if (concatAxis != 0) {
    receiveStaging = allocateStaging();
    receive = receiveStaging.data<float>();
  }
  {
    CollectiveTimer timer(&grid->allToAllStats,
                          blockSize * devices *
                              static_cast<int64_t>(sizeof(float)));
    if (smxrt_status_t status = smxrt_comm_all_to_all(
            comm, send, receive,
            blockSize * static_cast<int64_t>(sizeof(float))))
      abortJob(grid, status);
  }
  if (concatAxis != 0) {
    int64_t inner = product(block, concatAxis + 1, block.size());
    int64_t run = block[concatAxis] * inner;
    int64_t outer = product(block, 0, concatAxis);
    for (int64_t i = 0; i < devices; ++i)
      copyRuns(receive + i * blockSize, run, to + i * run,
               out[concatAxis] * inner, outer, run);
  }
}

} // namespace

extern "C" int64_t
smxrt_grid_all_reduce_sum_start_f32_memref(int64_t axes_mask,
                                           int64_t input_rank, void *input) {
  smxrt_grid_t grid = installedGrid.load();
  if (!grid)
    abortJob(grid, makeStatus(SMXRT_STATUS_INTERNAL,
                              "a started all-reduce needs an installed grid"));
  int64_t count = elementCount(input_rank, input);
  size_t bytes = static_cast<size_t>(count) * sizeof(float);
  auto sum = std::make_unique<smxrt_grid_storage_t::PendingSum>();
  smxrt_comm_t comm = smxrt_grid_comm(grid, axes_mask);
  CollectiveTimer timer(comm ? &grid->allReduceStats : nullptr,
                        static_cast<int64_t>(bytes));
  sum->buffer = smxrt::OwnedBuffer(bytes);
  if (!sum->buffer.data())
    abortJob(grid, makeStatusf(SMXRT_STATUS_RESOURCE_EXHAUSTED,
                               "cannot allocate %zu bytes for a started "
                               "all-reduce",
                               bytes));
  if (bytes > 0)
    std::memcpy(sum->buffer.data(), dataOf(input, sizeof(float)), bytes);
  if (comm)
    if (smxrt_status_t status = smxrt_comm_all_reduce_sum_start(
            comm, sum->buffer.data(), count, SMXRT_DTYPE_F32, &sum->request))
      abortJob(grid, status);
  auto free = std::find(grid->pending.begin(), grid->pending.end(), nullptr);
  int64_t handle = free - grid->pending.begin();
  if (free == grid->pending.end())
    grid->pending.push_back(std::move(sum));
  else
    *free = std::move(sum);
  ++grid->pendingCount;
  return handle;
}

extern "C" void smxrt_grid_all_reduce_sum_wait_f32_memref(int64_t handle,
                                                          int64_t result_rank,
                                                          void *result) {
  smxrt_grid_t grid = installedGrid.load();
  if (!grid || handle < 0 ||
      handle >= static_cast<int64_t>(grid->pending.size()) ||
      !grid->pending[handle])
    abortJob(grid, makeStatusf(SMXRT_STATUS_INTERNAL,
                               "no started all-reduce of handle %lld",
                               static_cast<long long>(handle)));
  std::unique_ptr<smxrt_grid_storage_t::PendingSum> sum =
      std::move(grid->pending[handle]);
  --grid->pendingCount;
  if (sum->request) {
    // Only the time this process waits counts; the sum ran meanwhile.
    CollectiveTimer timer(&grid->allReduceStats, 0, /*waitOnly=*/true);
    if (smxrt_status_t status = smxrt_comm_wait(sum->request))
      abortJob(grid, status);
  }
  size_t bytes =
      static_cast<size_t>(elementCount(result_rank, result)) * sizeof(float);
  if (bytes != sum->buffer.size())
    abortJob(grid, makeStatus(SMXRT_STATUS_INTERNAL,
                              "a started all-reduce waited into a result of "
                              "another size"));
  if (bytes > 0)
    std::memcpy(dataOf(result, sizeof(float)), sum->buffer.data(), bytes);
}

extern "C" void smxrt_grid_progress(void) {
  smxrt_grid_t grid = installedGrid.load();
  if (!grid || grid->pendingCount == 0)
    return;
  for (auto &sum : grid->pending) {
    if (!sum || !sum->request)
      continue;
    int done = 0;
    if (smxrt_status_t status = smxrt_comm_test(sum->request, &done))
      abortJob(grid, status);
  }
}

extern "C" void smxrt_grid_all_to_all_f32_memref(
    int64_t axes_mask, int64_t split_axis, int64_t concat_axis,
    int64_t input_rank, void *input, int64_t result_rank, void *result) {
  allToAll(axes_mask, split_axis, concat_axis, input_rank, input, result_rank,
           result);
}

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
