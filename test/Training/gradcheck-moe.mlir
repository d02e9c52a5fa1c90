// The gradient rules of the moe ops against central finite differences
// (see gradcheck.mlir). Routing decisions are piecewise constant: each
// function routes on probabilities computed from a fixed, well-separated
// input, so the perturbations never flip a decision, while the gradients
// through the gate probabilities, the experts and the auxiliary losses
// are checked.
// RUN: smx-gradcheck %s --seed 3 | FileCheck %s
// CHECK-NOT: FAIL

// The router as a dense layer plus softmax, and its z-loss.
// CHECK: @router argument 0 tensor<8x6xf32>: {{.*}}: ok
// CHECK: @router argument 1 tensor<6x4xf32>: {{.*}}: ok
// CHECK: @router argument 2 tensor<4xf32>: {{.*}}: ok
func.func @router(%x: tensor<8x6xf32>, %w: tensor<6x4xf32>, %b: tensor<4xf32>) -> (tensor<8x4xf32>, tensor<8x4xf32>, tensor<f32>) {
  %logits, %probs = moe.router %x, %w, %b : tensor<8x6xf32>, tensor<6x4xf32>, tensor<4xf32> -> tensor<8x4xf32>, tensor<8x4xf32>
  %z = moe.router_z_loss %logits : tensor<8x4xf32>
  return %logits, %probs, %z : tensor<8x4xf32>, tensor<8x4xf32>, tensor<f32>
}

// Dispatch, experts and combine; the gates come from `%gate_logits` through
// a softmax, the slots from fixed scores.
// CHECK: @experts argument 0 tensor<8x6xf32>: {{.*}}: ok
// CHECK: @experts argument 1 tensor<8x4xf32>: {{.*}}: ok
// CHECK: @experts argument 2 tensor<4x6x5xf32>: {{.*}}: ok
// CHECK: @experts argument 3 tensor<4x5xf32>: {{.*}}: ok
// CHECK: @experts argument 4 tensor<4x5x6xf32>: {{.*}}: ok
// CHECK: @experts argument 5 tensor<4x6xf32>: {{.*}}: ok
func.func @experts(%x: tensor<8x6xf32>, %gate_logits: tensor<8x4xf32>,
                   %w1: tensor<4x6x5xf32>, %b1: tensor<4x5xf32>, %w2: tensor<4x5x6xf32>, %b2: tensor<4x6xf32>) -> tensor<8x6xf32> {
  // Fixed scores decide the slots: expert e prefers tokens in a fixed order.
  %scores = arith.constant dense<[[0.9, 0.1, 0.3, 0.2], [0.1, 0.8, 0.2, 0.4], [0.7, 0.3, 0.6, 0.1],
                                  [0.2, 0.6, 0.1, 0.9], [0.5, 0.2, 0.8, 0.3], [0.3, 0.9, 0.4, 0.6],
                                  [0.6, 0.4, 0.9, 0.8], [0.4, 0.5, 0.5, 0.7]]> : tensor<8x4xf32>
  %indices, %unused = moe.route %scores policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  %gates = smx.softmax %gate_logits dimension = 1 : tensor<8x4xf32>
  // The gates reach the combine weights the way moe.route copies them.
  %weights_route_unused, %gate_weights = moe.route %gates policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  %slots = moe.dispatch %x[%indices] : tensor<8x6xf32>, tensor<1x4x4xi32> -> tensor<1x4x4x6xf32>
  %out = moe.expert_ffn %slots, %w1, %b1, %w2, %b2 activation = <gelu_tanh> : tensor<1x4x4x6xf32>, tensor<4x6x5xf32>, tensor<4x5xf32>, tensor<4x5x6xf32>, tensor<4x6xf32>
  %y = moe.combine %out[%indices], %gate_weights : tensor<1x4x4x6xf32>, tensor<1x4x4xi32>, tensor<1x4x4xf32> -> tensor<8x6xf32>
  return %y : tensor<8x6xf32>
}

// Gates through moe.route itself: probabilities far apart keep the
// decisions fixed under the perturbation.
// CHECK: @route_gates argument 0 tensor<8x4xf32>: {{.*}}: ok
func.func @route_gates(%noise: tensor<8x4xf32>) -> tensor<1x4x4xf32> {
  %base = arith.constant dense<[[9.0, 1.0, 3.0, 2.0], [1.0, 8.0, 2.0, 4.0], [7.0, 3.0, 6.0, 1.0],
                                [2.0, 6.0, 1.0, 9.0], [5.0, 2.0, 8.0, 3.0], [3.0, 9.0, 4.0, 6.0],
                                [6.0, 4.0, 9.0, 8.0], [4.0, 5.0, 5.5, 7.0]]> : tensor<8x4xf32>
  %tenth = arith.constant dense<0.1> : tensor<8x4xf32>
  %small = arith.mulf %noise, %tenth : tensor<8x4xf32>
  %probs = arith.addf %base, %small : tensor<8x4xf32>
  %indices, %weights = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return %weights : tensor<1x4x4xf32>
}

// The load-balance loss: its gradient flows through the mean
// probabilities; the top-k fractions come from fixed scores.
// CHECK: @load_balance argument 0 tensor<8x4xf32>: {{.*}}: ok
func.func @load_balance(%logits: tensor<8x4xf32>) -> tensor<f32> {
  %probs = smx.softmax %logits dimension = 1 : tensor<8x4xf32>
  %loss = moe.load_balance_loss %probs top_k = 2 groups = 2 : tensor<8x4xf32>
  return %loss : tensor<f32>
}

// Expert dropout: the gradient redraws the forward mask on the activations.
// CHECK: @expert_dropout argument 0 tensor<1x4x4x6xf32>: {{.*}}: ok
// CHECK: @expert_dropout argument 1 tensor<4x6x5xf32>: {{.*}}: ok
// CHECK: @expert_dropout argument 3 tensor<4x5x6xf32>: {{.*}}: ok
func.func @expert_dropout(%x: tensor<1x4x4x6xf32>, %w1: tensor<4x6x5xf32>, %b1: tensor<4x5xf32>, %w2: tensor<4x5x6xf32>, %b2: tensor<4x6xf32>) -> tensor<1x4x4x6xf32> {
  %step = arith.constant 5 : i64
  %out = moe.expert_ffn %x, %w1, %b1, %w2, %b2 activation = <gelu_tanh> dropout(0.3, seed = 7, step = %step) : tensor<1x4x4x6xf32>, tensor<4x6x5xf32>, tensor<4x5xf32>, tensor<4x5x6xf32>, tensor<4x6xf32>
  return %out : tensor<1x4x4x6xf32>
}

// Router jitter: the input times the same counter-based noise in the
// gradient as in the forward pass.
// CHECK: @router_jitter argument 0 tensor<8x6xf32>: {{.*}}: ok
// CHECK: @router_jitter argument 1 tensor<6x4xf32>: {{.*}}: ok
// CHECK: @router_jitter argument 2 tensor<4xf32>: {{.*}}: ok
func.func @router_jitter(%x: tensor<8x6xf32>, %w: tensor<6x4xf32>, %b: tensor<4xf32>) -> tensor<8x4xf32> {
  %step = arith.constant 11 : i64
  %noisy = moe.jitter %x jitter(0.2, seed = 3, step = %step) : tensor<8x6xf32>
  %logits, %probs = moe.router %noisy, %w, %b : tensor<8x6xf32>, tensor<6x4xf32>, tensor<4xf32> -> tensor<8x4xf32>, tensor<8x4xf32>
  return %probs : tensor<8x4xf32>
}
