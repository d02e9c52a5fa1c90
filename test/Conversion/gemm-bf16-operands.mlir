// RUN: smx-opt %s --convert-smx-to-linalg | FileCheck %s

// With smx.precision = "bf16" on the module, a GEMM reads its operands
// rounded to bfloat16 (nearest, ties to even, NaNs kept) and sums their
// products in f32: the runtime SGEMM gets the rounded copies.
// CHECK-LABEL: func.func @dense
// CHECK-SAME:  (%[[X:.*]]: tensor<4x8xf32>, %[[W:.*]]: tensor<8x2xf32>)
// CHECK:       %[[RX:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<4x8xf32>)
// CHECK:         %[[BITS:.*]] = arith.bitcast %{{.*}} : f32 to i32
// CHECK:         %[[LOW:.*]] = arith.shrui %[[BITS]], %{{.*}} : i32
// CHECK:         %[[KEPT:.*]] = arith.andi %[[LOW]], %{{.*}} : i32
// CHECK:         arith.constant 32767 : i32
// CHECK:         %[[BIAS:.*]] = arith.addi %{{.*}}, %[[KEPT]] : i32
// CHECK:         %[[ROUNDED:.*]] = arith.addi %[[BITS]], %[[BIAS]] : i32
// CHECK:         arith.constant -65536 : i32
// CHECK:         %[[TOP:.*]] = arith.andi %[[ROUNDED]], %{{.*}} : i32
// CHECK:         %[[VALUE:.*]] = arith.bitcast %[[TOP]] : i32 to f32
// CHECK:         %[[NAN:.*]] = arith.cmpf uno
// CHECK:         arith.select %[[NAN]], %{{.*}}, %[[VALUE]] : f32
// CHECK:       %[[RW:.*]] = linalg.generic {{.*}} ins(%[[W]] : tensor<8x2xf32>)
// CHECK:       bufferization.to_buffer %[[RX]] read_only
// CHECK:       bufferization.to_buffer %[[RW]] read_only
// CHECK:       call @smxrt_cpu_sgemm_memref
module attributes {smx.precision = "bf16"} {
  func.func @dense(%x: tensor<4x8xf32>, %w: tensor<8x2xf32>) -> tensor<4x2xf32> {
    %y = smx.dense %x, %w : tensor<4x8xf32>, tensor<8x2xf32> -> tensor<4x2xf32>
    return %y : tensor<4x2xf32>
  }
}
