//===- comm.cpp - The job's communicator and its backends -----------------===//
//
// smx_runtime/comm.h over a CommBackend table: the single-process backend
// here, MPI and NCCL from their own libraries, found next to the library
// (or executable) this code is in, then on the loader's path.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/comm.h"

#include "comm_backend.h"
#include "status_internal.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace smxrt;

struct smxrt_comm_storage_t {
  const CommBackend *backend;
  void *state;
};

struct smxrt_comm_request_storage_t {
  smxrt_comm_t comm;
  void *request;
  bool done;
};

namespace {

//===----------------------------------------------------------------------===//
// The single-process backend: every collective is the identity.
//===----------------------------------------------------------------------===//

smxrt_status_t singleOpen(double, void **state) {
  *state = nullptr;
  return nullptr;
}
int64_t singleRank(void *) { return 0; }
int64_t singleSize(void *) { return 1; }
smxrt_status_t singleAllReduce(void *, void *, int64_t, smxrt_dtype_t) {
  return nullptr;
}
smxrt_status_t singleAllReduceStart(void *, void *, int64_t, smxrt_dtype_t,
                                    void **request) {
  *request = nullptr;
  return nullptr;
}
smxrt_status_t singleTest(void *, void *, bool &done) {
  done = true;
  return nullptr;
}
smxrt_status_t singleWait(void *, void *) { return nullptr; }
smxrt_status_t singleAllToAll(void *, const void *send, void *recv,
                              int64_t bytes) {
  if (send != recv && bytes > 0)
    std::memmove(recv, send, static_cast<size_t>(bytes));
  return nullptr;
}
smxrt_status_t singleBroadcast(void *, void *, int64_t, int64_t) {
  return nullptr;
}
smxrt_status_t singleSplit(void *, int64_t, int64_t, void **out) {
  *out = nullptr;
  return nullptr;
}
[[noreturn]] void singleAbort(void *, int exitCode) { std::_Exit(exitCode); }
void singleClose(void *) {}

const CommBackend kSingleBackend = {
    kCommBackendVersion, "single",        singleOpen,
    singleRank,          singleSize,      singleAllReduce,
    singleAllReduceStart, singleTest,     singleWait,
    singleAllToAll,      singleBroadcast, singleAllToAll,
    singleSplit,         singleAbort,     singleClose,
};

//===----------------------------------------------------------------------===//
// Loading a backend library.
//===----------------------------------------------------------------------===//

/// Whether an MPI launcher started this process: Open MPI's mpirun, a PMI
/// launcher (MPICH's hydra, Slurm's srun) or a PMIx one.
bool launchedByMpi() {
  for (const char *name :
       {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name))
      return true;
  return false;
}

/// The directory of the shared object (or executable) holding this code.
std::string ownDirectory() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void *>(&smxrt_comm_open), &info) ||
      !info.dli_fname)
    return "";
  std::string path = info.dli_fname;
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

smxrt_status_t loadBackend(const std::string &library,
                           const CommBackend *&backend) {
  std::string directory = ownDirectory();
  std::vector<std::string> candidates;
  if (!directory.empty()) {
    candidates.push_back(directory + "/" + library);
    candidates.push_back(directory + "/../lib/" + library);
  }
  candidates.push_back(library);
  std::string errors;
  for (const std::string &candidate : candidates) {
    // RTLD_GLOBAL: Open MPI loads its own components, which resolve
    // libmpi's symbols globally.
    void *handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!handle) {
      errors += formatString("\n  %s", dlerror());
      continue;
    }
    using Entry = const CommBackend *(*)();
    auto entry =
        reinterpret_cast<Entry>(dlsym(handle, SMXRT_COMM_BACKEND_SYMBOL));
    if (!entry)
      return makeStatusf(SMXRT_STATUS_INTERNAL,
                         "%s does not export %s: not an smx backend",
                         candidate.c_str(), SMXRT_COMM_BACKEND_SYMBOL);
    backend = entry();
    if (!backend || backend->version != kCommBackendVersion)
      return makeStatusf(SMXRT_STATUS_INTERNAL,
                         "%s implements communication backend version %d; "
                         "this runtime needs %d (rebuild smx)",
                         candidate.c_str(), backend ? backend->version : -1,
                         kCommBackendVersion);
    return nullptr;
  }
  return makeStatusf(SMXRT_STATUS_NOT_FOUND,
                     "cannot load the communication backend %s (looked next "
                     "to the smx runtime, in %s, and on the loader's path):%s",
                     library.c_str(),
                     directory.empty() ? "(unknown)" : directory.c_str(),
                     errors.c_str());
}

