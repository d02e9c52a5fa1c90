//===- launch.cpp - loading and launching the compiled kernels ------------===//
//
// The `mgpu*` functions of MLIR's GPU lowering (smx_runtime/cuda.h). The
// embedded fatbin registers from a global constructor, before the
// application could open the GPU, so loading waits for the first kernel
// lookup. Launches go to the model's stream; the lowering synchronizes
// after each, which is also where a kernel's failure is reported.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/cuda.h"

#include "device.h"

#include <mutex>
#include <string>
#include <unordered_map>

namespace {

using namespace smxrt::cuda;

/// A kernel image compiled code registered, loaded on first use.
struct KernelModule {
  const void *image = nullptr;
  size_t size = 0;
  CUmodule module = nullptr;
  std::unordered_map<std::string, CUfunction> functions;
};

std::mutex moduleMutex;

} // namespace

extern "C" void *mgpuModuleLoad(void *data, size_t size) {
  auto *module = new KernelModule;
  module->image = data;
  module->size = size;
  return module;
}

extern "C" void mgpuModuleUnload(void *module) {
  // At exit: the driver unloads the context's modules itself.
  delete static_cast<KernelModule *>(module);
}

extern "C" void *mgpuModuleGetFunction(void *handle, const char *name) {
  Device &device = requireDevice("a GPU kernel");
  auto *module = static_cast<KernelModule *>(handle);
  std::lock_guard<std::mutex> lock(moduleMutex);
  if (!module->module) {
    CUresult result = device.api.cuModuleLoadData_(&module->module,
                                                   module->image);
    if (result == CUDA_ERROR_NO_BINARY_FOR_GPU ||
        result == CUDA_ERROR_INVALID_PTX ||
        result == CUDA_ERROR_UNSUPPORTED_PTX_VERSION)
      failFatally("the model's kernels were not compiled for this " +
                  device.name + " (" + device.arch +
                  "): recompile it with smxc --target=cuda --gpu-arch=" +
                  device.arch + " (" + describeResult(device.api, result) +
                  ")");
    checkResult(result, "loading the model's kernels (cuModuleLoadData)");
  }
  auto [found, inserted] = module->functions.try_emplace(name, nullptr);
  if (inserted)
    checkResult(
        device.api.cuModuleGetFunction_(&found->second, module->module, name),
        "cuModuleGetFunction");
  return found->second;
}

extern "C" void mgpuLaunchKernel(void *function, intptr_t grid_x,
                                 intptr_t grid_y, intptr_t grid_z,
                                 intptr_t block_x, intptr_t block_y,
                                 intptr_t block_z,
                                 int32_t shared_memory_bytes, void *stream,
                                 void **params, void **extra, size_t) {
  Device &device = requireDevice("a GPU kernel");
  checkResult(device.api.cuLaunchKernel_(
                  static_cast<CUfunction>(function), grid_x, grid_y, grid_z,
                  block_x, block_y, block_z, shared_memory_bytes,
                  static_cast<CUstream>(stream), params, extra),
              "cuLaunchKernel");
}

extern "C" void *mgpuStreamCreate(void) {
  return requireDevice("a GPU kernel").stream;
}

extern "C" void mgpuStreamDestroy(void *) {}

extern "C" void mgpuStreamSynchronize(void *stream) {
  Device &device = requireDevice("a GPU kernel");
  checkResult(device.api.cuStreamSynchronize_(static_cast<CUstream>(stream)),
              "a GPU kernel failed (cuStreamSynchronize)");
}
