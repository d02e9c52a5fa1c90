//===- mpi_backend.cpp - Collectives over MPI (libsmx_comm_mpi.so) --------===//
//
// The MPI backend of smx_runtime/comm.h, for CPU buffers. Every collective
// is started non-blocking and completed by polling against a deadline, so
// a process whose peer died or skipped a collective returns
// DEADLINE_EXCEEDED instead of waiting forever (waitWithDeadline);
// smxrt_comm_abort then ends the job through MPI_Abort.
//
// MPI's all-reduce of floats may sum in an order that depends on the
// library's algorithm choice but not on timing: the same job repeats bit
// for bit.
//
//===----------------------------------------------------------------------===//

#include "comm_backend.h"
#include "status_internal.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>
#include <vector>

using namespace smxrt;

namespace {

struct MpiState {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
  double timeoutSeconds = 0;
  /// Whether this backend called MPI_Init (and so calls MPI_Finalize).
  bool initialized = false;
};

std::string errorString(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
    return formatString("MPI error %d", code);
  return std::string(text, static_cast<size_t>(length));
}

smxrt_status_t check(int code, const char *what, const MpiState *state) {
  if (code == MPI_SUCCESS)
    return nullptr;
  return makeStatusf(SMXRT_STATUS_INTERNAL, "rank %d: %s failed: %s",
                     state ? state->rank : -1, what,
                     errorString(code).c_str());
}

/// Waits for `request` until the deadline; the error names the collective.
smxrt_status_t wait(MpiState *state, MPI_Request &request, const char *what) {
  return waitWithDeadline(
      state->timeoutSeconds, state->rank, state->size, what,
      [&](bool &done) {
        int flag = 0;
        SMXRT_RETURN_IF_ERROR(
            check(MPI_Test(&request, &flag, MPI_STATUS_IGNORE), what, state));
        done = flag != 0;
        return smxrt_status_t(nullptr);
      },
      [] {});
}

/// MPI counts are ints: larger buffers go in chunks.
constexpr int64_t kMaxChunk = INT_MAX / 2;

smxrt_status_t mpiOpen(double timeoutSeconds, void **out) {
  auto *state = new MpiState;
  state->timeoutSeconds = timeoutSeconds;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    // Only the thread that calls the runtime makes MPI calls.
    int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED,
                               &provided);
    if (code != MPI_SUCCESS) {
      delete state;
      return makeStatusf(SMXRT_STATUS_INTERNAL, "MPI_Init_thread failed: %s",
                         errorString(code).c_str());
    }
    state->initialized = true;
  }
  // A communicator of our own, which returns errors instead of aborting.
  MPI_Comm_dup(MPI_COMM_WORLD, &state->comm);
  MPI_Comm_set_errhandler(state->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(state->comm, &state->rank);
  MPI_Comm_size(state->comm, &state->size);
  *out = state;
  return nullptr;
}

int64_t mpiRank(void *state) { return static_cast<MpiState *>(state)->rank; }
int64_t mpiSize(void *state) { return static_cast<MpiState *>(state)->size; }

smxrt_status_t mpiAllReduceSum(void *opaque, void *data, int64_t count,
                               smxrt_dtype_t dtype) {
  auto *state = static_cast<MpiState *>(opaque);
  MPI_Datatype type = dtype == SMXRT_DTYPE_I64 ? MPI_INT64_T : MPI_FLOAT;
  size_t elementSize = dtype == SMXRT_DTYPE_I64 ? 8 : 4;
  for (int64_t offset = 0; offset < count; offset += kMaxChunk) {
    int chunk = static_cast<int>(std::min(kMaxChunk, count - offset));
    MPI_Request request;
    SMXRT_RETURN_IF_ERROR(check(
        MPI_Iallreduce(MPI_IN_PLACE,
                       static_cast<char *>(data) +
                           static_cast<size_t>(offset) * elementSize,
                       chunk, type, MPI_SUM, state->comm, &request),
        "MPI_Iallreduce", state));
    SMXRT_RETURN_IF_ERROR(wait(state, request, "all-reduce"));
  }
  return nullptr;
}

/// A started all-reduce: one request per chunk.
struct MpiRequest {
  std::vector<MPI_Request> requests;
};

smxrt_status_t mpiAllReduceSumStart(void *opaque, void *data, int64_t count,
                                    smxrt_dtype_t dtype, void **out) {
  auto *state = static_cast<MpiState *>(opaque);
  MPI_Datatype type = dtype == SMXRT_DTYPE_I64 ? MPI_INT64_T : MPI_FLOAT;
  size_t elementSize = dtype == SMXRT_DTYPE_I64 ? 8 : 4;
  auto request = std::make_unique<MpiRequest>();
  for (int64_t offset = 0; offset < count; offset += kMaxChunk) {
    int chunk = static_cast<int>(std::min(kMaxChunk, count - offset));
    request->requests.emplace_back();
    SMXRT_RETURN_IF_ERROR(check(
        MPI_Iallreduce(MPI_IN_PLACE,
                       static_cast<char *>(data) +
                           static_cast<size_t>(offset) * elementSize,
                       chunk, type, MPI_SUM, state->comm,
                       &request->requests.back()),
        "MPI_Iallreduce", state));
  }
  *out = request.release();
  return nullptr;
}

