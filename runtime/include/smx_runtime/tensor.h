/*===- smx_runtime/tensor.h - Element types and host tensors ----*- C -*-===*
 *
 * A host tensor owns one 64-byte aligned buffer holding a dense, row-major,
 * little-endian array. Shapes are int64; every size is computed with overflow
 * checks, so a shape too large to address is an error, never undefined
 * behaviour.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_TENSOR_H
#define SMX_RUNTIME_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "smx_runtime/api.h"
#include "smx_runtime/status.h"

SMXRT_EXTERN_C_BEGIN

#define SMXRT_MAX_RANK 8
#define SMXRT_TENSOR_ALIGNMENT 64

/* The values are part of the ABI: never renumber, only append. */
typedef enum smxrt_dtype_e {
  SMXRT_DTYPE_INVALID = 0,
  SMXRT_DTYPE_F32 = 1,
  SMXRT_DTYPE_BF16 = 2,
  SMXRT_DTYPE_F16 = 3,
  SMXRT_DTYPE_I32 = 4,
  SMXRT_DTYPE_I64 = 5,
  SMXRT_DTYPE_F64 = 6,
  SMXRT_DTYPE_I8 = 7,
  SMXRT_DTYPE_U8 = 8,
  SMXRT_DTYPE_BOOL = 9,
} smxrt_dtype_t;

/* Bytes per element; 0 for an invalid dtype. */
SMXRT_API size_t smxrt_dtype_size(smxrt_dtype_t dtype);

/* The safetensors spelling ("F32", "BF16", ...); "INVALID" for a bad value. */
SMXRT_API const char *smxrt_dtype_name(smxrt_dtype_t dtype);

/* Parses a safetensors spelling (case-sensitive); SMXRT_DTYPE_INVALID if the
 * name is unknown or NULL. */
SMXRT_API smxrt_dtype_t smxrt_dtype_from_name(const char *name);

/* Computes the element count and byte size of a dense array of `dtype` with
 * `rank` dimensions `shape` (NULL allowed when rank is 0). Fails with
 * INVALID_ARGUMENT for a bad dtype or a negative dimension and with
 * RESOURCE_EXHAUSTED when a size does not fit in int64 (also when a zero
 * dimension makes the product 0: such shapes are nonsense either way). Either
 * output may be NULL. Any rank is accepted here. */
SMXRT_API smxrt_status_t smxrt_shape_byte_size(smxrt_dtype_t dtype, size_t rank,
                                               const int64_t *shape,
                                               int64_t *out_element_count,
                                               size_t *out_byte_size);

typedef struct smxrt_tensor_t smxrt_tensor_t;

/* Allocates a zero-filled tensor. rank <= SMXRT_MAX_RANK; rank 0 is a scalar
 * with one element; a zero dimension gives an empty tensor whose data pointer
 * is still valid (and aligned). */
SMXRT_API smxrt_status_t smxrt_tensor_create(smxrt_dtype_t dtype, size_t rank,
                                             const int64_t *shape,
                                             smxrt_tensor_t **out_tensor);

/* Releases a tensor and its buffer; NULL is a no-op. */
SMXRT_API void smxrt_tensor_free(smxrt_tensor_t *tensor);

SMXRT_API smxrt_dtype_t smxrt_tensor_dtype(const smxrt_tensor_t *tensor);
SMXRT_API size_t smxrt_tensor_rank(const smxrt_tensor_t *tensor);
/* `rank` dimensions, valid for the tensor's lifetime. */
SMXRT_API const int64_t *smxrt_tensor_shape(const smxrt_tensor_t *tensor);
SMXRT_API int64_t smxrt_tensor_element_count(const smxrt_tensor_t *tensor);
SMXRT_API size_t smxrt_tensor_byte_size(const smxrt_tensor_t *tensor);
/* SMXRT_TENSOR_ALIGNMENT-aligned, never NULL for a live tensor. */
SMXRT_API void *smxrt_tensor_data(smxrt_tensor_t *tensor);
SMXRT_API const void *smxrt_tensor_const_data(const smxrt_tensor_t *tensor);

SMXRT_EXTERN_C_END

#endif /* SMX_RUNTIME_TENSOR_H */
