//===- device.h - the GPU a process runs on ---------------------*- C++ -*-===//

#ifndef SMXRT_CUDA_DEVICE_H
#define SMXRT_CUDA_DEVICE_H

#include "driver.h"

#include <string>

namespace smxrt::cuda {

/// The device smxrt_cuda_open opened: the driver, the primary context and
/// the one stream every kernel and GEMM of the model runs on.
struct Device {
  DriverApi api;
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  std::string name, arch;
};

/// The open device; if none is open, prints that compiled CUDA code ran
/// without smxrt_cuda_open (`caller` names the entry) and ends the process.
Device &requireDevice(const char *caller);

/// Ends the process after printing "error: CUDA: <what>: <result>" when
/// `result` is not CUDA_SUCCESS. Compiled code has no status to return.
void checkResult(CUresult result, const char *what);

/// Prints "error: CUDA: <message>" and ends the process.
[[noreturn]] void failFatally(const std::string &message);

} // namespace smxrt::cuda

#endif // SMXRT_CUDA_DEVICE_H
