// Round trip of every moe op and routing policy: custom form -> custom form,
// and generic form -> custom form, print the same.
// RUN: smx-opt %s | smx-opt | FileCheck %s
// RUN: smx-opt %s --mlir-print-op-generic | smx-opt | FileCheck %s

// CHECK-LABEL: func @router
func.func @router(%x: tensor<8192x512xbf16>, %w: tensor<512x16xbf16>, %b: tensor<16xbf16>, %step: i64,
                  %dx: tensor<?x512xf32>, %dw: tensor<512x16xf32>, %db: tensor<16xf32>)
    -> (tensor<8192x16xf32>, tensor<8192x16xf32>, tensor<?x16xf32>) {
  // CHECK: moe.router %{{.*}}, %{{.*}}, %{{.*}} : tensor<8192x512xbf16>, tensor<512x16xbf16>, tensor<16xbf16> -> tensor<8192x16xf32>, tensor<8192x16xf32>
  %logits, %probs = moe.router %x, %w, %b : tensor<8192x512xbf16>, tensor<512x16xbf16>, tensor<16xbf16> -> tensor<8192x16xf32>, tensor<8192x16xf32>
  // CHECK: moe.jitter %{{.*}} jitter(1.000000e-02, seed = 5, step = %{{.*}}) : tensor<?x512xf32>
  %noisy = moe.jitter %dx jitter(0.01, seed = 5, step = %step) : tensor<?x512xf32>
  // CHECK: moe.router %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x512xf32>, tensor<512x16xf32>, tensor<16xf32> -> tensor<?x16xf32>, tensor<?x16xf32>
  %jittered_logits, %jittered_probs = moe.router %noisy, %dw, %db : tensor<?x512xf32>, tensor<512x16xf32>, tensor<16xf32> -> tensor<?x16xf32>, tensor<?x16xf32>
  // CHECK: moe.router %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x512xf32>, tensor<512x16xf32>, tensor<16xf32> -> tensor<?x16xf32>, tensor<?x16xf32>
  %dynamic_logits, %dynamic_probs = moe.router %dx, %dw, %db : tensor<?x512xf32>, tensor<512x16xf32>, tensor<16xf32> -> tensor<?x16xf32>, tensor<?x16xf32>
  return %logits, %probs, %jittered_probs : tensor<8192x16xf32>, tensor<8192x16xf32>, tensor<?x16xf32>
}

