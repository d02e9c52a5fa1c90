//===- comm_deadline_main.cpp - a job whose ranks diverge ends -----------===//
//
// Under `mpirun -np 2`: rank 1 never joins the all-reduce (it sleeps, as a
// rank stuck or diverged would). Rank 0 must give up after the timeout,
// print the error once and end the whole job through smxrt_comm_abort:
// the job exits non-zero in about the timeout, never hangs. CTest checks
// the message and bounds the time.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/comm.h"

#include <chrono>
#include <cstdio>
#include <thread>

int main() {
  smxrt_comm_t comm = nullptr;
  if (smxrt_status_t status = smxrt_comm_open(SMXRT_COMM_AUTO, 2.0, &comm)) {
    std::fprintf(stderr, "error: %s\n", smxrt_status_message(status));
    return 1;
  }
  if (smxrt_comm_rank(comm) != 0) {
    std::this_thread::sleep_for(std::chrono::seconds(120));
    return 0;
  }
  float value = 1.0f;
  smxrt_status_t status = smxrt_comm_all_reduce_sum_f32(comm, &value, 1);
  if (!status) {
    std::fprintf(stderr, "error: the all-reduce completed without rank 1\n");
    return 1;
  }
  std::fprintf(stderr, "error: %s\n", smxrt_status_message(status));
  smxrt_comm_abort(comm, 3);
}
