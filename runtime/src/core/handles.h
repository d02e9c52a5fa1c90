//===- handles.h - Owning pointers to the runtime's C handles ---*- C++ -*-===//
//
// The C++ side of the runtime uses its own C API (tensors, safetensors
// files) where that API already does the job; these pointers free the
// handles on every path, errors included.
//
//===----------------------------------------------------------------------===//

#ifndef SMX_RUNTIME_CORE_HANDLES_H
#define SMX_RUNTIME_CORE_HANDLES_H

#include "smx_runtime/safetensors.h"
#include "smx_runtime/status.h"
#include "smx_runtime/tensor.h"

#include <memory>
#include <string>
#include <vector>

namespace smxrt {

struct TensorDeleter {
  void operator()(smxrt_tensor_t *tensor) const { smxrt_tensor_free(tensor); }
};
using TensorPtr = std::unique_ptr<smxrt_tensor_t, TensorDeleter>;

struct SafetensorsFileDeleter {
  void operator()(smxrt_safetensors_t *file) const {
    smxrt_safetensors_close(file);
  }
};
using SafetensorsFilePtr =
    std::unique_ptr<smxrt_safetensors_t, SafetensorsFileDeleter>;

struct SafetensorsWriterDeleter {
  void operator()(smxrt_safetensors_writer_t *writer) const {
    smxrt_safetensors_writer_free(writer);
  }
};
using SafetensorsWriterPtr =
    std::unique_ptr<smxrt_safetensors_writer_t, SafetensorsWriterDeleter>;

struct StatusDeleter {
  void operator()(smxrt_status_storage_t *status) const {
    smxrt_status_free(status);
  }
};
using StatusPtr = std::unique_ptr<smxrt_status_storage_t, StatusDeleter>;

/// smxrt_tensor_create into an owning pointer.
inline smxrt_status_t createTensor(smxrt_dtype_t dtype,
                                   const std::vector<int64_t> &shape,
                                   TensorPtr &tensor) {
  smxrt_tensor_t *created = nullptr;
  smxrt_status_t status =
      smxrt_tensor_create(dtype, shape.size(), shape.data(), &created);
  tensor.reset(created);
  return status;
}

/// smxrt_safetensors_open into an owning pointer.
inline smxrt_status_t openSafetensors(const std::string &path,
                                      SafetensorsFilePtr &file) {
  smxrt_safetensors_t *opened = nullptr;
  smxrt_status_t status = smxrt_safetensors_open(path.c_str(), &opened);
  file.reset(opened);
  return status;
}

} // namespace smxrt

#endif // SMX_RUNTIME_CORE_HANDLES_H