// CHECK-LABEL: func @route_policies
func.func @route_policies(%probs: tensor<8192x16xf32>, %ids: tensor<8192xi32>, %ids64: tensor<8192xi64>) {
  // CHECK: moe.route %{{.*}} policy = #moe.experts_choose capacity_factor = 1.000000e+00 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x256xi32>, tensor<2x16x256xf32>
  %i0, %w0 = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x256xi32>, tensor<2x16x256xf32>
  // CHECK: moe.route %{{.*}} policy = #moe.tokens_choose<k = 2> capacity_factor = 1.250000e+00 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x320xi32>, tensor<2x16x320xf32>
  %i1, %w1 = moe.route %probs policy = #moe.tokens_choose<k = 2> capacity_factor = 1.25 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x320xi32>, tensor<2x16x320xf32>
  // CHECK: moe.route %{{.*}} policy = #moe.tokens_choose<k = 1, batch_prioritized> capacity_factor = 1.000000e+00 group_size = 8192 : tensor<8192x16xf32> -> tensor<1x16x512xi32>, tensor<1x16x512xf32>
  %i2, %w2 = moe.route %probs policy = #moe.tokens_choose<k = 1, batch_prioritized> capacity_factor = 1.0 group_size = 8192 : tensor<8192x16xf32> -> tensor<1x16x512xi32>, tensor<1x16x512xf32>
  // CHECK: moe.route %{{.*}} policy = #moe.capped_experts_choose<k = 2> capacity_factor = 2.000000e+00 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x512xi32>, tensor<2x16x512xf32>
  %i3, %w3 = moe.route %probs policy = #moe.capped_experts_choose<k = 2> capacity_factor = 2.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x512xi32>, tensor<2x16x512xf32>
  // `greedy` is the default method and is not printed; `lp` prints the
  // solver's parameters that are not the defaults (50 iterations, 0.03).
  // CHECK: moe.route %{{.*}} policy = #moe.capped_experts_choose<k = 2> capacity_factor
  %i6, %w6 = moe.route %probs policy = #moe.capped_experts_choose<k = 2, greedy> capacity_factor = 2.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x512xi32>, tensor<2x16x512xf32>
  // CHECK: moe.route %{{.*}} policy = #moe.capped_experts_choose<k = 2, lp> capacity_factor
  %i7, %w7 = moe.route %probs policy = #moe.capped_experts_choose<k = 2, lp, iterations = 50> capacity_factor = 2.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x512xi32>, tensor<2x16x512xf32>
  // CHECK: moe.route %{{.*}} policy = #moe.capped_experts_choose<k = 3, lp, iterations = 20, entropy = 5.000000e-02> capacity_factor
  %i8, %w8 = moe.route %probs policy = #moe.capped_experts_choose<k = 3, lp, iterations = 20, entropy = 0.05> capacity_factor = 2.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x512xi32>, tensor<2x16x512xf32>
  // CHECK: moe.route %{{.*}} policy = #moe.capped_experts_choose<k = 1, lp, entropy = 1.000000e-01> capacity_factor
  %i9, %w9 = moe.route %probs policy = #moe.capped_experts_choose<k = 1, lp, entropy = 0.1> capacity_factor = 2.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x512xi32>, tensor<2x16x512xf32>
  // CHECK: moe.route %{{.*}} token_ids %{{.*}} policy = #moe.hash capacity_factor = 1.000000e+00 group_size = 1024 : tensor<8192x16xf32>, tensor<8192xi32> -> tensor<8x16x64xi32>, tensor<8x16x64xf32>
  %i4, %w4 = moe.route %probs token_ids %ids policy = #moe.hash capacity_factor = 1.0 group_size = 1024 : tensor<8192x16xf32>, tensor<8192xi32> -> tensor<8x16x64xi32>, tensor<8x16x64xf32>
  // CHECK: moe.route %{{.*}} token_ids %{{.*}} policy = #moe.hash capacity_factor = 5.000000e-01 group_size = 4096 : tensor<8192x16xf32>, tensor<8192xi64> -> tensor<2x16x128xi32>, tensor<2x16x128xf32>
  %i5, %w5 = moe.route %probs token_ids %ids64 policy = #moe.hash capacity_factor = 0.5 group_size = 4096 : tensor<8192x16xf32>, tensor<8192xi64> -> tensor<2x16x128xi32>, tensor<2x16x128xf32>
  return
}

// CHECK-LABEL: func @route_dynamic
func.func @route_dynamic(%probs: tensor<?x16xf32>, %ids: tensor<?xi32>) {
  // CHECK: moe.route %{{.*}} policy = #moe.experts_choose capacity_factor = 1.000000e+00 group_size = 4096 : tensor<?x16xf32> -> tensor<?x16x?xi32>, tensor<?x16x?xf32>
  %i0, %w0 = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<?x16xf32> -> tensor<?x16x?xi32>, tensor<?x16x?xf32>
  // CHECK: moe.route %{{.*}} token_ids %{{.*}} policy = #moe.hash capacity_factor = 1.000000e+00 group_size = 4096 : tensor<?x16xf32>, tensor<?xi32> -> tensor<?x16x?xi32>, tensor<?x16x?xf32>
  %i1, %w1 = moe.route %probs token_ids %ids policy = #moe.hash capacity_factor = 1.0 group_size = 4096 : tensor<?x16xf32>, tensor<?xi32> -> tensor<?x16x?xi32>, tensor<?x16x?xf32>
  return
}

