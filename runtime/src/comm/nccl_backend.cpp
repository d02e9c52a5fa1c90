//===- nccl_backend.cpp - Collectives over NCCL (libsmx_comm_nccl.so) -----===//
//
// The NCCL backend of smx_runtime/comm.h, for device buffers: one GPU per
// process (the process's local rank modulo the devices it sees). It
// bootstraps over the MPI backend (smxrt_comm_open(SMXRT_COMM_MPI)): rank 0
// makes the NCCL unique id and broadcasts it, so a multi-node launch is the
// same `mpirun`; `agree` and the all-gather behind it go over MPI too, on
// host memory.
//
// Collectives are enqueued on the backend's stream and completed by
// polling the stream and NCCL's asynchronous error against the deadline;
// on a timeout the NCCL communicator is aborted (ncclCommAbort), which
// releases the GPU work, and the call returns DEADLINE_EXCEEDED.
//
//===----------------------------------------------------------------------===//

#include "comm_backend.h"
#include "status_internal.h"

#include "smx_runtime/comm.h"

#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdlib>
#include <cstring>
#include <memory>

using namespace smxrt;

namespace {

struct NcclState {
  smxrt_comm_t bootstrap = nullptr;
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  int rank = 0;
  int size = 1;
  int device = 0;
  double timeoutSeconds = 0;

  NcclState() = default;
  NcclState(const NcclState &) = delete;
  NcclState &operator=(const NcclState &) = delete;
  /// Frees what was made, also of a state whose opening failed half-way.
  ~NcclState() {
    if (comm)
      ncclCommDestroy(comm);
    if (stream)
      cudaStreamDestroy(stream);
    smxrt_comm_close(bootstrap);
  }
};

smxrt_status_t checkCuda(cudaError_t error, const char *what) {
  if (error == cudaSuccess)
    return nullptr;
  return makeStatusf(SMXRT_STATUS_INTERNAL, "%s failed: %s", what,
                     cudaGetErrorString(error));
}

smxrt_status_t checkNccl(ncclResult_t result, const char *what,
                         const NcclState *state) {
  if (result == ncclSuccess || result == ncclInProgress)
    return nullptr;
  return makeStatusf(SMXRT_STATUS_INTERNAL, "rank %d: %s failed: %s",
                     state->rank, what, ncclGetErrorString(result));
}

/// Waits for the stream's work until the deadline; an asynchronous NCCL
/// error or the deadline aborts the NCCL communicator.
smxrt_status_t wait(NcclState *state, const char *what) {
  auto abortComm = [&] {
    ncclCommAbort(state->comm);
    state->comm = nullptr;
  };
  return waitWithDeadline(
      state->timeoutSeconds, state->rank, state->size, what,
      [&](bool &done) -> smxrt_status_t {
        cudaError_t query = cudaStreamQuery(state->stream);
        if (query != cudaErrorNotReady) {
          done = true;
          return checkCuda(query, what);
        }
        ncclResult_t asyncError = ncclSuccess;
        ncclCommGetAsyncError(state->comm, &asyncError);
        if (asyncError == ncclSuccess || asyncError == ncclInProgress)
          return nullptr;
        smxrt_status_t status = checkNccl(asyncError, what, state);
        abortComm();
        return status;
      },
      abortComm);
}

smxrt_status_t requireComm(const NcclState *state) {
  if (state->comm)
    return nullptr;
  return makeStatusf(SMXRT_STATUS_INTERNAL,
                     "rank %d: the NCCL communicator was aborted after an "
                     "earlier error",
                     state->rank);
}

/// The rank of this process among those of its node: the launcher's
/// variable, else the global rank.
int localRank(int rank) {
  for (const char *name : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                           "SLURM_LOCALID", "LOCAL_RANK"})
    if (const char *value = std::getenv(name))
      return std::atoi(value);
  return rank;
}

/// Gives an opened communicator its stream and hands it out.
smxrt_status_t finishOpening(std::unique_ptr<NcclState> state, void **out) {
  SMXRT_RETURN_IF_ERROR(checkCuda(
      cudaStreamCreateWithFlags(&state->stream, cudaStreamNonBlocking),
      "cudaStreamCreateWithFlags"));
  *out = state.release();
  return nullptr;
}

