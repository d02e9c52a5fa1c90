/*===- smx_runtime/safetensors.h - safetensors files ------------*- C -*-===*
 *
 * Reads and writes the safetensors format used by PyTorch, JAX and the
 * Hugging Face tools: an 8-byte little-endian header length N, N bytes of
 * JSON header, then the data blob.
 *
 *   {"__metadata__": {"key": "value"},
 *    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}}
 *
 * Offsets are relative to the start of the blob. Opening a file validates the
 * whole header (types, dtypes, sizes, offsets against the file size,
 * overlaps), so a later read can only fail on an I/O error. Every error
 * message starts with the file's path. Functions that return no status
 * require valid handles.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_SAFETENSORS_H
#define SMX_RUNTIME_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "smx_runtime/api.h"
#include "smx_runtime/status.h"
#include "smx_runtime/tensor.h"

SMXRT_EXTERN_C_BEGIN

/* Headers larger than this are rejected as corrupt (as the Python library
 * does). */
#define SMXRT_SAFETENSORS_MAX_HEADER_SIZE 100000000

/*===--- Reading ---------------------------------------------------------===*/

typedef struct smxrt_safetensors_t smxrt_safetensors_t;

/* Opens `path` and validates its header. Fails with NOT_FOUND for a missing
 * file, IO_ERROR for an unreadable one, DATA_LOSS for a corrupt or truncated
 * one and UNIMPLEMENTED for a dtype this runtime does not know. The file
 * stays open until smxrt_safetensors_close. */
SMXRT_API smxrt_status_t smxrt_safetensors_open(const char *path,
                                                smxrt_safetensors_t **out_file);

/* Closes the file; NULL is a no-op. */
SMXRT_API void smxrt_safetensors_close(smxrt_safetensors_t *file);

SMXRT_API const char *smxrt_safetensors_path(const smxrt_safetensors_t *file);

/* Tensors are indexed in name order (byte-wise comparison). */
SMXRT_API size_t
smxrt_safetensors_tensor_count(const smxrt_safetensors_t *file);
/* NULL when index >= count. Valid until the file is closed. */
SMXRT_API const char *
smxrt_safetensors_tensor_name(const smxrt_safetensors_t *file, size_t index);

/* Looks up a tensor's dtype and shape; NOT_FOUND if there is no such tensor.
 * *out_shape (may be NULL for rank 0) stays valid until the file is closed.
 * Any output may be NULL. */
SMXRT_API smxrt_status_t smxrt_safetensors_tensor_info(
    const smxrt_safetensors_t *file, const char *name, smxrt_dtype_t *out_dtype,
    size_t *out_rank, const int64_t **out_shape);

/* Reads a tensor into a new host tensor. Ranks above SMXRT_MAX_RANK fail
 * with UNIMPLEMENTED. */
SMXRT_API smxrt_status_t
smxrt_safetensors_read_tensor(const smxrt_safetensors_t *file, const char *name,
                              smxrt_tensor_t **out_tensor);

/* Reads a tensor into an existing one; fails with INVALID_ARGUMENT unless
 * dtype and shape match exactly. */
SMXRT_API smxrt_status_t smxrt_safetensors_read_tensor_into(
    const smxrt_safetensors_t *file, const char *name, smxrt_tensor_t *tensor);

/* Reads a tensor's raw bytes into caller memory of exactly its byte size. */
SMXRT_API smxrt_status_t
smxrt_safetensors_read_data(const smxrt_safetensors_t *file, const char *name,
                            void *destination, size_t destination_size);

/* `__metadata__` entries, indexed in key order. Key and value strings are
 * valid until the file is closed; NULL when out of range or absent. */
SMXRT_API size_t
smxrt_safetensors_metadata_count(const smxrt_safetensors_t *file);
SMXRT_API const char *
smxrt_safetensors_metadata_key(const smxrt_safetensors_t *file, size_t index);
SMXRT_API const char *
smxrt_safetensors_metadata_value(const smxrt_safetensors_t *file,
                                 const char *key);

/*===--- Writing ---------------------------------------------------------===*/

/* Collects tensors and metadata, then writes them in one atomic step: the
 * file goes to "<path>.tmp.<pid>" in the same directory, is fsync'ed, renamed
 * over `path`, and the directory is fsync'ed. On failure the temporary file
 * is removed and an existing `path` is left untouched.
 *
 * In the blob, tensors are ordered by element size (largest first), then by
 * name, as the Python library does, so each tensor is aligned to its element
 * size; the header is padded with spaces to a multiple of 8 bytes. */
typedef struct smxrt_safetensors_writer_t smxrt_safetensors_writer_t;

SMXRT_API smxrt_status_t
smxrt_safetensors_writer_create(smxrt_safetensors_writer_t **out_writer);
/* NULL is a no-op. */
SMXRT_API void
smxrt_safetensors_writer_free(smxrt_safetensors_writer_t *writer);

/* Adds a tensor. The writer BORROWS the tensor: it must stay alive and
 * unchanged until the last write. Fails with INVALID_ARGUMENT for a null
 * argument, a duplicate name or the reserved name "__metadata__". */
SMXRT_API smxrt_status_t smxrt_safetensors_writer_add_tensor(
    smxrt_safetensors_writer_t *writer, const char *name,
    const smxrt_tensor_t *tensor);

/* Adds a tensor from caller memory (borrowed likewise) holding exactly
 * `byte_size` bytes of a dense `dtype` array of shape `shape`. */
SMXRT_API smxrt_status_t smxrt_safetensors_writer_add_data(
    smxrt_safetensors_writer_t *writer, const char *name, smxrt_dtype_t dtype,
    size_t rank, const int64_t *shape, const void *data, size_t byte_size);

/* Adds a `__metadata__` entry (copied). Fails on a duplicate key. */
SMXRT_API smxrt_status_t smxrt_safetensors_writer_add_metadata(
    smxrt_safetensors_writer_t *writer, const char *key, const char *value);

/* Writes everything added so far to `path`, atomically. */
SMXRT_API smxrt_status_t smxrt_safetensors_writer_write(
    const smxrt_safetensors_writer_t *writer, const char *path);

SMXRT_EXTERN_C_END

#endif /* SMX_RUNTIME_SAFETENSORS_H */
