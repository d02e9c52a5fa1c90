//===- comm_backend.h - What a communication backend provides --*- C++ -*-===//
//
// smx_runtime/comm.h is one interface; each backend behind it is this table
// of functions. The single-process backend lives in libsmx_runtime; the MPI
// and NCCL backends are libraries of their own (libsmx_comm_mpi.so,
// libsmx_comm_nccl.so) that export `smxrt_comm_backend_v1()` returning
// their table, loaded on demand by comm.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_COMM_COMM_BACKEND_H
#define SMX_RUNTIME_COMM_COMM_BACKEND_H

#include "smx_runtime/status.h"
#include "smx_runtime/tensor.h"

#include "status_internal.h"

#include <chrono>
#include <cstdint>
#include <thread>

namespace smxrt {

/// Bumped when the table changes; comm.cpp refuses a library built against
/// another version.
constexpr int kCommBackendVersion = 3;

/// The symbol each backend library exports: `extern "C" const
/// CommBackend *smxrt_comm_backend_v1(void)`.
#define SMXRT_COMM_BACKEND_SYMBOL "smxrt_comm_backend_v1"

struct CommBackend {
  int version;
  const char *name;
  /// Joins the job; `state` is the backend's, passed to every call.
  smxrt_status_t (*open)(double timeoutSeconds, void **state);
  int64_t (*rank)(void *state);
  int64_t (*size)(void *state);
  /// In place; `dtype` is SMXRT_DTYPE_F32 or SMXRT_DTYPE_I64.
  smxrt_status_t (*allReduceSum)(void *state, void *data, int64_t count,
                                 smxrt_dtype_t dtype);
  /// The same, started: `*request` is the backend's handle (may be null
  /// for one that finished at once); `data` stays untouched until `wait`.
  smxrt_status_t (*allReduceSumStart)(void *state, void *data, int64_t count,
                                      smxrt_dtype_t dtype, void **request);
  /// Advances started collectives without blocking; `done` says whether
  /// `request` finished.
  smxrt_status_t (*test)(void *state, void *request, bool &done);
  /// Blocks until `request` finishes or the deadline passes, then frees it.
  smxrt_status_t (*wait)(void *state, void *request);
  smxrt_status_t (*allToAll)(void *state, const void *send, void *recv,
                             int64_t bytesPerRank);
  smxrt_status_t (*broadcast)(void *state, void *data, int64_t bytes,
                              int64_t root);
  /// `recv` holds `size` blocks of `bytes`: block r is rank r's `send`.
  smxrt_status_t (*allGather)(void *state, const void *send, void *recv,
                              int64_t bytes);
  /// The processes that pass the same `color` as one communicator, ranked
  /// by `key`; every process of `state` calls it (MPI_Comm_split).
  smxrt_status_t (*split)(void *state, int64_t color, int64_t key,
                          void **subState);
  /// Ends every process of the job; never returns.
  void (*abort)(void *state, int exitCode);
  /// Frees `state`; the job's communicator also leaves the job (a split one
  /// does not).
  void (*close)(void *state);
};

/// Polls `poll(done)` until it sets `done`, returns an error, or
/// `timeoutSeconds` pass; then runs `onTimeout` and returns the
/// DEADLINE_EXCEEDED every backend reports for collective `what` of rank
/// `rank` of `size`. For its first 50 us it polls yielding the core (a
/// collective between processes of one machine takes microseconds, and a
/// sleep costs the timer slack, about 50 us, each time); then it sleeps
/// between polls, from 1 to 200 us: on an oversubscribed machine a spinning
/// rank takes the core its peer needs.
template <typename Poll, typename OnTimeout>
smxrt_status_t waitWithDeadline(double timeoutSeconds, int rank, int size,
                                const char *what, Poll poll,
                                OnTimeout onTimeout) {
  using Clock = std::chrono::steady_clock;
  const auto deadline =
      Clock::now() + std::chrono::duration<double>(timeoutSeconds);
  auto pause = std::chrono::microseconds(1);
  const auto spinUntil = Clock::now() + std::chrono::microseconds(50);
  while (true) {
    bool done = false;
    SMXRT_RETURN_IF_ERROR(poll(done));
    if (done)
      return nullptr;
    if (Clock::now() < spinUntil) {
      std::this_thread::yield();
      continue;
    }
    if (Clock::now() > deadline) {
      onTimeout();
      return makeStatusf(
          SMXRT_STATUS_DEADLINE_EXCEEDED,
          "rank %d of %d: the %s did not complete within %g s: another "
          "process of the job failed, or the processes diverged (different "
          "steps, executables or data)",
          rank, size, what, timeoutSeconds);
    }
    std::this_thread::sleep_for(pause);
    if (pause < std::chrono::microseconds(200))
      pause *= 2;
  }
}

} // namespace smxrt

#endif // SMX_RUNTIME_COMM_COMM_BACKEND_H
