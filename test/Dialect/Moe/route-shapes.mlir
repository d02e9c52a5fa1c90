// The [G, E, C] result shapes of moe.route follow from T, E, group_size and
// capacity_factor (see the moe dialect description):
//   G = max(floor(T / group_size), 1), raised until it divides T;
//   C = min(max(round_half_even(capacity_factor * (T/G) / E), 4), T/G).
// The verifier accepts exactly the inferred shapes; invalid.mlir has the
// rejected ones.
// RUN: smx-opt %s | FileCheck %s

// SM-Base: 16 x 512 tokens, 16 experts, groups of 4096 tokens.
// CHECK-LABEL: func @capacity_factors
func.func @capacity_factors(%probs: tensor<8192x16xf32>) {
  // CHECK: capacity_factor = 1.000000e+00 {{.*}} -> tensor<2x16x256xi32>, tensor<2x16x256xf32>
  %i0, %w0 = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x256xi32>, tensor<2x16x256xf32>
  // CHECK: capacity_factor = 5.000000e-01 {{.*}} -> tensor<2x16x128xi32>, tensor<2x16x128xf32>
  %i1, %w1 = moe.route %probs policy = #moe.experts_choose capacity_factor = 0.5 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x128xi32>, tensor<2x16x128xf32>
  // CHECK: capacity_factor = 1.250000e+00 {{.*}} -> tensor<2x16x320xi32>, tensor<2x16x320xf32>
  %i2, %w2 = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.25 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x320xi32>, tensor<2x16x320xf32>
  // CHECK: capacity_factor = 2.000000e+00 {{.*}} -> tensor<2x16x512xi32>, tensor<2x16x512xf32>
  %i3, %w3 = moe.route %probs policy = #moe.experts_choose capacity_factor = 2.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x512xi32>, tensor<2x16x512xf32>
  return
}

// CHECK-LABEL: func @group_counts
func.func @group_counts(%p12288: tensor<12288x16xf32>, %p10000: tensor<10000x16xf32>,
                        %p12500: tensor<12500x16xf32>, %p100: tensor<100x4xf32>,
                        %p8: tensor<8x4xf32>) {
  // 12288 / 4096 = 3 groups of 4096 tokens.
  // CHECK: -> tensor<3x16x256xi32>, tensor<3x16x256xf32>
  %i0, %w0 = moe.route %p12288 policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<12288x16xf32> -> tensor<3x16x256xi32>, tensor<3x16x256xf32>
  // floor(10000 / 4096) = 2 divides 10000: 2 groups of 5000 tokens, and
  // 5000 / 16 = 312.5 rounds to the even 312.
  // CHECK: -> tensor<2x16x312xi32>, tensor<2x16x312xf32>
  %i1, %w1 = moe.route %p10000 policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<10000x16xf32> -> tensor<2x16x312xi32>, tensor<2x16x312xf32>
  // floor(12500 / 4096) = 3 does not divide 12500; 4 does: 4 groups of 3125
  // tokens, 3125 / 16 = 195.3125 -> 195.
  // CHECK: -> tensor<4x16x195xi32>, tensor<4x16x195xf32>
  %i2, %w2 = moe.route %p12500 policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<12500x16xf32> -> tensor<4x16x195xi32>, tensor<4x16x195xf32>
  // Fewer tokens than group_size: one group of all 100 tokens.
  // CHECK: -> tensor<1x4x25xi32>, tensor<1x4x25xf32>
  %i3, %w3 = moe.route %p100 policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<100x4xf32> -> tensor<1x4x25xi32>, tensor<1x4x25xf32>
  // group_size = 1: one group per token, and a group of one token has one
  // slot per expert.
  // CHECK: -> tensor<8x4x1xi32>, tensor<8x4x1xf32>
  %i4, %w4 = moe.route %p8 policy = #moe.experts_choose capacity_factor = 1.0 group_size = 1 : tensor<8x4xf32> -> tensor<8x4x1xi32>, tensor<8x4x1xf32>
  return
}

// CHECK-LABEL: func @small_groups
func.func @small_groups(%p16: tensor<16x4xf32>, %p8: tensor<8x4xf32>, %p2: tensor<2x4xf32>) {
  // 16 / 4 = 4 slots: the minimum capacity.
  // CHECK: -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  %i0, %w0 = moe.route %p16 policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  // 0.25 * 8 / 4 = 0.5 rounds to 0, raised to the minimum 4 (at most the 8
  // tokens of the group).
  // CHECK: -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  %i1, %w1 = moe.route %p8 policy = #moe.experts_choose capacity_factor = 0.25 group_size = 4096 : tensor<8x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  // The minimum 4 is capped at the 2 tokens of the group.
  // CHECK: -> tensor<1x4x2xi32>, tensor<1x4x2xf32>
  %i2, %w2 = moe.route %p2 policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<2x4xf32> -> tensor<1x4x2xi32>, tensor<1x4x2xf32>
  return
}

// CHECK-LABEL: func @round_half_even
func.func @round_half_even(%p40: tensor<40x16xf32>, %p72: tensor<72x16xf32>, %p88: tensor<88x16xf32>) {
  // 40 / 16 = 2.5 -> 2, raised to the minimum 4.
  // CHECK: -> tensor<1x16x4xi32>, tensor<1x16x4xf32>
  %i0, %w0 = moe.route %p40 policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<40x16xf32> -> tensor<1x16x4xi32>, tensor<1x16x4xf32>
  // 72 / 16 = 4.5 -> 4 (half to even, not 5).
  // CHECK: -> tensor<1x16x4xi32>, tensor<1x16x4xf32>
  %i1, %w1 = moe.route %p72 policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<72x16xf32> -> tensor<1x16x4xi32>, tensor<1x16x4xf32>
  // 88 / 16 = 5.5 -> 6.
  // CHECK: -> tensor<1x16x6xi32>, tensor<1x16x6xf32>
  %i2, %w2 = moe.route %p88 policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<88x16xf32> -> tensor<1x16x6xi32>, tensor<1x16x6xf32>
  return
}

// CHECK-LABEL: func @dynamic_sizes
func.func @dynamic_sizes(%tokens: tensor<?x16xf32>, %experts: tensor<8192x?xf32>) {
  // A dynamic token count leaves G and C dynamic.
  // CHECK: -> tensor<?x16x?xi32>, tensor<?x16x?xf32>
  %i0, %w0 = moe.route %tokens policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<?x16xf32> -> tensor<?x16x?xi32>, tensor<?x16x?xf32>
  // A dynamic expert count leaves C dynamic; G still follows from T.
  // CHECK: -> tensor<2x?x?xi32>, tensor<2x?x?xf32>
  %i1, %w1 = moe.route %experts policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8192x?xf32> -> tensor<2x?x?xi32>, tensor<2x?x?xf32>
  return
}
