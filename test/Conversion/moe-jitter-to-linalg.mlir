// RUN: smx-opt %s --convert-moe-to-linalg | FileCheck %s

// Router jitter: each element times 1 - 0.25 + 2·0.25·u, u the counter-based
// uniform number of smx.dropout (the top 24 bits of the mixed counter,
// scaled by 2^-24).
// CHECK-LABEL: func @jitter
// CHECK: linalg.generic
// CHECK: linalg.index 0
// CHECK: linalg.index 1
// CHECK: arith.shrui %{{.*}}, %c40_i64 : i64
// CHECK: %[[BITS:.*]] = arith.uitofp %{{.*}} : i64 to f32
// CHECK: %[[UNIFORM:.*]] = arith.mulf %[[BITS]], %{{.*}} : f32
// CHECK: %[[TWO_JITTER:.*]] = arith.constant 5.000000e-01 : f32
// CHECK: %[[SPREAD:.*]] = arith.mulf %[[UNIFORM]], %[[TWO_JITTER]] : f32
// CHECK: %[[ONE_MINUS:.*]] = arith.constant 7.500000e-01 : f32
// CHECK: %[[NOISE:.*]] = arith.addf %[[SPREAD]], %[[ONE_MINUS]] : f32
// CHECK: %[[Y:.*]] = arith.mulf %{{.*}}, %[[NOISE]] : f32
// CHECK: linalg.yield %[[Y]] : f32
func.func @jitter(%x: tensor<16x8xf32>, %step: i64) -> tensor<16x8xf32> {
  %y = moe.jitter %x jitter(0.25, seed = 3, step = %step) : tensor<16x8xf32>
  return %y : tensor<16x8xf32>
}
