// RUN: smx-opt %s --split-input-file --convert-smx-to-linalg | FileCheck %s

// With smx.precision = "bf16" on the module, a GEMM calls the runtime's
// bf16 GEMM, which rounds its operands to bfloat16 (nearest, ties to even)
// and sums their products in f32 (memref_abi.h): the operands go as they
// are, with the f32 GEMM's arguments.
// CHECK-LABEL: func.func @dense
// CHECK-SAME:  (%[[X:.*]]: tensor<4x8xf32>, %[[W:.*]]: tensor<8x2xf32>)
// CHECK-NOT:   linalg.generic
// CHECK:       bufferization.to_buffer %[[X]] read_only
// CHECK:       bufferization.to_buffer %[[W]] read_only
// CHECK:       call @smxrt_cpu_sgemm_bf16_memref
module attributes {smx.precision = "bf16"} {
  func.func @dense(%x: tensor<4x8xf32>, %w: tensor<8x2xf32>) -> tensor<4x2xf32> {
    %y = smx.dense %x, %w : tensor<4x8xf32>, tensor<8x2xf32> -> tensor<4x2xf32>
    return %y : tensor<4x2xf32>
  }
}

// -----

// For a GPU (smx.gpu_arch), the f32 GEMM's call: smx-use-cuda-runtime
// points it at cuBLASLt, whose bf16 compute rounds the operands.
// CHECK-LABEL: func.func @dense_gpu
// CHECK:       call @smxrt_cpu_sgemm_memref
module attributes {smx.precision = "bf16", smx.gpu_arch = "sm_90"} {
  func.func @dense_gpu(%x: tensor<4x8xf32>, %w: tensor<8x2xf32>) -> tensor<4x2xf32> {
    %y = smx.dense %x, %w : tensor<4x8xf32>, tensor<8x2xf32> -> tensor<4x2xf32>
    return %y : tensor<4x2xf32>
  }
}
