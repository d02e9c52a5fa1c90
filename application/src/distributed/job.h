//===- job.h - The processes that run one command together ------*- C++ -*-===//
//
// A model compiled for a dp x ep grid (smxc --grid) runs as dp·ep processes
// started by mpirun (docs/distributed.md). They form one job: they check
// at start-up that they run the same executable with the same command
// line, install the grid the compiled collectives run on, and split the
// work: each process trains on its share of every batch, and the leader
// (rank 0) alone prints, writes metrics and checkpoints. A model for one
// process forms a job of one.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_APPLICATION_DISTRIBUTED_JOB_H
#define SMX_APPLICATION_DISTRIBUTED_JOB_H

#include "model/manifest.h"

#include "smx_runtime/comm.h"
#include "smx_runtime/grid.h"
#include "smx_runtime/status.h"

#include <cstdint>
#include <memory>
#include <string>

namespace smxrt {

class Job {
public:
  /// Joins the job this process was launched in, for `manifest`: a model
  /// compiled for one process refuses more, a partitioned one needs
  /// exactly its grid's processes, all running `argv` of one executable.
  /// The job becomes thisJob() until it is destroyed; `job` is set even
  /// when a check fails, so that the caller can report and abort.
  static smxrt_status_t join(const ModelManifest &manifest,
                             const std::string &program, int argc,
                             char **argv, std::unique_ptr<Job> &job);
  ~Job();
  Job(const Job &) = delete;
  Job &operator=(const Job &) = delete;

  int64_t rank() const { return rankInJob; }
  int64_t size() const { return sizeOfJob; }
  bool isLeader() const { return rankInJob == 0; }

  /// Every process passes the same `value` for `what`; one error naming
  /// the first that differs otherwise.
  smxrt_status_t agree(const char *what, const std::string &value) const;
  /// The leader's `value`, on every process.
  smxrt_status_t broadcastFromLeader(std::string &value) const;
  /// In place: the sums over the job's processes.
  smxrt_status_t sum(float *values, int64_t count) const;
  smxrt_status_t sum(int64_t *values, int64_t count) const;
  /// Every process's `bytes` of `mine` into `all`, in rank order.
  smxrt_status_t gather(const void *mine, void *all, int64_t bytes) const;
  /// After an error: ends every process of a job of several with
  /// `exitCode` (the others may wait in a collective this one will never
  /// join); returns in a job of one.
  void abortIfShared(int exitCode) const;

private:
  friend const Job &thisJob();

/// This process's index among the job's processes on its machine, as the
/// launcher (Open MPI, MPICH, Slurm) says; 0 without one. Known before the
/// job is joined: it picks the process's GPU.
int64_t localRankFromLauncher();
  Job() = default;

  smxrt_comm_t comm = nullptr;
  smxrt_grid_t grid = nullptr;
  int64_t rankInJob = 0;
  int64_t sizeOfJob = 1;
};

/// The job of this process: the one joined, or a job of one process.
const Job &thisJob();

/// This process's index among the job's processes on its machine, as the
/// launcher (Open MPI, MPICH, Slurm) says; 0 without one. Known before the
/// job is joined: it picks the process's GPU.
int64_t localRankFromLauncher();

/// "; 2 per process on dp=2 x ep=1" for a partitioned model's report; ""
/// for a model of one process.
std::string describeGridShare(const ModelManifest &manifest);

} // namespace smxrt

#endif // SMX_APPLICATION_DISTRIBUTED_JOB_H
