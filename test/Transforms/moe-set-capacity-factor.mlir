// RUN: smx-opt %s --moe-set-capacity-factor=capacity-factor=2.0 | FileCheck %s
// RUN: smx-opt %s --moe-set-capacity-factor=capacity-factor=0.5 | FileCheck %s --check-prefix=HALF

// The route and the [G, E, C] types downstream of it follow the new
// capacity; the combined [T, d] result and the expert load do not change.
// CHECK-LABEL: func @expert_layer
// CHECK: %[[INDICES:.*]], %[[WEIGHTS:.*]] = moe.route %{{.*}} policy = #moe.experts_choose capacity_factor = 2.000000e+00 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x512xi32>, tensor<2x16x512xf32>
// CHECK: %[[SLOTS:.*]] = moe.dispatch %{{.*}}[%[[INDICES]]] : tensor<8192x512xf32>, tensor<2x16x512xi32> -> tensor<2x16x512x512xf32>
// CHECK: %[[OUT:.*]] = moe.expert_ffn %[[SLOTS]], {{.*}} : tensor<2x16x512x512xf32>, tensor<16x512x2048xf32>, tensor<16x2048xf32>, tensor<16x2048x512xf32>, tensor<16x512xf32>
// CHECK: %[[Y:.*]] = moe.combine %[[OUT]][%[[INDICES]]], %[[WEIGHTS]] : tensor<2x16x512x512xf32>, tensor<2x16x512xi32>, tensor<2x16x512xf32> -> tensor<8192x512xf32>
// CHECK: %[[SUM:.*]] = smx.residual_add %[[Y]], %{{.*}} : tensor<8192x512xf32>
// CHECK: %[[LOAD:.*]], %[[DROPPED:.*]] = moe.expert_load %[[INDICES]] for %{{.*}} : tensor<2x16x512xi32>, tensor<8192x16xf32>
// CHECK: return %[[SUM]], %[[LOAD]], %[[DROPPED]] : tensor<8192x512xf32>, tensor<16xi64>, tensor<f32>
// HALF-LABEL: func @expert_layer
// HALF: moe.route %{{.*}} capacity_factor = 5.000000e-01 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x128xi32>, tensor<2x16x128xf32>
// HALF: moe.dispatch {{.*}} -> tensor<2x16x128x512xf32>
// HALF: moe.expert_ffn {{.*}} : tensor<2x16x128x512xf32>,
// HALF: moe.combine {{.*}} : tensor<2x16x128x512xf32>, tensor<2x16x128xi32>, tensor<2x16x128xf32> -> tensor<8192x512xf32>
// HALF: moe.expert_load {{.*}} : tensor<2x16x128xi32>, tensor<8192x16xf32>
func.func @expert_layer(%x: tensor<8192x512xf32>, %probs: tensor<8192x16xf32>,
                        %w1: tensor<16x512x2048xf32>, %b1: tensor<16x2048xf32>,
                        %w2: tensor<16x2048x512xf32>, %b2: tensor<16x512xf32>)
    -> (tensor<8192x512xf32>, tensor<16xi64>, tensor<f32>) {
  %indices, %weights = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x256xi32>, tensor<2x16x256xf32>
  %slots = moe.dispatch %x[%indices] : tensor<8192x512xf32>, tensor<2x16x256xi32> -> tensor<2x16x256x512xf32>
  %out = moe.expert_ffn %slots, %w1, %b1, %w2, %b2 activation = <gelu_tanh> : tensor<2x16x256x512xf32>, tensor<16x512x2048xf32>, tensor<16x2048xf32>, tensor<16x2048x512xf32>, tensor<16x512xf32>
  %y = moe.combine %out[%indices], %weights : tensor<2x16x256x512xf32>, tensor<2x16x256xi32>, tensor<2x16x256xf32> -> tensor<8192x512xf32>
  %sum = smx.residual_add %y, %x : tensor<8192x512xf32>
  %load, %dropped = moe.expert_load %indices for %probs : tensor<2x16x256xi32>, tensor<8192x16xf32>
  return %sum, %load, %dropped : tensor<8192x512xf32>, tensor<16xi64>, tensor<f32>
}

// Every route in the IR is reset, whatever its policy and previous factor.
// CHECK-LABEL: func @every_route
// CHECK: moe.route %{{.*}} policy = #moe.tokens_choose<k = 2> capacity_factor = 2.000000e+00 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x512xi32>, tensor<2x16x512xf32>
// CHECK: moe.route %{{.*}} token_ids %{{.*}} policy = #moe.hash capacity_factor = 2.000000e+00 group_size = 1024 : tensor<8192x16xf32>, tensor<8192xi32> -> tensor<8x16x128xi32>, tensor<8x16x128xf32>
// A dynamic token count keeps G and C dynamic: only the factor changes.
// CHECK: moe.route %{{.*}} policy = #moe.experts_choose capacity_factor = 2.000000e+00 group_size = 4096 : tensor<?x16xf32> -> tensor<?x16x?xi32>, tensor<?x16x?xf32>
// HALF-LABEL: func @every_route
// HALF: capacity_factor = 5.000000e-01 {{.*}} -> tensor<2x16x128xi32>, tensor<2x16x128xf32>
// HALF: capacity_factor = 5.000000e-01 {{.*}} -> tensor<8x16x32xi32>, tensor<8x16x32xf32>
// HALF: capacity_factor = 5.000000e-01 {{.*}} -> tensor<?x16x?xi32>, tensor<?x16x?xf32>
func.func @every_route(%probs: tensor<8192x16xf32>, %ids: tensor<8192xi32>, %dynamic_probs: tensor<?x16xf32>) {
  %i0, %w0 = moe.route %probs policy = #moe.tokens_choose<k = 2> capacity_factor = 1.25 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x320xi32>, tensor<2x16x320xf32>
  %i1, %w1 = moe.route %probs token_ids %ids policy = #moe.hash capacity_factor = 1.0 group_size = 1024 : tensor<8192x16xf32>, tensor<8192xi32> -> tensor<8x16x64xi32>, tensor<8x16x64xf32>
  %i2, %w2 = moe.route %dynamic_probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<?x16xf32> -> tensor<?x16x?xi32>, tensor<?x16x?xf32>
  return
}

// An uncalled function that returns routing results has its result types
// retyped with them.
// CHECK-LABEL: func @returns_routing(
// CHECK-SAME: -> (tensor<2x16x512xi32>, tensor<2x16x512xf32>)
// CHECK: return %{{.*}}, %{{.*}} : tensor<2x16x512xi32>, tensor<2x16x512xf32>
func.func @returns_routing(%probs: tensor<8192x16xf32>) -> (tensor<2x16x256xi32>, tensor<2x16x256xf32>) {
  %indices, %weights = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x256xi32>, tensor<2x16x256xf32>
  return %indices, %weights : tensor<2x16x256xi32>, tensor<2x16x256xf32>
}
