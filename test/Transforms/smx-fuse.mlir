// RUN: smx-opt %s --smx-fuse | FileCheck %s

// CHECK-LABEL: func @ffn
// CHECK: %[[INNER:.*]] = smx.dense %arg0, %arg1, %arg2 activation = <gelu_tanh>
// CHECK-NOT: smx.activation
// CHECK: %[[OUTER:.*]] = smx.dense %[[INNER]], %arg3, %arg4 :
// CHECK: smx.layer_norm %[[OUTER]] + %arg0, %arg5, %arg6 epsilon
// CHECK-NOT: smx.residual_add
func.func @ffn(%x: tensor<4x8x16xf32>, %w1: tensor<16x32xf32>, %b1: tensor<32xf32>,
               %w2: tensor<32x16xf32>, %b2: tensor<16xf32>, %s: tensor<16xf32>, %b: tensor<16xf32>)
    -> tensor<4x8x16xf32> {
  %h = smx.dense %x, %w1, %b1 : tensor<4x8x16xf32>, tensor<16x32xf32>, tensor<32xf32> -> tensor<4x8x32xf32>
  %a = smx.activation <gelu_tanh> %h : tensor<4x8x32xf32>
  %o = smx.dense %a, %w2, %b2 : tensor<4x8x32xf32>, tensor<32x16xf32>, tensor<16xf32> -> tensor<4x8x16xf32>
  %sum = smx.residual_add %o, %x : tensor<4x8x16xf32>
  %y = smx.layer_norm %sum, %s, %b epsilon = 1.0e-12 : tensor<4x8x16xf32>, tensor<16xf32>, tensor<16xf32>
  return %y : tensor<4x8x16xf32>
}

// Intermediates with another use stay: fusing would compute them twice.
// CHECK-LABEL: func @shared
// CHECK: %[[DENSE:.*]] = smx.dense %arg0, %arg1 :
// CHECK: smx.activation <relu> %[[DENSE]]
// CHECK: %[[SUM:.*]] = smx.residual_add
// CHECK: smx.layer_norm %[[SUM]], %arg2, %arg2
func.func @shared(%x: tensor<4x16xf32>, %w: tensor<16x16xf32>, %s: tensor<16xf32>)
    -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %d = smx.dense %x, %w : tensor<4x16xf32>, tensor<16x16xf32> -> tensor<4x16xf32>
  %a = smx.activation <relu> %d : tensor<4x16xf32>
  %sum = smx.residual_add %a, %d : tensor<4x16xf32>
  %y = smx.layer_norm %sum, %s, %s epsilon = 1.0e-12 : tensor<4x16xf32>, tensor<16xf32>, tensor<16xf32>
  return %y, %sum, %a : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}
