// Self-attention's gradient rule against central finite differences (see
// gradcheck.mlir): two heads, a pad key, and attention dropout with its
// counter-based mask redrawn by the gradient.
// RUN: smx-gradcheck %s --seed 5 | FileCheck %s
// CHECK-NOT: FAIL

// CHECK: @attention argument 0 tensor<2x4x6xf32>: {{.*}}: ok
// CHECK: @attention argument 1 tensor<2x4x6xf32>: {{.*}}: ok
// CHECK: @attention argument 2 tensor<2x4x6xf32>: {{.*}}: ok
func.func @attention(%q: tensor<2x4x6xf32>, %k: tensor<2x4x6xf32>, %v: tensor<2x4x6xf32>) -> tensor<2x4x6xf32> {
  %mask = arith.constant dense<[[true, true, true, false], [true, true, true, true]]> : tensor<2x4xi1>
  %y = mix.self_attention %q, %k, %v, %mask heads = 2 : tensor<2x4x6xf32>, tensor<2x4xi1>
  return %y : tensor<2x4x6xf32>
}

// CHECK: @attention_dropout argument 0 tensor<2x4x6xf32>: {{.*}}: ok
// CHECK: @attention_dropout argument 1 tensor<2x4x6xf32>: {{.*}}: ok
// CHECK: @attention_dropout argument 2 tensor<2x4x6xf32>: {{.*}}: ok
func.func @attention_dropout(%q: tensor<2x4x6xf32>, %k: tensor<2x4x6xf32>, %v: tensor<2x4x6xf32>) -> tensor<2x4x6xf32> {
  %mask = arith.constant dense<true> : tensor<2x4xi1>
  %step = arith.constant 9 : i64
  %y = mix.self_attention %q, %k, %v, %mask heads = 3 dropout(0.3, seed = 4, step = %step) : tensor<2x4x6xf32>, tensor<2x4xi1>
  return %y : tensor<2x4x6xf32>
}