// CHECK-LABEL: func @expert_layer
func.func @expert_layer(%x: tensor<8192x512xf32>, %probs: tensor<8192x16xf32>,
                        %w1: tensor<16x512x2048xf32>, %b1: tensor<16x2048xf32>,
                        %w2: tensor<16x2048x512xf32>, %b2: tensor<16x512xf32>)
    -> (tensor<8192x512xf32>, tensor<16xi64>, tensor<f32>) {
  // CHECK: %[[INDICES:.*]], %[[WEIGHTS:.*]] = moe.route
  %indices, %weights = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x256xi32>, tensor<2x16x256xf32>
  // CHECK: %[[SLOTS:.*]] = moe.dispatch %{{.*}}[%[[INDICES]]] : tensor<8192x512xf32>, tensor<2x16x256xi32> -> tensor<2x16x256x512xf32>
  %slots = moe.dispatch %x[%indices] : tensor<8192x512xf32>, tensor<2x16x256xi32> -> tensor<2x16x256x512xf32>
  // CHECK: %[[OUT:.*]] = moe.expert_ffn %[[SLOTS]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} activation = <gelu_tanh> : tensor<2x16x256x512xf32>, tensor<16x512x2048xf32>, tensor<16x2048xf32>, tensor<16x2048x512xf32>, tensor<16x512xf32>
  %out = moe.expert_ffn %slots, %w1, %b1, %w2, %b2 activation = <gelu_tanh> : tensor<2x16x256x512xf32>, tensor<16x512x2048xf32>, tensor<16x2048xf32>, tensor<16x2048x512xf32>, tensor<16x512xf32>
  // CHECK: moe.combine %[[OUT]][%[[INDICES]]], %[[WEIGHTS]] : tensor<2x16x256x512xf32>, tensor<2x16x256xi32>, tensor<2x16x256xf32> -> tensor<8192x512xf32>
  %y = moe.combine %out[%indices], %weights : tensor<2x16x256x512xf32>, tensor<2x16x256xi32>, tensor<2x16x256xf32> -> tensor<8192x512xf32>
  // CHECK: moe.expert_load %[[INDICES]] for %{{.*}} : tensor<2x16x256xi32>, tensor<8192x16xf32>
  %load, %dropped = moe.expert_load %indices for %probs : tensor<2x16x256xi32>, tensor<8192x16xf32>
  return %y, %load, %dropped : tensor<8192x512xf32>, tensor<16xi64>, tensor<f32>
}

// CHECK-LABEL: func @expert_layer_dynamic
func.func @expert_layer_dynamic(%x: tensor<?x64xbf16>, %indices: tensor<?x4x?xi32>, %weights: tensor<?x4x?xf32>,
                                %probs: tensor<?x4xf32>,
                                %w1: tensor<4x64x?xbf16>, %b1: tensor<4x?xbf16>,
                                %w2: tensor<4x?x64xbf16>, %b2: tensor<4x64xbf16>)
    -> (tensor<?x64xbf16>, tensor<4xi64>, tensor<f32>) {
  // CHECK: moe.dispatch %{{.*}}[%{{.*}}] : tensor<?x64xbf16>, tensor<?x4x?xi32> -> tensor<?x4x?x64xbf16>
  %slots = moe.dispatch %x[%indices] : tensor<?x64xbf16>, tensor<?x4x?xi32> -> tensor<?x4x?x64xbf16>
  // CHECK: moe.expert_ffn %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} activation = <relu> : tensor<?x4x?x64xbf16>, tensor<4x64x?xbf16>, tensor<4x?xbf16>, tensor<4x?x64xbf16>, tensor<4x64xbf16>
  %out = moe.expert_ffn %slots, %w1, %b1, %w2, %b2 activation = <relu> : tensor<?x4x?x64xbf16>, tensor<4x64x?xbf16>, tensor<4x?xbf16>, tensor<4x?x64xbf16>, tensor<4x64xbf16>
  // CHECK: moe.combine %{{.*}}[%{{.*}}], %{{.*}} : tensor<?x4x?x64xbf16>, tensor<?x4x?xi32>, tensor<?x4x?xf32> -> tensor<?x64xbf16>
  %y = moe.combine %out[%indices], %weights : tensor<?x4x?x64xbf16>, tensor<?x4x?xi32>, tensor<?x4x?xf32> -> tensor<?x64xbf16>
  // CHECK: moe.expert_load %{{.*}} for %{{.*}} : tensor<?x4x?xi32>, tensor<?x4xf32>
  %load, %dropped = moe.expert_load %indices for %probs : tensor<?x4x?xi32>, tensor<?x4xf32>
  return %y, %load, %dropped : tensor<?x64xbf16>, tensor<4xi64>, tensor<f32>
}

