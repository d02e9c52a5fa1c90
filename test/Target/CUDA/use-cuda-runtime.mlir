// RUN: smx-opt %s --smx-use-cuda-runtime | FileCheck %s

// The GEMM goes to cuBLASLt with the same arguments; the router stays on
// the CPU runtime (the host runs it over managed memory).
// CHECK-NOT: @smxrt_cpu_sgemm_memref
// CHECK: func.func private @smxrt_cuda_sgemm_memref(memref<*xf32>)
// CHECK: func.func private @smxrt_cpu_route_memref(memref<*xf32>)
// CHECK-LABEL: func.func @forward
// CHECK-NEXT: call @smxrt_cuda_sgemm_memref(%{{.*}}) : (memref<*xf32>) -> ()
// CHECK-NEXT: call @smxrt_cuda_sgemm_memref(%{{.*}}) : (memref<*xf32>) -> ()
// CHECK-NEXT: call @smxrt_cpu_route_memref(%{{.*}}) : (memref<*xf32>) -> ()
func.func private @smxrt_cpu_sgemm_memref(memref<*xf32>)
func.func private @smxrt_cpu_route_memref(memref<*xf32>)
func.func @forward(%a: memref<*xf32>) {
  call @smxrt_cpu_sgemm_memref(%a) : (memref<*xf32>) -> ()
  call @smxrt_cpu_sgemm_memref(%a) : (memref<*xf32>) -> ()
  call @smxrt_cpu_route_memref(%a) : (memref<*xf32>) -> ()
  return
}