/// One fixed-size record per rank for smxrt_comm_agree: the value's
/// length, a hash of all of it, and its start for the message.
struct AgreeRecord {
  uint64_t length;
  uint64_t hash;
  char prefix[240];
};

uint64_t hashBytes(const char *data, size_t size) {
  uint64_t hash = 14695981039346656037ull; // FNV-1a
  for (size_t i = 0; i < size; ++i)
    hash = (hash ^ static_cast<unsigned char>(data[i])) * 1099511628211ull;
  return hash;
}

std::string describe(const AgreeRecord &record) {
  std::string text(record.prefix,
                   strnlen(record.prefix, sizeof(record.prefix)));
  if (record.length > text.size())
    text += "...";
  return "'" + text + "'";
}

} // namespace

extern "C" smxrt_status_t smxrt_comm_open(smxrt_comm_backend_t backend,
                                          double timeout_seconds,
                                          smxrt_comm_t *out) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (!out)
      return invalidArgument("smxrt_comm_open: out is NULL");
    *out = nullptr;
    if (!(timeout_seconds > 0))
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "smxrt_comm_open: the collective timeout must be "
                         "positive, got %g s",
                         timeout_seconds);
    // A C caller may pass any int; read it as one (loading an enum object
    // that holds no enumerator's value is undefined in C++).
    static_assert(sizeof(backend) == sizeof(int), "an int-sized enum");
    int requested = 0;
    std::memcpy(&requested, &backend, sizeof requested);
    if (requested == SMXRT_COMM_AUTO)
      requested = launchedByMpi() ? SMXRT_COMM_MPI : SMXRT_COMM_SINGLE;
    else if (requested == SMXRT_COMM_AUTO_DEVICE)
      requested = launchedByMpi() ? SMXRT_COMM_NCCL : SMXRT_COMM_SINGLE;
    const CommBackend *table = nullptr;
    switch (requested) {
    case SMXRT_COMM_SINGLE:
      table = &kSingleBackend;
      break;
    case SMXRT_COMM_MPI:
      SMXRT_RETURN_IF_ERROR(loadBackend("libsmx_comm_mpi.so", table));
      break;
    case SMXRT_COMM_NCCL:
      SMXRT_RETURN_IF_ERROR(loadBackend("libsmx_comm_nccl.so", table));
      break;
    default:
      return makeStatusf(SMXRT_STATUS_INVALID_ARGUMENT,
                         "smxrt_comm_open: unknown backend %d", requested);
    }
    void *state = nullptr;
    SMXRT_RETURN_IF_ERROR(annotateStatus(
        table->open(timeout_seconds, &state),
        std::string("opening the ") + table->name + " communicator: "));
    *out = new smxrt_comm_storage_t{table, state};
    return nullptr;
  });
}

extern "C" const char *smxrt_comm_backend_name(smxrt_comm_t comm) {
  return comm ? comm->backend->name : "";
}

extern "C" int64_t smxrt_comm_rank(smxrt_comm_t comm) {
  return comm ? comm->backend->rank(comm->state) : 0;
}

extern "C" int64_t smxrt_comm_size(smxrt_comm_t comm) {
  return comm ? comm->backend->size(comm->state) : 1;
}

extern "C" smxrt_status_t smxrt_comm_all_reduce_sum_f32(smxrt_comm_t comm,
                                                        float *data,
                                                        int64_t count) {
  if (!comm || (!data && count > 0) || count < 0)
    return invalidArgument("smxrt_comm_all_reduce_sum_f32: bad arguments");
  return comm->backend->allReduceSum(comm->state, data, count,
                                     SMXRT_DTYPE_F32);
}

extern "C" smxrt_status_t smxrt_comm_all_reduce_sum_i64(smxrt_comm_t comm,
                                                        int64_t *data,
                                                        int64_t count) {
  if (!comm || (!data && count > 0) || count < 0)
    return invalidArgument("smxrt_comm_all_reduce_sum_i64: bad arguments");
  return comm->backend->allReduceSum(comm->state, data, count,
                                     SMXRT_DTYPE_I64);
}

extern "C" smxrt_status_t
smxrt_comm_all_reduce_sum_start(smxrt_comm_t comm, void *data, int64_t count,
                                smxrt_dtype_t dtype,
                                smxrt_comm_request_t *out) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (!out)
      return invalidArgument("smxrt_comm_all_reduce_sum_start: out is NULL");
    *out = nullptr;
    if (!comm || (!data && count > 0) || count < 0 ||
        (dtype != SMXRT_DTYPE_F32 && dtype != SMXRT_DTYPE_I64))
      return invalidArgument("smxrt_comm_all_reduce_sum_start: bad arguments");
    void *request = nullptr;
    SMXRT_RETURN_IF_ERROR(comm->backend->allReduceSumStart(
        comm->state, data, count, dtype, &request));
    *out = new smxrt_comm_request_storage_t{comm, request, request == nullptr};
    return nullptr;
  });
}

