// RUN: smx-opt %s --smx-profile-calls | FileCheck %s

// Each call and copy of an entry function is a profile site, numbered in
// order and bracketed by the runtime's hooks; the module lists what each
// site is: its model path, kind, callee, entry point, bytes and (for GEMMs)
// flops. Functions that are not entry points (the kernel) are not
// instrumented.
// CHECK: module attributes {smx.profile_sites = [
// CHECK-SAME: {at = "layers.0.ffn", bytes = 2048 : i64, callee = "smxrt_cpu_sgemm_memref", entry = "forward", flops = 4096 : i64, kind = "gemm"}
// CHECK-SAME: {at = "layers.0.ffn", bytes = 1024 : i64, callee = "forward_kernel", entry = "forward", flops = 0 : i64, kind = "elementwise"}
// CHECK-SAME: {at = "", bytes = 2048 : i64, callee = "copy", entry = "forward", flops = 0 : i64, kind = "copy"}]}
// CHECK-DAG: func.func private @smxrt_profile_begin(i64)
// CHECK-DAG: func.func private @smxrt_profile_end(i64)
// CHECK-LABEL: func.func @forward
// CHECK: call @smxrt_profile_begin(%[[S0:.*]])
// CHECK-NEXT: call @smxrt_cpu_sgemm_memref
// CHECK-NEXT: call @smxrt_profile_end(%[[S0]])
// CHECK: call @smxrt_profile_begin(%[[S1:.*]])
// CHECK-NEXT: call @forward_kernel
// CHECK-NEXT: call @smxrt_profile_end(%[[S1]])
// CHECK: call @smxrt_profile_begin(%[[S2:.*]])
// CHECK-NEXT: memref.copy
// CHECK-NEXT: call @smxrt_profile_end(%[[S2]])
// CHECK-LABEL: func.func private @forward_kernel
// CHECK-NOT: smxrt_profile
// CHECK: return
module {
  func.func private @smxrt_cpu_sgemm_memref(i64, i64, i64, i64, i64, i64, i64, i64, memref<*xf32>, memref<*xf32>, memref<*xf32>)
  func.func @forward(%a: memref<16x8xf32>, %b: memref<8x16xf32>, %out: memref<16x16xf32>)
      attributes {smx.entry_arguments = 2 : i64} {
    %c1 = arith.constant 1 : i64
    %c16 = arith.constant 16 : i64
    %c8 = arith.constant 8 : i64
    %c0 = arith.constant 0 : i64
    %t = memref.alloc() : memref<16x16xf32>
    %ua = memref.cast %a : memref<16x8xf32> to memref<*xf32>
    %ub = memref.cast %b : memref<8x16xf32> to memref<*xf32>
    %ut = memref.cast %t : memref<16x16xf32> to memref<*xf32>
    func.call @smxrt_cpu_sgemm_memref(%c1, %c1, %c16, %c16, %c8, %c0, %c0, %c0, %ua, %ub, %ut) : (i64, i64, i64, i64, i64, i64, i64, i64, memref<*xf32>, memref<*xf32>, memref<*xf32>) -> () loc("layers.0.ffn")
    func.call @forward_kernel(%t) : (memref<16x16xf32>) -> () loc("layers.0.ffn")
    memref.copy %t, %out : memref<16x16xf32> to memref<16x16xf32>
    return
  }
  func.func private @forward_kernel(%t: memref<16x16xf32>) {
    return
  }
}
