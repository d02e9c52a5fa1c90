/*===- smx_runtime/grid.h - The device grid of a partitioned model -*- C -*-===*
 *
 * A model compiled for a grid (`smxc --grid dp=D,ep=E`) runs on D·E
 * processes arranged row-major in a D × E grid, as the `shard.grid` of its
 * IR: the process of linear index r sits at (r / E, r % E). Its collectives
 * run over some of the axes: the gradients of dense parameters over both,
 * those of experts over dp, the expert exchange over ep. A grid holds one
 * communicator for each set of axes, split once from the job's.
 *
 * The application creates the grid after checking that every process
 * agrees on it, and installs it for the compiled code
 * (smxrt_grid_install); the compiled code's collectives (memref_abi.h)
 * then run on it.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_GRID_H
#define SMX_RUNTIME_GRID_H

#include "smx_runtime/api.h"
#include "smx_runtime/comm.h"
#include "smx_runtime/status.h"

#include <stdint.h>

SMXRT_EXTERN_C_BEGIN

/* The most axes a grid has. */
#define SMXRT_GRID_MAX_AXES 4

typedef struct smxrt_grid_storage_t *smxrt_grid_t;

/* Arranges the processes of `job` in a grid of `rank` axes of sizes `shape`
 * (each >= 1). Their product must be the job's size: otherwise one error
 * naming both. Every process of the job calls it. */
SMXRT_API smxrt_status_t smxrt_grid_create(smxrt_comm_t job,
                                           const int64_t *shape, int64_t rank,
                                           smxrt_grid_t *out);

SMXRT_API int64_t smxrt_grid_rank(smxrt_grid_t grid);
SMXRT_API int64_t smxrt_grid_axis_size(smxrt_grid_t grid, int64_t axis);
/* This process's index along `axis`. */
SMXRT_API int64_t smxrt_grid_axis_index(smxrt_grid_t grid, int64_t axis);
/* The communicator over the axes in `axes_mask` (bit a for axis a) among
 * the processes that share this one's indices on the other axes; owned by
 * the grid. Mask 0 is this process alone. */
SMXRT_API smxrt_comm_t smxrt_grid_comm(smxrt_grid_t grid, int64_t axes_mask);
/* The job's communicator the grid was made from. */
SMXRT_API smxrt_comm_t smxrt_grid_job(smxrt_grid_t grid);

/* Makes `grid` the one the compiled model's collectives run on (NULL: none,
 * one process). The caller keeps it alive while the model runs. */
SMXRT_API void smxrt_grid_install(smxrt_grid_t grid);
SMXRT_API smxrt_grid_t smxrt_grid_installed(void);

/* What the compiled code's collectives of one kind did on a grid since it
 * was created: calls, the bytes this process contributed (an all-reduce's
 * buffer, an all-to-all's send buffer) and the seconds it spent in them
 * (waiting for its peers included). */
typedef struct smxrt_grid_collective_stats_t {
  int64_t calls;
  int64_t bytes;
  double seconds;
} smxrt_grid_collective_stats_t;

/* The statistics of `grid`'s all-reduces and all-to-alls (either output may
 * be NULL); zeros for a NULL grid. */
SMXRT_API void smxrt_grid_stats(smxrt_grid_t grid,
                                smxrt_grid_collective_stats_t *all_reduce,
                                smxrt_grid_collective_stats_t *all_to_all);

/* Frees the grid's communicators (not the job's); NULL is a no-op. */
SMXRT_API void smxrt_grid_destroy(smxrt_grid_t grid);

SMXRT_EXTERN_C_END

#endif /* SMX_RUNTIME_GRID_H */
