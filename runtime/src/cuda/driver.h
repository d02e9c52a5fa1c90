//===- driver.h - the CUDA driver API, loaded at run time -------*- C++ -*-===//
//
// The runtime does not link libcuda: a machine without the driver must
// still run every CPU model, and a CUDA model there must say "no CUDA
// device" instead of failing to start. The driver is opened with dlopen and
// each function resolved through cuGetProcAddress, for the CUDA version
// these headers declare, as the CUDA runtime itself does.
//
//===----------------------------------------------------------------------===//

#ifndef SMXRT_CUDA_DRIVER_H
#define SMXRT_CUDA_DRIVER_H

#include <cuda.h>

#include <string>

#include "smx_runtime/status.h"

namespace smxrt::cuda {

// The driver functions the runtime calls. X(name): `name` as cuda.h spells
// it (its macros may map it to a versioned symbol, which cuGetProcAddress
// resolves from the plain name).
#define SMXRT_CUDA_DRIVER_FUNCTIONS(X)                                         \
  X(cuInit)                                                                    \
  X(cuDriverGetVersion)                                                        \
  X(cuDeviceGetCount)                                                          \
  X(cuDeviceGet)                                                               \
  X(cuDeviceGetName)                                                           \
  X(cuDeviceGetAttribute)                                                      \
  X(cuDevicePrimaryCtxRetain)                                                  \
  X(cuCtxSetCurrent)                                                           \
  X(cuStreamCreate)                                                            \
  X(cuStreamSynchronize)                                                       \
  X(cuModuleLoadData)                                                          \
  X(cuModuleGetFunction)                                                       \
  X(cuLaunchKernel)                                                            \
  X(cuMemAlloc)                                                                \
  X(cuMemAllocManaged)                                                         \
  X(cuMemFree)                                                                 \
  X(cuMemGetInfo)                                                              \
  X(cuGetErrorName)                                                            \
  X(cuGetErrorString)

struct DriverApi {
#define SMXRT_CUDA_DECLARE(name) decltype(&::name) name##_ = nullptr;
  SMXRT_CUDA_DRIVER_FUNCTIONS(SMXRT_CUDA_DECLARE)
#undef SMXRT_CUDA_DECLARE
};

/// Loads the driver and resolves every function; the error says why not
/// ("cannot load libcuda.so.1: ...").
smxrt_status_t loadDriver(DriverApi &api);

/// "CUDA_ERROR_X (what the driver says)" for `result`.
std::string describeResult(const DriverApi &api, CUresult result);

} // namespace smxrt::cuda

#endif // SMXRT_CUDA_DRIVER_H