smxrt_status_t mpiTest(void *opaque, void *request, bool &done) {
  auto *state = static_cast<MpiState *>(opaque);
  auto &requests = static_cast<MpiRequest *>(request)->requests;
  int flag = 0;
  SMXRT_RETURN_IF_ERROR(check(MPI_Testall(static_cast<int>(requests.size()),
                                          requests.data(), &flag,
                                          MPI_STATUSES_IGNORE),
                              "MPI_Testall", state));
  done = flag != 0;
  return nullptr;
}

smxrt_status_t mpiWait(void *opaque, void *request) {
  auto *state = static_cast<MpiState *>(opaque);
  std::unique_ptr<MpiRequest> owned(static_cast<MpiRequest *>(request));
  return waitWithDeadline(
      state->timeoutSeconds, state->rank, state->size, "all-reduce",
      [&](bool &done) { return mpiTest(state, owned.get(), done); }, [] {});
}

smxrt_status_t mpiAllToAll(void *opaque, const void *send, void *recv,
                           int64_t bytesPerRank) {
  auto *state = static_cast<MpiState *>(opaque);
  if (bytesPerRank > INT_MAX)
    return makeStatusf(SMXRT_STATUS_OUT_OF_RANGE,
                       "all-to-all blocks of %lld bytes exceed MPI's int "
                       "counts",
                       static_cast<long long>(bytesPerRank));
  MPI_Request request;
  SMXRT_RETURN_IF_ERROR(check(
      MPI_Ialltoall(send, static_cast<int>(bytesPerRank), MPI_BYTE, recv,
                    static_cast<int>(bytesPerRank), MPI_BYTE, state->comm,
                    &request),
      "MPI_Ialltoall", state));
  return wait(state, request, "all-to-all");
}

smxrt_status_t mpiBroadcast(void *opaque, void *data, int64_t bytes,
                            int64_t root) {
  auto *state = static_cast<MpiState *>(opaque);
  auto *bytesData = static_cast<char *>(data);
  for (int64_t offset = 0; offset < bytes; offset += kMaxChunk) {
    int chunk = static_cast<int>(std::min(kMaxChunk, bytes - offset));
    MPI_Request request;
    SMXRT_RETURN_IF_ERROR(check(MPI_Ibcast(bytesData + offset, chunk,
                                           MPI_BYTE, static_cast<int>(root),
                                           state->comm, &request),
                                "MPI_Ibcast", state));
    SMXRT_RETURN_IF_ERROR(wait(state, request, "broadcast"));
  }
  return nullptr;
}

smxrt_status_t mpiAllGather(void *opaque, const void *send, void *recv,
                            int64_t bytes) {
  auto *state = static_cast<MpiState *>(opaque);
  if (bytes > INT_MAX)
    return makeStatus(SMXRT_STATUS_OUT_OF_RANGE,
                      "all-gather blocks exceed MPI's int counts");
  MPI_Request request;
  SMXRT_RETURN_IF_ERROR(check(
      MPI_Iallgather(send, static_cast<int>(bytes), MPI_BYTE, recv,
                     static_cast<int>(bytes), MPI_BYTE, state->comm, &request),
      "MPI_Iallgather", state));
  return wait(state, request, "all-gather");
}

smxrt_status_t mpiSplit(void *opaque, int64_t color, int64_t key,
                        void **out) {
  auto *state = static_cast<MpiState *>(opaque);
  if (color < 0 || color > INT_MAX || key < 0 || key > INT_MAX)
    return makeStatusf(SMXRT_STATUS_OUT_OF_RANGE,
                       "rank %d: split color %lld or key %lld is out of MPI's "
                       "range",
                       state->rank, static_cast<long long>(color),
                       static_cast<long long>(key));
  auto sub = std::make_unique<MpiState>();
  sub->timeoutSeconds = state->timeoutSeconds;
  // MPI_Comm_split is blocking; every process of the job calls it at
  // start-up, right after the collectives that checked they agree.
  SMXRT_RETURN_IF_ERROR(check(MPI_Comm_split(state->comm,
                                             static_cast<int>(color),
                                             static_cast<int>(key),
                                             &sub->comm),
                              "MPI_Comm_split", state));
  MPI_Comm_set_errhandler(sub->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(sub->comm, &sub->rank);
  MPI_Comm_size(sub->comm, &sub->size);
  *out = sub.release();
  return nullptr;
}

/// Ends the whole job, also when called on a split communicator.
[[noreturn]] void mpiAbort(void *, int exitCode) {
  MPI_Abort(MPI_COMM_WORLD, exitCode);
  std::_Exit(exitCode);
}

void mpiClose(void *opaque) {
  auto *state = static_cast<MpiState *>(opaque);
  if (state->comm != MPI_COMM_NULL)
    MPI_Comm_free(&state->comm);
  if (state->initialized)
    MPI_Finalize();
  delete state;
}

const CommBackend kMpiBackend = {
    kCommBackendVersion, "mpi",          mpiOpen,
    mpiRank,             mpiSize,        mpiAllReduceSum,
    mpiAllReduceSumStart, mpiTest,       mpiWait,
    mpiAllToAll,         mpiBroadcast,   mpiAllGather,
    mpiSplit,            mpiAbort,       mpiClose,
};

} // namespace

extern "C" __attribute__((visibility("default"))) const CommBackend *
smxrt_comm_backend_v1() {
  return &kMpiBackend;
}
