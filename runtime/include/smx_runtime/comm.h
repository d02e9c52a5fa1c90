/*===- smx_runtime/comm.h - Collectives among the processes of a job -*- C
 *-*-===*
 *
 * The processes that train one model together (`mpirun -np N OUT train`)
 * talk through one interface with interchangeable backends:
 *
 *   - single: one process; every collective is the identity;
 *   - MPI: CPU buffers over the job's MPI library (libsmx_comm_mpi.so,
 *     loaded on demand, so programs that never run under mpirun neither
 *     link MPI nor pay for its start-up);
 *   - NCCL: device buffers over NCCL (libsmx_comm_nccl.so, where CUDA is
 *     present), its unique id broadcast over MPI, so a multi-node launch is
 *     the same `mpirun`; smxrt_comm_agree stays on host memory, over MPI.
 *
 * Every collective is bounded in time: a backend gives up after the
 * timeout given at open (a rank that failed, or ranks that diverged, never
 * hang the others) and returns SMXRT_STATUS_DEADLINE_EXCEEDED. After an
 * error, a process calls smxrt_comm_abort, which ends every process of the
 * job (the others may be blocked in a collective that will never
 * complete).
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_COMM_H
#define SMX_RUNTIME_COMM_H

#include "smx_runtime/api.h"
#include "smx_runtime/status.h"
#include "smx_runtime/tensor.h"

#include <stdint.h>

SMXRT_EXTERN_C_BEGIN

/* The values are part of the ABI: never renumber, only append. */
typedef enum smxrt_comm_backend_e {
  /* MPI when the process was started by an MPI launcher (mpirun, mpiexec,
   * srun with PMI/PMIx), single otherwise. */
  SMXRT_COMM_AUTO = 0,
  SMXRT_COMM_SINGLE = 1,
  SMXRT_COMM_MPI = 2,
  SMXRT_COMM_NCCL = 3,
  /* For device buffers (a model compiled with smxc --target=cuda): NCCL
   * when started by an MPI launcher, single otherwise. */
  SMXRT_COMM_AUTO_DEVICE = 4,
} smxrt_comm_backend_t;

/* An open communicator over every process of the job. */
typedef struct smxrt_comm_storage_t *smxrt_comm_t;

/* Opens the communicator of this process's job with `backend`. Collectives
 * give up after `timeout_seconds` (> 0). Fails with a message naming the
 * backend library when it cannot be loaded. */
SMXRT_API smxrt_status_t smxrt_comm_open(smxrt_comm_backend_t backend,
                                         double timeout_seconds,
                                         smxrt_comm_t *out);

/* "single", "mpi" or "nccl". */
SMXRT_API const char *smxrt_comm_backend_name(smxrt_comm_t comm);
SMXRT_API int64_t smxrt_comm_rank(smxrt_comm_t comm);
SMXRT_API int64_t smxrt_comm_size(smxrt_comm_t comm);

/* data[i] = the sum of data[i] over every process, in place. The sum's
 * order is fixed by the backend (it does not depend on timing), so a run
 * repeats bit for bit. */
SMXRT_API smxrt_status_t smxrt_comm_all_reduce_sum_f32(smxrt_comm_t comm,
                                                       float *data,
                                                       int64_t count);

/* The same for 64-bit integers (token counts); exact in any order. */
SMXRT_API smxrt_status_t smxrt_comm_all_reduce_sum_i64(smxrt_comm_t comm,
                                                       int64_t *data,
                                                       int64_t count);

/* A started collective (smxrt_comm_all_reduce_sum_start). */
typedef struct smxrt_comm_request_storage_t *smxrt_comm_request_t;

/* Starts the sum over the processes of `comm` of `count` elements of `data`
 * (dtype SMXRT_DTYPE_F32 or SMXRT_DTYPE_I64), in place, and returns at
 * once: `data` must stay untouched until smxrt_comm_wait returns. Other
 * collectives may run meanwhile; every process starts them in the same
 * order. The request's collective advances when smxrt_comm_test or
 * smxrt_comm_wait is called on it (MPI progresses inside its calls). */
SMXRT_API smxrt_status_t smxrt_comm_all_reduce_sum_start(
    smxrt_comm_t comm, void *data, int64_t count, smxrt_dtype_t dtype,
    smxrt_comm_request_t *request);

/* Advances a started collective without blocking; `*done` is 1 when it
 * has finished (the request stays valid until smxrt_comm_wait). */
SMXRT_API smxrt_status_t smxrt_comm_test(smxrt_comm_request_t request,
                                         int *done);

/* Blocks until a started collective finishes (within the communicator's
 * deadline, as every collective), and frees the request; NULL is a no-op. */
SMXRT_API smxrt_status_t smxrt_comm_wait(smxrt_comm_request_t request);

/* Equal-split all-to-all: block r of `send` (bytes_per_rank bytes) goes
 * to process r, which receives it as block `rank` of its `recv`. */
SMXRT_API smxrt_status_t smxrt_comm_all_to_all(smxrt_comm_t comm,
                                               const void *send, void *recv,
                                               int64_t bytes_per_rank);

/* Every process's `bytes` bytes of `send` into every process's `recv`,
 * which holds one block per process in rank order. */
SMXRT_API smxrt_status_t smxrt_comm_all_gather(smxrt_comm_t comm,
                                               const void *send, void *recv,
                                               int64_t bytes);

/* `bytes` bytes of process `root`'s `data` into every process's `data`. */
SMXRT_API smxrt_status_t smxrt_comm_broadcast(smxrt_comm_t comm, void *data,
                                              int64_t bytes, int64_t root);

/* Checks that every process passes the same `value` for `what` (the
 * executable, the spec hash, the grid, the checkpoint): the same error on
 * every process otherwise, naming the first rank that differs from rank 0
 * and both values. */
SMXRT_API smxrt_status_t smxrt_comm_agree(smxrt_comm_t comm, const char *what,
                                          const char *value);

/* Splits `comm`: the processes that pass the same `color` (>= 0) form one
 * communicator, ranked by `key` (>= 0), with the same backend and timeout.
 * Every process of `comm` must call it. Close the result before `comm`;
 * closing it leaves the job running. */
SMXRT_API smxrt_status_t smxrt_comm_split(smxrt_comm_t comm, int64_t color,
                                          int64_t key, smxrt_comm_t *out);

/* Ends every process of the job with `exit_code` (after an error; the
 * caller prints its message first). Does not return. */
SMXRT_API void smxrt_comm_abort(smxrt_comm_t comm, int exit_code);

/* Closes the communicator after the last collective; NULL is a no-op. */
SMXRT_API void smxrt_comm_close(smxrt_comm_t comm);

SMXRT_EXTERN_C_END

#endif /* SMX_RUNTIME_COMM_H */
