//===- job.cpp - The processes that run one command together --------------===//

#include "distributed/job.h"

#include "memory.h"
#include "status_internal.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>

#include <omp.h>
#include <unistd.h>

namespace smxrt {
namespace {

const Job *joinedJob = nullptr;

/// How long a collective waits for the other processes before the job
/// ends: SMXRT_COLLECTIVE_TIMEOUT seconds, 300 by default.
double collectiveTimeout() {
  if (const char *text = std::getenv("SMXRT_COLLECTIVE_TIMEOUT")) {
    char *end = nullptr;
    double seconds = std::strtod(text, &end);
    if (end != text && *end == '\0' && seconds > 0)
      return seconds;
  }
  return 300.0;
}

/// FNV-1a-64 of this process's executable, as hex: two processes run the
/// same program only if these agree.
std::string executableHash() {
  std::ifstream file("/proc/self/exe", std::ios::binary);
  uint64_t hash = 14695981039346656037ull;
  char buffer[1 << 16];
  while (file.read(buffer, sizeof buffer) || file.gcount() > 0) {
    for (std::streamsize i = 0; i < file.gcount(); ++i)
      hash = (hash ^ static_cast<unsigned char>(buffer[i])) * 1099511628211ull;
  }
  return formatString("%016llx", static_cast<unsigned long long>(hash));
}

/// The first of `names` the launcher set to an integer of at least
/// `least`, or `fallback`.
int64_t readLauncherInteger(std::initializer_list<const char *> names,
                            int64_t least, int64_t fallback) {
  for (const char *name : names)
    if (const char *value = std::getenv(name)) {
      char *end = nullptr;
      long parsed = std::strtol(value, &end, 10);
      if (end != value && *end == '\0' && parsed >= least)
        return parsed;
    }
  return fallback;
}

/// The processes of this job on this machine, as the launcher says.
int64_t localProcesses() {
  return readLauncherInteger({"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"},
                             1, 1);
}

/// Shares this machine's cores among its processes of the job, unless
/// OMP_NUM_THREADS says otherwise: a launcher that bound each process to
/// its cores (mpirun's binding to cores or sockets) has already shared
/// them; one that did not leaves every process all cores, and they would
/// oversubscribe them with as many OpenMP threads each.
void shareCores() {
  if (std::getenv("OMP_NUM_THREADS"))
    return;
  int64_t visible = omp_get_num_procs();
  long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (online <= 0 || visible < online)
    return;
  omp_set_num_threads(
      static_cast<int>(std::max<int64_t>(1, visible / localProcesses())));
}

} // namespace

int64_t localRankFromLauncher() {
  return readLauncherInteger(
      {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"}, 0, 0);
}

smxrt_status_t Job::join(const ModelManifest &manifest,
                         const std::string &program, int argc, char **argv,
                         std::unique_ptr<Job> &job) {
  job.reset(new Job);
  SMXRT_RETURN_IF_ERROR(smxrt_comm_open(
      manifest.runsOnGpu() ? SMXRT_COMM_AUTO_DEVICE : SMXRT_COMM_AUTO,
      collectiveTimeout(), &job->comm));
  // Joined from here, also when a check below fails: the caller reports
  // the failure once, from the leader, and ends the job.
  Job *joined = job.get();
  joinedJob = joined;
  joined->rankInJob = smxrt_comm_rank(joined->comm);
  joined->sizeOfJob = smxrt_comm_size(joined->comm);
  int64_t processes = manifest.dataParallel * manifest.expertParallel;
  if (!manifest.isPartitioned() && joined->sizeOfJob > 1)
    return makeStatusf(
        SMXRT_STATUS_INVALID_ARGUMENT,
        "this job has %lld processes, but %s was compiled for one: compile "
        "it with smxc --grid dp=%lld to train on %lld processes "
        "(docs/distributed.md)",
        static_cast<long long>(joined->sizeOfJob), program.c_str(),
        static_cast<long long>(joined->sizeOfJob),
        static_cast<long long>(joined->sizeOfJob));
  if (joined->sizeOfJob != processes)
    return makeStatusf(
        SMXRT_STATUS_INVALID_ARGUMENT,
        "%s was compiled for a grid of dp=%lld x ep=%lld = %lld processes, "
        "but this job has %lld: run it with mpirun -np %lld",
        program.c_str(), static_cast<long long>(manifest.dataParallel),
        static_cast<long long>(manifest.expertParallel),
        static_cast<long long>(processes),
        static_cast<long long>(joined->sizeOfJob),
        static_cast<long long>(processes));
  if (joined->sizeOfJob > 1) {
    shareCores();
    SMXRT_RETURN_IF_ERROR(joined->agree("the executable", executableHash()));
    std::string commandLine;
    for (int i = 1; i < argc; ++i)
      commandLine += std::string(i > 1 ? " " : "") + argv[i];
    SMXRT_RETURN_IF_ERROR(joined->agree("the command line", commandLine));
    int64_t shape[] = {manifest.dataParallel, manifest.expertParallel};
    SMXRT_RETURN_IF_ERROR(
        smxrt_grid_create(joined->comm, shape, 2, &joined->grid));
    smxrt_grid_install(joined->grid);
  }
  return nullptr;
}

Job::~Job() {
  if (joinedJob == this)
    joinedJob = nullptr;
  smxrt_grid_destroy(grid);
  smxrt_comm_close(comm);
}

smxrt_status_t Job::agree(const char *what, const std::string &value) const {
  if (sizeOfJob == 1)
    return nullptr;
  return smxrt_comm_agree(comm, what, value.c_str());
}

namespace {

/// Runs `collective` on copies of the application's values in runtime
/// buffers: a GPU job's backend (NCCL) reads device-accessible memory only,
/// and the runtime's buffers are managed memory there. `bytes` of `values`
/// go in, and `resultBytes` come back into `result` (in place when it is
/// `values`).
template <typename Collective>
smxrt_status_t staged(const void *values, size_t bytes, void *result,
                      size_t resultBytes, Collective collective) {
  OwnedBuffer input(bytes), output(result == values ? 0 : resultBytes);
  if (!input.data() || (result != values && !output.data()))
    return makeStatusf(SMXRT_STATUS_RESOURCE_EXHAUSTED,
                       "cannot allocate %zu bytes for a collective",
                       bytes + resultBytes);
  std::memcpy(input.data(), values, bytes);
  void *staging = result == values ? input.data() : output.data();
  SMXRT_RETURN_IF_ERROR(collective(input.data(), staging));
  std::memcpy(result, staging, resultBytes);
  return nullptr;
}

} // namespace

smxrt_status_t Job::broadcastFromLeader(std::string &value) const {
  if (sizeOfJob == 1)
    return nullptr;
  int64_t length = static_cast<int64_t>(value.size());
  SMXRT_RETURN_IF_ERROR(staged(
      &length, sizeof length, &length, sizeof length, [&](void *data, void *) {
        return smxrt_comm_broadcast(comm, data, sizeof length, 0);
      }));
  value.resize(static_cast<size_t>(length));
  return staged(value.data(), value.size(), value.data(), value.size(),
                [&](void *data, void *) {
                  return smxrt_comm_broadcast(comm, data, length, 0);
                });
}

smxrt_status_t Job::sum(float *values, int64_t count) const {
  if (sizeOfJob == 1)
    return nullptr;
  size_t bytes = static_cast<size_t>(count) * sizeof(float);
  return staged(values, bytes, values, bytes, [&](void *data, void *) {
    return smxrt_comm_all_reduce_sum_f32(comm, static_cast<float *>(data),
                                         count);
  });
}

smxrt_status_t Job::sum(int64_t *values, int64_t count) const {
  if (sizeOfJob == 1)
    return nullptr;
  size_t bytes = static_cast<size_t>(count) * sizeof(int64_t);
  return staged(values, bytes, values, bytes, [&](void *data, void *) {
    return smxrt_comm_all_reduce_sum_i64(comm, static_cast<int64_t *>(data),
                                         count);
  });
}

smxrt_status_t Job::gather(const void *mine, void *all, int64_t bytes) const {
  if (sizeOfJob == 1) {
    std::memcpy(all, mine, static_cast<size_t>(bytes));
    return nullptr;
  }
  return staged(mine, static_cast<size_t>(bytes), all,
                static_cast<size_t>(bytes * sizeOfJob),
                [&](void *input, void *output) {
                  return smxrt_comm_all_gather(comm, input, output, bytes);
                });
}

void Job::abortIfShared(int exitCode) const {
  if (sizeOfJob > 1) {
    std::fflush(nullptr);
    smxrt_comm_abort(comm, exitCode);
  }
}

const Job &thisJob() {
  static const Job single;
  return joinedJob ? *joinedJob : single;
}

std::string describeGridShare(const ModelManifest &manifest) {
  if (!manifest.isPartitioned())
    return "";
  return formatString("; %lld per process on a grid of dp=%lld x ep=%lld",
                      static_cast<long long>(manifest.batch),
                      static_cast<long long>(manifest.dataParallel),
                      static_cast<long long>(manifest.expertParallel));
}

} // namespace smxrt
