// RUN: smx-opt %s --smx-strip-training-noise | FileCheck %s
// RUN: smx-opt %s --canonicalize | FileCheck %s --check-prefix=CANON

// Every smx.dropout goes, whatever its rate: uses see its input.
// CHECK-LABEL: func @dropout
// CHECK-SAME: (%[[X:.*]]: tensor<8x16x64xf32>, %{{.*}}: i64)
// CHECK-NOT: smx.dropout
// CHECK: %[[Y:.*]] = smx.activation <gelu> %[[X]]
// CHECK-NOT: smx.dropout
// CHECK: return %[[Y]], %[[X]]
// A rate of 0 folds away; a positive rate stays.
// CANON-LABEL: func @dropout
// CANON-SAME: (%[[X:.*]]: tensor<8x16x64xf32>, %[[STEP:.*]]: i64)
// CANON: %[[D:.*]] = smx.dropout %[[X]], %[[STEP]] rate = 1.000000e-01 seed = 7
// CANON-NOT: smx.dropout
// CANON: %[[Y:.*]] = smx.activation <gelu> %[[D]]
// CANON-NOT: smx.dropout
// CANON: return %[[Y]], %[[X]]
func.func @dropout(%x: tensor<8x16x64xf32>, %step: i64) -> (tensor<8x16x64xf32>, tensor<8x16x64xf32>) {
  %0 = smx.dropout %x, %step rate = 0.1 seed = 7 : tensor<8x16x64xf32>
  %1 = smx.activation <gelu> %0 : tensor<8x16x64xf32>
  %2 = smx.dropout %1, %step rate = 0.0 seed = 8 : tensor<8x16x64xf32>
  %3 = smx.dropout %x, %step rate = 0.0 seed = 0 : tensor<8x16x64xf32>
  return %2, %3 : tensor<8x16x64xf32>, tensor<8x16x64xf32>
}

// CHECK-LABEL: func @attention_dropout
// CHECK: mix.self_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} heads = 4 : tensor<8x16x64xf32>, tensor<8x16xi1>
// CHECK: mix.self_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} heads = 4 : tensor<8x16x64xf32>, tensor<8x16xi1>
// CHECK: mix.self_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} heads = 4 dropout(0.000000e+00, seed = 9, step = %{{.*}}) : tensor<8x16x64xf32>, tensor<8x16xi1>
// CANON-LABEL: func @attention_dropout
// CANON: mix.self_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} heads = 4 dropout(1.000000e-01, seed = 3, step = %{{.*}})
func.func @attention_dropout(%x: tensor<8x16x64xf32>, %mask: tensor<8x16xi1>, %step: i64)
    -> (tensor<8x16x64xf32>, tensor<8x16x64xf32>, tensor<8x16x64xf32>) {
  // Dropout cleared: rate and seed 0, the step operand dropped.
  %0 = mix.self_attention %x, %x, %x, %mask heads = 4 dropout(0.1, seed = 3, step = %step) : tensor<8x16x64xf32>, tensor<8x16xi1>
  // No noise: untouched.
  %1 = mix.self_attention %x, %x, %x, %mask heads = 4 : tensor<8x16x64xf32>, tensor<8x16xi1>
  %2 = mix.self_attention %x, %x, %x, %mask heads = 4 dropout(0.0, seed = 9, step = %step) : tensor<8x16x64xf32>, tensor<8x16xi1>
  return %0, %1, %2 : tensor<8x16x64xf32>, tensor<8x16x64xf32>, tensor<8x16x64xf32>
}

// CHECK-LABEL: func @router_jitter
// CHECK-NOT: moe.jitter
// CHECK: moe.router %arg0, %{{.*}}, %{{.*}} : tensor<128x64xf32>, tensor<64x4xf32>, tensor<4xf32> -> tensor<128x4xf32>, tensor<128x4xf32>
func.func @router_jitter(%x: tensor<128x64xf32>, %w: tensor<64x4xf32>, %b: tensor<4xf32>, %step: i64)
    -> tensor<128x4xf32> {
  // The jitter goes: the router sees the input itself.
  %noisy = moe.jitter %x jitter(0.01, seed = 5, step = %step) : tensor<128x64xf32>
  %l0, %p0 = moe.router %noisy, %w, %b : tensor<128x64xf32>, tensor<64x4xf32>, tensor<4xf32> -> tensor<128x4xf32>, tensor<128x4xf32>
  return %p0 : tensor<128x4xf32>
}

// Ops without training noise are left alone.
// CHECK-LABEL: func @no_noise
// CHECK: smx.layer_norm
// CHECK: mix.fourier
// CHECK: moe.route
func.func @no_noise(%x: tensor<8x16x64xf32>, %s: tensor<64xf32>, %probs: tensor<128x4xf32>)
    -> (tensor<8x16x64xf32>, tensor<1x4x32xi32>) {
  %0 = smx.layer_norm %x, %s, %s epsilon = 1.0e-12 : tensor<8x16x64xf32>, tensor<64xf32>, tensor<64xf32>
  %1 = mix.fourier %0 : tensor<8x16x64xf32>
  %i, %w = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<128x4xf32> -> tensor<1x4x32xi32>, tensor<1x4x32xf32>
  return %1, %i : tensor<8x16x64xf32>, tensor<1x4x32xi32>
}
