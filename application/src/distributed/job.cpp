//===- job.cpp - The processes that run one command together --------------===//

#include "distributed/job.h"

#include "status_internal.h"

#include <cstdio>
#include <algorithm>
#include <initializer_list>
#include <cstdlib>
#include <cstring>
#include <fstream>
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
  return readLauncherInteger(
      {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"}, 1, 1);
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
  omp_set_num_threads(static_cast<int>(
      std::max<int64_t>(1, visible / localProcesses())));
}

} // namespace

int64_t localRankFromLauncher() {
  return readLauncherInteger(
      {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "SLURM_LOCALID"}, 0,
      0);
}

smxrt_status_t Job::join(const ModelManifest &manifest,
                         const std::string &program, int argc, char **argv,
                         std::unique_ptr<Job> &job) {
  job.reset(new Job);
  SMXRT_RETURN_IF_ERROR(
      smxrt_comm_open(SMXRT_COMM_AUTO, collectiveTimeout(), &job->comm));
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

smxrt_status_t Job::broadcastFromLeader(std::string &value) const {
  if (sizeOfJob == 1)
    return nullptr;
  int64_t length = static_cast<int64_t>(value.size());
  SMXRT_RETURN_IF_ERROR(smxrt_comm_broadcast(comm, &length, sizeof length, 0));
  value.resize(static_cast<size_t>(length));
  return smxrt_comm_broadcast(comm, value.data(), length, 0);
}

smxrt_status_t Job::sum(float *values, int64_t count) const {
  return sizeOfJob > 1 ? smxrt_comm_all_reduce_sum_f32(comm, values, count)
                       : nullptr;
}

smxrt_status_t Job::sum(int64_t *values, int64_t count) const {
  return sizeOfJob > 1 ? smxrt_comm_all_reduce_sum_i64(comm, values, count)
                       : nullptr;
}

smxrt_status_t Job::gather(const void *mine, void *all, int64_t bytes) const {
  if (sizeOfJob > 1)
    return smxrt_comm_all_gather(comm, mine, all, bytes);
  std::memcpy(all, mine, static_cast<size_t>(bytes));
  return nullptr;
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
