//===- unavailable.cpp - the CUDA layer of a runtime built without it -----===//
//
// Built instead of the CUDA layer where the toolkit's headers were not
// found: CUDA models cannot be compiled there (smxc needs ptxas), and a
// program that asks for the GPU gets one clear error.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/cuda.h"

#include "status_internal.h"

extern "C" int32_t smxrt_cuda_available(void) { return 0; }

extern "C" smxrt_status_t smxrt_cuda_open(int32_t) {
  return smxrt::makeStatus(SMXRT_STATUS_UNAVAILABLE,
                           "no CUDA device: this smx runtime was built "
                           "without the CUDA toolkit");
}

extern "C" const char *smxrt_cuda_device_name(void) { return ""; }

extern "C" const char *smxrt_cuda_device_arch(void) { return ""; }

extern "C" smxrt_cuda_gemm_stats_t smxrt_cuda_gemm_stats(void) {
  return smxrt_cuda_gemm_stats_t{0, 0.0, 0.0};
}
