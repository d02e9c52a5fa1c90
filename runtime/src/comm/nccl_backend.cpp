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

smxrt_status_t ncclOpen(double timeoutSeconds, void **out) {
  auto state = std::make_unique<NcclState>();
  state->timeoutSeconds = timeoutSeconds;
  int devices = 0;
  cudaError_t error = cudaGetDeviceCount(&devices);
  if (error != cudaSuccess || devices == 0)
    return makeStatusf(SMXRT_STATUS_UNIMPLEMENTED, "no CUDA device: %s",
                       error != cudaSuccess ? cudaGetErrorString(error)
                                            : "the driver reports none");
  SMXRT_RETURN_IF_ERROR(
      smxrt_comm_open(SMXRT_COMM_MPI, timeoutSeconds, &state->bootstrap));
  state->rank = static_cast<int>(smxrt_comm_rank(state->bootstrap));
  state->size = static_cast<int>(smxrt_comm_size(state->bootstrap));
  state->device = localRank(state->rank) % devices;
  auto fail = [&](smxrt_status_t status) {
    if (state->comm)
      ncclCommDestroy(state->comm);
    smxrt_comm_close(state->bootstrap);
    return status;
  };
  if (smxrt_status_t status =
          checkCuda(cudaSetDevice(state->device), "cudaSetDevice"))
    return fail(status);
  ncclUniqueId id;
  if (state->rank == 0)
    if (smxrt_status_t status =
            checkNccl(ncclGetUniqueId(&id), "ncclGetUniqueId", state.get()))
      return fail(status);
  if (smxrt_status_t status =
          smxrt_comm_broadcast(state->bootstrap, &id, sizeof(id), 0))
    return fail(status);
  if (smxrt_status_t status = checkNccl(
          ncclCommInitRank(&state->comm, state->size, id, state->rank),
          "ncclCommInitRank", state.get()))
    return fail(status);
  if (smxrt_status_t status = checkCuda(
          cudaStreamCreateWithFlags(&state->stream, cudaStreamNonBlocking),
          "cudaStreamCreateWithFlags"))
    return fail(status);
  *out = state.release();
  return nullptr;
}

int64_t ncclRank(void *state) { return static_cast<NcclState *>(state)->rank; }
int64_t ncclSize(void *state) { return static_cast<NcclState *>(state)->size; }

smxrt_status_t ncclAllReduceSum(void *opaque, void *data, int64_t count,
                                smxrt_dtype_t dtype) {
  auto *state = static_cast<NcclState *>(opaque);
  SMXRT_RETURN_IF_ERROR(requireComm(state));
  SMXRT_RETURN_IF_ERROR(checkNccl(
      ncclAllReduce(data, data, static_cast<size_t>(count),
                    dtype == SMXRT_DTYPE_I64 ? ncclInt64 : ncclFloat, ncclSum,
                    state->comm, state->stream),
      "ncclAllReduce", state));
  return wait(state, "all-reduce");
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
  auto fail = [&](smxrt_status_t status) {
    if (sub->comm)
      ncclCommDestroy(sub->comm);
    smxrt_comm_close(sub->bootstrap);
    return status;
  };
  SMXRT_RETURN_IF_ERROR(
      smxrt_comm_split(state->bootstrap, color, key, &sub->bootstrap));
  sub->rank = static_cast<int>(smxrt_comm_rank(sub->bootstrap));
  sub->size = static_cast<int>(smxrt_comm_size(sub->bootstrap));
  if (smxrt_status_t status = checkNccl(
          ncclCommSplit(state->comm, static_cast<int>(color),
                        static_cast<int>(key), &sub->comm, nullptr),
          "ncclCommSplit", state))
    return fail(status);
  if (smxrt_status_t status = checkCuda(
          cudaStreamCreateWithFlags(&sub->stream, cudaStreamNonBlocking),
          "cudaStreamCreateWithFlags"))
    return fail(status);
  *out = sub.release();
  return nullptr;
}

void ncclAbortJob(void *opaque, int exitCode) {
  auto *state = static_cast<NcclState *>(opaque);
  if (state->comm)
    ncclCommAbort(state->comm);
  smxrt_comm_abort(state->bootstrap, exitCode);
}

void ncclClose(void *opaque) {
  auto *state = static_cast<NcclState *>(opaque);
  if (state->comm)
    ncclCommDestroy(state->comm);
  if (state->stream)
    cudaStreamDestroy(state->stream);
  smxrt_comm_close(state->bootstrap);
  delete state;
}

const CommBackend kNcclBackend = {
    kCommBackendVersion,
    "nccl",
    ncclOpen,
    ncclRank,
    ncclSize,
    ncclAllReduceSum,
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
