// RUN: smx-opt %s --convert-moe-to-linalg | FileCheck %s

// Expert dropout of a device holding 2 of a layer's 4 experts: the counter
// of activation (g, e, c, f) in [2, 2, 3, 16] is its index in the
// unsharded [2, 4, 3, 16] activations, (g·4 + e)·3·16 + c·16 + f (strides
// 192, 48, 16, 1), plus the device's offset. The gradient redraws the same
// mask.
// CHECK-LABEL: func.func @device_experts
// CHECK-SAME:  %[[FIRST:[^:]*]]: i64)
// CHECK:       %[[BASE:.*]] = arith.index_cast %[[FIRST]] : i64 to index
// CHECK:       linalg.generic
// CHECK:         linalg.index 0 : index
// CHECK:         arith.constant 192 : index
// CHECK:         linalg.index 1 : index
// CHECK:         arith.constant 48 : index
// CHECK:         linalg.index 2 : index
// CHECK:         arith.constant 16 : index
// CHECK:         linalg.index 3 : index
// CHECK:         %[[LOCAL:.*]] = arith.addi
// CHECK:         arith.addi %[[LOCAL]], %[[BASE]] : index
// CHECK:         arith.cmpf oge
// CHECK:       return
func.func @device_experts(%x: tensor<2x2x3x8xf32>, %w1: tensor<2x8x16xf32>, %b1: tensor<2x16xf32>,
    %w2: tensor<2x16x8xf32>, %b2: tensor<2x8xf32>, %step: i64, %first: i64) -> tensor<2x2x3x8xf32> {
  %y = moe.expert_ffn %x, %w1, %b1, %w2, %b2 activation = <relu>
      dropout(0.5, seed = 3, step = %step, offset = %first) {counter_experts = 4 : i64}
      : tensor<2x2x3x8xf32>, tensor<2x8x16xf32>, tensor<2x16xf32>, tensor<2x16x8xf32>, tensor<2x8xf32>
  return %y : tensor<2x2x3x8xf32>
}

// CHECK-LABEL: func.func @device_experts_grad
// CHECK:         arith.constant 192 : index
// CHECK:         arith.constant 48 : index
// CHECK:         arith.cmpf oge
// CHECK:         arith.constant 192 : index
// CHECK:         arith.constant 48 : index
// CHECK:         arith.cmpf oge
func.func @device_experts_grad(%x: tensor<2x2x3x8xf32>, %w1: tensor<2x8x16xf32>, %b1: tensor<2x16xf32>,
    %w2: tensor<2x16x8xf32>, %b2: tensor<2x8xf32>, %dy: tensor<2x2x3x8xf32>, %step: i64, %first: i64)
    -> (tensor<2x2x3x8xf32>, tensor<2x8x16xf32>) {
  %dx, %dw1, %db1, %dw2, %db2 = moe.expert_ffn_grad %x, %w1, %b1, %w2, %b2, %dy activation = <relu>
      dropout(0.5, seed = 3, step = %step, offset = %first) {counter_experts = 4 : i64}
      : tensor<2x2x3x8xf32>, tensor<2x8x16xf32>, tensor<2x16xf32>, tensor<2x16x8xf32>, tensor<2x8xf32>
  return %dx, %dw1 : tensor<2x2x3x8xf32>, tensor<2x8x16xf32>
}