// CHECK-LABEL: func @auxiliary_losses
func.func @auxiliary_losses(%logits: tensor<8192x16xf32>, %probs: tensor<8192x16xf32>,
                            %dynamic_probs: tensor<?x?xf32>) -> (tensor<f32>, tensor<f32>, tensor<f32>) {
  // CHECK: moe.load_balance_loss %{{.*}} top_k = 2 groups = 2 : tensor<8192x16xf32>
  %aux = moe.load_balance_loss %probs top_k = 2 groups = 2 : tensor<8192x16xf32>
  // CHECK: moe.load_balance_loss %{{.*}} top_k = 1 groups = 3 : tensor<?x?xf32>
  %dynamic_aux = moe.load_balance_loss %dynamic_probs top_k = 1 groups = 3 : tensor<?x?xf32>
  // CHECK: moe.router_z_loss %{{.*}} : tensor<8192x16xf32>
  %z = moe.router_z_loss %logits : tensor<8192x16xf32>
  return %aux, %dynamic_aux, %z : tensor<f32>, tensor<f32>, tensor<f32>
}

// CHECK: shard.grid @grid(shape = 2x4)
shard.grid @grid(shape = 2x4)

// CHECK-LABEL: func @all_to_all
func.func @all_to_all(%slots: tensor<2x16x256x512xf32>, %dynamic: tensor<?x16x?x512xbf16>)
    -> (tensor<2x16x256x512xf32>, tensor<?x16x?x512xbf16>) {
  // CHECK: moe.all_to_all %{{.*}} on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x16x256x512xf32> -> tensor<8x4x256x512xf32>
  %r = moe.all_to_all %slots on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x16x256x512xf32> -> tensor<8x4x256x512xf32>
  // CHECK: moe.all_to_all %{{.*}} on @grid grid_axes = [1] split_axis = 0 concat_axis = 1 : tensor<8x4x256x512xf32> -> tensor<2x16x256x512xf32>
  %back = moe.all_to_all %r on @grid grid_axes = [1] split_axis = 0 concat_axis = 1 : tensor<8x4x256x512xf32> -> tensor<2x16x256x512xf32>
  // CHECK: moe.all_to_all %{{.*}} on @grid grid_axes = [0, 1] split_axis = 1 concat_axis = 2 : tensor<?x16x?x512xbf16> -> tensor<?x2x?x512xbf16>
  %d = moe.all_to_all %dynamic on @grid grid_axes = [0, 1] split_axis = 1 concat_axis = 2 : tensor<?x16x?x512xbf16> -> tensor<?x2x?x512xbf16>
  // CHECK: moe.all_to_all %{{.*}} on @grid grid_axes = [0] split_axis = 1 concat_axis = 1 : tensor<?x2x?x512xbf16> -> tensor<?x2x?x512xbf16>
  %same = moe.all_to_all %d on @grid grid_axes = [0] split_axis = 1 concat_axis = 1 : tensor<?x2x?x512xbf16> -> tensor<?x2x?x512xbf16>
  %d_back = moe.all_to_all %same on @grid grid_axes = [0, 1] split_axis = 2 concat_axis = 1 : tensor<?x2x?x512xbf16> -> tensor<?x16x?x512xbf16>
  return %back, %d_back : tensor<2x16x256x512xf32>, tensor<?x16x?x512xbf16>
}
