//===- TensorSizes.h - Tensors a machine can allocate -----------*- C++ -*-===//

#ifndef SMX_FRONTEND_SPEC_LIB_TENSORSIZES_H
#define SMX_FRONTEND_SPEC_LIB_TENSORSIZES_H

#include "smx/Frontend/Spec/ModelSpec.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::smx::spec {

/// The most bytes one tensor of a compiled model may take (1 TiB): more
/// than any one machine or accelerator can allocate.
inline constexpr int64_t kMaxTensorBytes = int64_t(1) << 40;
/// The largest dimension the BLAS kernels take (their index type is int).
inline constexpr int64_t kMaxTensorDimension = 2147483647;

/// Checks that every tensor of `module` (arguments and op results) has
/// dimensions and a byte size within the limits above. The first that does
/// not is reported as a spec error at the size setting of `spec` that its
/// largest dimension comes from (else at `specLocation`), naming the tensor
/// and its byte size.
LogicalResult checkTensorSizes(ModuleOp module, const ModelSpec &spec,
                               Location specLocation);

} // namespace mlir::smx::spec

#endif // SMX_FRONTEND_SPEC_LIB_TENSORSIZES_H