smxrt_status_t ncclOpen(double timeoutSeconds, void **out) {
  auto state = std::make_unique<NcclState>();
  state->timeoutSeconds = timeoutSeconds;
  int devices = 0;
  cudaError_t error = cudaGetDeviceCount(&devices);
  if (error != cudaSuccess || devices == 0)
    return makeStatusf(SMXRT_STATUS_UNAVAILABLE, "no CUDA device: %s",
                       error != cudaSuccess ? cudaGetErrorString(error)
                                            : "the driver reports none");
  SMXRT_RETURN_IF_ERROR(
      smxrt_comm_open(SMXRT_COMM_MPI, timeoutSeconds, &state->bootstrap));
  state->rank = static_cast<int>(smxrt_comm_rank(state->bootstrap));
  state->size = static_cast<int>(smxrt_comm_size(state->bootstrap));
  state->device = localRank(state->rank) % devices;
  SMXRT_RETURN_IF_ERROR(
      checkCuda(cudaSetDevice(state->device), "cudaSetDevice"));
  ncclUniqueId id;
  if (state->rank == 0)
    SMXRT_RETURN_IF_ERROR(
        checkNccl(ncclGetUniqueId(&id), "ncclGetUniqueId", state.get()));
  SMXRT_RETURN_IF_ERROR(
      smxrt_comm_broadcast(state->bootstrap, &id, sizeof(id), 0));
  SMXRT_RETURN_IF_ERROR(checkNccl(
      ncclCommInitRank(&state->comm, state->size, id, state->rank),
      "ncclCommInitRank", state.get()));
  return finishOpening(std::move(state), out);
}

int64_t ncclRank(void *state) { return static_cast<NcclState *>(state)->rank; }
int64_t ncclSize(void *state) { return static_cast<NcclState *>(state)->size; }

/// Enqueues an in-place sum of `data` on the communicator's stream.
smxrt_status_t enqueueAllReduceSum(NcclState *state, void *data, int64_t count,
                                   smxrt_dtype_t dtype) {
  SMXRT_RETURN_IF_ERROR(requireComm(state));
  return checkNccl(ncclAllReduce(data, data, static_cast<size_t>(count),
                                 dtype == SMXRT_DTYPE_I64 ? ncclInt64
                                                          : ncclFloat,
                                 ncclSum, state->comm, state->stream),
                   "ncclAllReduce", state);
}

smxrt_status_t ncclAllReduceSum(void *opaque, void *data, int64_t count,
                                smxrt_dtype_t dtype) {
  auto *state = static_cast<NcclState *>(opaque);
  SMXRT_RETURN_IF_ERROR(enqueueAllReduceSum(state, data, count, dtype));
  return wait(state, "all-reduce");
}

/// A started all-reduce is enqueued on the stream; an event recorded after
/// it tells when it is done.
smxrt_status_t ncclAllReduceSumStart(void *opaque, void *data, int64_t count,
                                     smxrt_dtype_t dtype, void **out) {
  auto *state = static_cast<NcclState *>(opaque);
  SMXRT_RETURN_IF_ERROR(enqueueAllReduceSum(state, data, count, dtype));
  cudaEvent_t event = nullptr;
  SMXRT_RETURN_IF_ERROR(checkCuda(
      cudaEventCreateWithFlags(&event, cudaEventDisableTiming),
      "cudaEventCreateWithFlags"));
  if (smxrt_status_t status =
          checkCuda(cudaEventRecord(event, state->stream), "cudaEventRecord")) {
    cudaEventDestroy(event);
    return status;
  }
  *out = event;
  return nullptr;
}

smxrt_status_t ncclTest(void *opaque, void *request, bool &done) {
  auto *state = static_cast<NcclState *>(opaque);
  cudaError_t query = cudaEventQuery(static_cast<cudaEvent_t>(request));
  done = query != cudaErrorNotReady;
  if (done)
    return checkCuda(query, "cudaEventQuery");
  ncclResult_t asyncError = ncclSuccess;
  ncclCommGetAsyncError(state->comm, &asyncError);
  if (asyncError == ncclSuccess || asyncError == ncclInProgress)
    return nullptr;
  return checkNccl(asyncError, "all-reduce", state);
}

smxrt_status_t ncclWaitRequest(void *opaque, void *request) {
  auto *state = static_cast<NcclState *>(opaque);
  auto event = static_cast<cudaEvent_t>(request);
  smxrt_status_t status = waitWithDeadline(
      state->timeoutSeconds, state->rank, state->size, "all-reduce",
      [&](bool &done) { return ncclTest(state, event, done); },
      [&] {
        ncclCommAbort(state->comm);
        state->comm = nullptr;
      });
  cudaEventDestroy(event);
  return status;
}