extern "C" smxrt_status_t smxrt_comm_test(smxrt_comm_request_t request,
                                          int *done) {
  if (!request || !done)
    return invalidArgument("smxrt_comm_test: bad arguments");
  if (!request->done) {
    bool finished = false;
    SMXRT_RETURN_IF_ERROR(request->comm->backend->test(
        request->comm->state, request->request, finished));
    request->done = finished;
  }
  *done = request->done ? 1 : 0;
  return nullptr;
}

extern "C" smxrt_status_t smxrt_comm_wait(smxrt_comm_request_t request) {
  if (!request)
    return nullptr;
  std::unique_ptr<smxrt_comm_request_storage_t> owned(request);
  if (!owned->request)
    return nullptr;
  return owned->comm->backend->wait(owned->comm->state, owned->request);
}

extern "C" smxrt_status_t smxrt_comm_split(smxrt_comm_t comm, int64_t color,
                                           int64_t key, smxrt_comm_t *out) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (!out)
      return invalidArgument("smxrt_comm_split: out is NULL");
    *out = nullptr;
    if (!comm || color < 0 || key < 0)
      return invalidArgument("smxrt_comm_split: bad arguments");
    void *state = nullptr;
    SMXRT_RETURN_IF_ERROR(
        comm->backend->split(comm->state, color, key, &state));
    *out = new smxrt_comm_storage_t{comm->backend, state};
    return nullptr;
  });
}

extern "C" smxrt_status_t smxrt_comm_all_to_all(smxrt_comm_t comm,
                                                const void *send, void *recv,
                                                int64_t bytes_per_rank) {
  if (!comm || bytes_per_rank < 0 ||
      (bytes_per_rank > 0 && (!send || !recv)))
    return invalidArgument("smxrt_comm_all_to_all: bad arguments");
  return comm->backend->allToAll(comm->state, send, recv, bytes_per_rank);
}

extern "C" smxrt_status_t smxrt_comm_all_gather(smxrt_comm_t comm,
                                                const void *send, void *recv,
                                                int64_t bytes) {
  if (!comm || bytes < 0 || (bytes > 0 && (!send || !recv)))
    return invalidArgument("smxrt_comm_all_gather: bad arguments");
  return comm->backend->allGather(comm->state, send, recv, bytes);
}

extern "C" smxrt_status_t smxrt_comm_broadcast(smxrt_comm_t comm, void *data,
                                               int64_t bytes, int64_t root) {
  if (!comm || bytes < 0 || (bytes > 0 && !data) || root < 0 ||
      root >= smxrt_comm_size(comm))
    return invalidArgument("smxrt_comm_broadcast: bad arguments");
  return comm->backend->broadcast(comm->state, data, bytes, root);
}

extern "C" smxrt_status_t smxrt_comm_agree(smxrt_comm_t comm, const char *what,
                                           const char *value) {
  return catchExceptions([&]() -> smxrt_status_t {
    if (!comm || !what || !value)
      return invalidArgument("smxrt_comm_agree: bad arguments");
    AgreeRecord mine{};
    size_t length = std::strlen(value);
    mine.length = length;
    mine.hash = hashBytes(value, length);
    std::strncpy(mine.prefix, value, sizeof(mine.prefix) - 1);
    int64_t size = smxrt_comm_size(comm);
    std::vector<AgreeRecord> all(static_cast<size_t>(size));
    SMXRT_RETURN_IF_ERROR(comm->backend->allGather(
        comm->state, &mine, all.data(), sizeof(AgreeRecord)));
    for (int64_t rank = 1; rank < size; ++rank)
      if (all[rank].hash != all[0].hash || all[rank].length != all[0].length)
        return makeStatusf(
            SMXRT_STATUS_INVALID_ARGUMENT,
            "the processes of this job disagree on %s: rank 0 has %s, rank "
            "%lld has %s",
            what, describe(all[0]).c_str(), static_cast<long long>(rank),
            describe(all[rank]).c_str());
    return nullptr;
  });
}

extern "C" void smxrt_comm_abort(smxrt_comm_t comm, int exit_code) {
  if (comm)
    comm->backend->abort(comm->state, exit_code);
  std::_Exit(exit_code);
}

extern "C" void smxrt_comm_close(smxrt_comm_t comm) {
  if (!comm)
    return;
  comm->backend->close(comm->state);
  delete comm;
}
