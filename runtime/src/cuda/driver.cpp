//===- driver.cpp - the CUDA driver API, loaded at run time ---------------===//

#include "driver.h"

#include "status_internal.h"

#include <dlfcn.h>

namespace smxrt::cuda {

smxrt_status_t loadDriver(DriverApi &api) {
  void *library = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library)
    return makeStatusf(SMXRT_STATUS_UNAVAILABLE,
                       "cannot load the CUDA driver: %s", ::dlerror());
  // cuGetProcAddress's CUDA 12 signature, under its versioned symbol.
  using GetProcAddress = CUresult (*)(const char *, void **, int, cuuint64_t,
                                      CUdriverProcAddressQueryResult *);
  auto getProcAddress = reinterpret_cast<GetProcAddress>(
      ::dlsym(library, "cuGetProcAddress_v2"));
  if (!getProcAddress)
    return makeStatus(SMXRT_STATUS_UNAVAILABLE,
                      "the CUDA driver is older than CUDA 12 (it has no "
                      "cuGetProcAddress_v2); update the NVIDIA driver");
  auto resolve = [&](const char *name, void **function) -> smxrt_status_t {
    CUdriverProcAddressQueryResult found;
    CUresult result = getProcAddress(name, function, CUDA_VERSION,
                                     CU_GET_PROC_ADDRESS_DEFAULT, &found);
    if (result != CUDA_SUCCESS || found != CU_GET_PROC_ADDRESS_SUCCESS ||
        !*function)
      return makeStatusf(SMXRT_STATUS_UNAVAILABLE,
                         "the CUDA driver has no %s for CUDA %d.%d; update "
                         "the NVIDIA driver",
                         name, CUDA_VERSION / 1000, CUDA_VERSION % 1000 / 10);
    return nullptr;
  };
#define SMXRT_CUDA_RESOLVE(name)                                               \
  SMXRT_RETURN_IF_ERROR(                                                       \
      resolve(#name, reinterpret_cast<void **>(&api.name##_)));
  SMXRT_CUDA_DRIVER_FUNCTIONS(SMXRT_CUDA_RESOLVE)
#undef SMXRT_CUDA_RESOLVE
  return nullptr;
}

std::string describeResult(const DriverApi &api, CUresult result) {
  const char *name = nullptr, *text = nullptr;
  if (api.cuGetErrorName_)
    api.cuGetErrorName_(result, &name);
  if (api.cuGetErrorString_)
    api.cuGetErrorString_(result, &text);
  std::string description =
      name ? name : "CUDA error " + std::to_string(static_cast<int>(result));
  if (text)
    description += std::string(" (") + text + ")";
  return description;
}

} // namespace smxrt::cuda