smxrt_status_t ncclAllToAll(void *opaque, const void *send, void *recv,
                            int64_t bytesPerRank) {
  auto *state = static_cast<NcclState *>(opaque);
  SMXRT_RETURN_IF_ERROR(requireComm(state));
  SMXRT_RETURN_IF_ERROR(checkNccl(ncclGroupStart(), "ncclGroupStart", state));
  for (int peer = 0; peer < state->size; ++peer) {
    size_t offset = static_cast<size_t>(peer) * bytesPerRank;
    SMXRT_RETURN_IF_ERROR(
        checkNccl(ncclSend(static_cast<const char *>(send) + offset,
                           static_cast<size_t>(bytesPerRank), ncclChar, peer,
                           state->comm, state->stream),
                  "ncclSend", state));
    SMXRT_RETURN_IF_ERROR(
        checkNccl(ncclRecv(static_cast<char *>(recv) + offset,
                           static_cast<size_t>(bytesPerRank), ncclChar, peer,
                           state->comm, state->stream),
                  "ncclRecv", state));
  }
  SMXRT_RETURN_IF_ERROR(checkNccl(ncclGroupEnd(), "ncclGroupEnd", state));
  return wait(state, "all-to-all");
}

smxrt_status_t ncclBroadcastBytes(void *opaque, void *data, int64_t bytes,
                                  int64_t root) {
  auto *state = static_cast<NcclState *>(opaque);
  SMXRT_RETURN_IF_ERROR(requireComm(state));
  SMXRT_RETURN_IF_ERROR(checkNccl(
      ncclBroadcast(data, data, static_cast<size_t>(bytes), ncclChar,
                    static_cast<int>(root), state->comm, state->stream),
      "ncclBroadcast", state));
  return wait(state, "broadcast");
}

/// On host memory, over the bootstrap communicator (smxrt_comm_agree).
smxrt_status_t ncclAllGather(void *opaque, const void *send, void *recv,
                             int64_t bytes) {
  auto *state = static_cast<NcclState *>(opaque);
  // Block r of `recv` is rank r's `send`: every rank broadcasts its own.
  for (int root = 0; root < state->size; ++root) {
    char *block = static_cast<char *>(recv) + static_cast<size_t>(root) * bytes;
    if (root == state->rank)
      std::memcpy(block, send, static_cast<size_t>(bytes));
    SMXRT_RETURN_IF_ERROR(
        smxrt_comm_broadcast(state->bootstrap, block, bytes, root));
  }
  return nullptr;
}

/// A split of both the NCCL and the bootstrap communicator, on the same
/// device and a stream of its own.
smxrt_status_t ncclSplit(void *opaque, int64_t color, int64_t key,
                         void **out) {
  auto *state = static_cast<NcclState *>(opaque);
  SMXRT_RETURN_IF_ERROR(requireComm(state));
  auto sub = std::make_unique<NcclState>();
  sub->timeoutSeconds = state->timeoutSeconds;
  sub->device = state->device;
  SMXRT_RETURN_IF_ERROR(
      smxrt_comm_split(state->bootstrap, color, key, &sub->bootstrap));
  sub->rank = static_cast<int>(smxrt_comm_rank(sub->bootstrap));
  sub->size = static_cast<int>(smxrt_comm_size(sub->bootstrap));
  SMXRT_RETURN_IF_ERROR(
      checkNccl(ncclCommSplit(state->comm, static_cast<int>(color),
                              static_cast<int>(key), &sub->comm, nullptr),
                "ncclCommSplit", state));
  return finishOpening(std::move(sub), out);
}

void ncclAbortJob(void *opaque, int exitCode) {
  auto *state = static_cast<NcclState *>(opaque);
  if (state->comm)
    ncclCommAbort(state->comm);
  smxrt_comm_abort(state->bootstrap, exitCode);
}

void ncclClose(void *opaque) { delete static_cast<NcclState *>(opaque); }

const CommBackend kNcclBackend = {
    kCommBackendVersion,
    "nccl",
    ncclOpen,
    ncclRank,
    ncclSize,
    ncclAllReduceSum,
    ncclAllReduceSumStart,
    ncclTest,
    ncclWaitRequest,
    ncclAllToAll,
    ncclBroadcastBytes,
    ncclAllGather,
    ncclSplit,
    ncclAbortJob,
    ncclClose,
};

} // namespace

extern "C" __attribute__((visibility("default"))) const CommBackend *
smxrt_comm_backend_v1() {
  return &kNcclBackend;
}
