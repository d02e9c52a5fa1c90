//===- device.cpp - opening the GPU, managed memory -----------------------===//

#include "device.h"

#include "smx_runtime/cuda.h"

#include "memory.h"
#include "status_internal.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

namespace smxrt::cuda {

namespace {

std::mutex openMutex;
Device *openDevice = nullptr;

/// Device memory that managed allocations leave free, and what they may
/// hold in all: the device's free memory when it was opened, less that.
/// Managed memory beyond the GPU's free memory is oversubscribed, and its
/// pages thrash between host and device (it can hang the GPU), so the
/// provider refuses such an allocation instead: the caller then reports
/// running out of memory.
constexpr size_t kManagedReserveBytes = size_t(512) << 20;
size_t managedBudget = 0;
std::atomic<size_t> managedBytes{0};

void *allocateManaged(size_t bytes) {
  if (managedBytes.fetch_add(bytes) + bytes > managedBudget) {
    managedBytes.fetch_sub(bytes);
    return nullptr;
  }
  CUdeviceptr pointer = 0;
  if (openDevice->api.cuMemAllocManaged_(
          &pointer, bytes, CU_MEM_ATTACH_GLOBAL) != CUDA_SUCCESS) {
    managedBytes.fetch_sub(bytes);
    return nullptr;
  }
  return reinterpret_cast<void *>(pointer);
}

void releaseManaged(void *block, size_t bytes) {
  managedBytes.fetch_sub(bytes);
  checkResult(openDevice->api.cuMemFree_(reinterpret_cast<CUdeviceptr>(block)),
              "cuMemFree");
}

constexpr MemoryProvider kManagedProvider{"cuda managed", allocateManaged,
                                          releaseManaged};

smxrt_status_t noDevice(const std::string &why) {
  return makeStatusf(SMXRT_STATUS_UNAVAILABLE, "no CUDA device: %s",
                     why.c_str());
}

/// Opens the device: everything smxrt_cuda_open promises but the memory.
smxrt_status_t open(Device &device, int32_t localRank) {
  if (smxrt_status_t status = loadDriver(device.api)) {
    std::string why = smxrt_status_message(status);
    smxrt_status_free(status);
    return noDevice(why);
  }
  DriverApi &api = device.api;
  auto driverCall = [&](CUresult result, const char *what) -> smxrt_status_t {
    if (result == CUDA_SUCCESS)
      return nullptr;
    return noDevice(std::string(what) + ": " + describeResult(api, result));
  };
  SMXRT_RETURN_IF_ERROR(driverCall(api.cuInit_(0), "cuInit"));
  int count = 0;
  SMXRT_RETURN_IF_ERROR(
      driverCall(api.cuDeviceGetCount_(&count), "cuDeviceGetCount"));
  if (count == 0)
    return noDevice("the driver sees no GPU");
  int ordinal = (localRank < 0 ? 0 : localRank) % count;
  SMXRT_RETURN_IF_ERROR(
      driverCall(api.cuDeviceGet_(&device.device, ordinal), "cuDeviceGet"));
  char name[256] = {};
  SMXRT_RETURN_IF_ERROR(
      driverCall(api.cuDeviceGetName_(name, sizeof(name) - 1, device.device),
                 "cuDeviceGetName"));
  device.name = name;
  int major = 0, minor = 0, managed = 0;
  SMXRT_RETURN_IF_ERROR(driverCall(
      api.cuDeviceGetAttribute_(
          &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device.device),
      "cuDeviceGetAttribute"));
  SMXRT_RETURN_IF_ERROR(driverCall(
      api.cuDeviceGetAttribute_(
          &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device.device),
      "cuDeviceGetAttribute"));
  SMXRT_RETURN_IF_ERROR(driverCall(
      api.cuDeviceGetAttribute_(&managed, CU_DEVICE_ATTRIBUTE_MANAGED_MEMORY,
                                device.device),
      "cuDeviceGetAttribute"));
  device.arch = "sm_" + std::to_string(major) + std::to_string(minor);
  if (!managed)
    return noDevice(device.name + " cannot allocate managed memory");
  SMXRT_RETURN_IF_ERROR(
      driverCall(api.cuDevicePrimaryCtxRetain_(&device.context, device.device),
                 "cuDevicePrimaryCtxRetain"));
  SMXRT_RETURN_IF_ERROR(
      driverCall(api.cuCtxSetCurrent_(device.context), "cuCtxSetCurrent"));
  SMXRT_RETURN_IF_ERROR(
      driverCall(api.cuStreamCreate_(&device.stream, CU_STREAM_NON_BLOCKING),
                 "cuStreamCreate"));
  size_t freeBytes = 0, totalBytes = 0;
  SMXRT_RETURN_IF_ERROR(
      driverCall(api.cuMemGetInfo_(&freeBytes, &totalBytes), "cuMemGetInfo"));
  managedBudget =
      freeBytes > kManagedReserveBytes ? freeBytes - kManagedReserveBytes : 0;
  return nullptr;
}

} // namespace

Device &requireDevice(const char *caller) {
  if (!openDevice)
    failFatally(std::string(caller) +
                " ran before the application opened the GPU "
                "(smxrt_cuda_open)");
  return *openDevice;
}

void failFatally(const std::string &message) {
  std::fflush(stdout);
  std::fprintf(stderr, "error: CUDA: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

void checkResult(CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return;
  failFatally(
      std::string(what) + ": " +
      describeResult(openDevice ? openDevice->api : DriverApi(), result));
}

} // namespace smxrt::cuda

using namespace smxrt;
using namespace smxrt::cuda;

extern "C" int32_t smxrt_cuda_available(void) { return 1; }

extern "C" smxrt_status_t smxrt_cuda_open(int32_t local_rank) {
  return catchExceptions([&]() -> smxrt_status_t {
    std::lock_guard<std::mutex> lock(openMutex);
    if (openDevice)
      return nullptr;
    auto device = std::make_unique<Device>();
    SMXRT_RETURN_IF_ERROR(open(*device, local_rank));
    // Installed after its driver: the provider calls through openDevice.
    openDevice = device.release();
    if (!setMemoryProvider(kManagedProvider))
      return makeStatus(SMXRT_STATUS_INTERNAL,
                        "the GPU was opened after the runtime allocated "
                        "buffers in host memory (smxrt_cuda_open must come "
                        "first)");
    return nullptr;
  });
}

extern "C" const char *smxrt_cuda_device_name(void) {
  return openDevice ? openDevice->name.c_str() : "";
}

extern "C" const char *smxrt_cuda_device_arch(void) {
  return openDevice ? openDevice->arch.c_str() : "";
}

extern "C" void smxrt_cuda_synchronize(void) {
  Device &device = requireDevice("smxrt_cuda_synchronize");
  checkResult(device.api.cuStreamSynchronize_(device.stream),
              "cuStreamSynchronize");
}
