// Every verifier message of the moe dialect and its routing policies.
// RUN: smx-opt %s -split-input-file -verify-diagnostics

func.func @tokens_choose_k(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{#moe.tokens_choose: k must be at least 1, got 0}}
  %i, %w = moe.route %probs policy = #moe.tokens_choose<k = 0> capacity_factor = 1.0 group_size = 16 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @capped_experts_choose_k(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{#moe.capped_experts_choose: k must be at least 1, got -1}}
  %i, %w = moe.route %probs policy = #moe.capped_experts_choose<k = -1> capacity_factor = 1.0 group_size = 16 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @capped_experts_choose_iterations(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{#moe.capped_experts_choose: iterations must be at least 1, got 0}}
  %i, %w = moe.route %probs policy = #moe.capped_experts_choose<k = 1, lp, iterations = 0> capacity_factor = 1.0 group_size = 16 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @capped_experts_choose_entropy(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{#moe.capped_experts_choose: entropy must be a positive number, got -1}}
  %i, %w = moe.route %probs policy = #moe.capped_experts_choose<k = 1, lp, entropy = -1.0> capacity_factor = 1.0 group_size = 16 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @capped_experts_choose_method(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{expected 'greedy' or 'lp', got 'sinkhorn'}}
  %i, %w = moe.route %probs policy = #moe.capped_experts_choose<k = 1, sinkhorn> capacity_factor = 1.0 group_size = 16 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @capped_experts_choose_greedy_parameters(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{expected '>'}}
  %i, %w = moe.route %probs policy = #moe.capped_experts_choose<k = 1, greedy, iterations = 3> capacity_factor = 1.0 group_size = 16 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @tokens_choose_syntax(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{expected 'batch_prioritized'}}
  %i, %w = moe.route %probs policy = #moe.tokens_choose<k = 2, prioritized> capacity_factor = 1.0 group_size = 16 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @router_rank(%x: tensor<8x16x64xf32>, %w: tensor<64x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'moe.router' op (C1): expected an input of rank 2 [T, d] and a weight of rank 2 [d, E], got 'tensor<8x16x64xf32>' and 'tensor<64x4xf32>'}}
  %logits, %probs = moe.router %x, %w, %b : tensor<8x16x64xf32>, tensor<64x4xf32>, tensor<4xf32> -> tensor<128x4xf32>, tensor<128x4xf32>
  return
}

// -----

func.func @router_width(%x: tensor<128x64xf32>, %w: tensor<32x4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{'moe.router' op (C2): input width (64) does not match weight rows (32)}}
  %logits, %probs = moe.router %x, %w, %b : tensor<128x64xf32>, tensor<32x4xf32>, tensor<4xf32> -> tensor<128x4xf32>, tensor<128x4xf32>
  return
}

// -----

func.func @router_bias_shape(%x: tensor<128x64xf32>, %w: tensor<64x4xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{'moe.router' op (C3): expected bias of shape [4], got 'tensor<8xf32>'}}
  %logits, %probs = moe.router %x, %w, %b : tensor<128x64xf32>, tensor<64x4xf32>, tensor<8xf32> -> tensor<128x4xf32>, tensor<128x4xf32>
  return
}

// -----

func.func @jitter_range(%x: tensor<128x64xf32>, %step: i64) {
  // expected-error @+1 {{'moe.jitter' op (C1): jitter must be in [0, 1), got 1.5}}
  %y = moe.jitter %x jitter(1.5, seed = 5, step = %step) : tensor<128x64xf32>
  return
}

// -----

func.func @jitter_zero(%x: tensor<128x64xf32>, %step: i64) {
  // expected-error @+1 {{'moe.jitter' op (C1): jitter must be in (0, 1), got 0}}
  %y = moe.jitter %x jitter(0.0, seed = 5, step = %step) : tensor<128x64xf32>
  return
}

// -----

func.func @jitter_needs_step(%x: tensor<128x64xf32>) {
  // expected-error @+1 {{'moe.jitter' op (C1): jitter 1.000000e-02 needs a step operand to key its random stream}}
  %y = moe.jitter %x jitter(0.01, seed = 5) : tensor<128x64xf32>
  return
}

// -----

func.func @router_wrong_result(%x: tensor<128x64xbf16>, %w: tensor<64x4xbf16>, %b: tensor<4xbf16>) {
  // expected-error @+2 {{'moe.router' op inferred type(s) 'tensor<128x4xf32>', 'tensor<128x4xf32>' are incompatible with return type(s) of operation 'tensor<128x8xf32>', 'tensor<128x4xf32>'}}
  // expected-error @+1 {{'moe.router' op failed to infer returned types}}
  %logits, %probs = moe.router %x, %w, %b : tensor<128x64xbf16>, tensor<64x4xbf16>, tensor<4xbf16> -> tensor<128x8xf32>, tensor<128x4xf32>
  return
}

// -----

func.func @router_f32_results(%x: tensor<128x64xbf16>, %w: tensor<64x4xbf16>, %b: tensor<4xbf16>) {
  // expected-error @+1 {{'moe.router' op result #0 must be ranked tensor of 32-bit float values, but got 'tensor<128x4xbf16>'}}
  %logits, %probs = moe.router %x, %w, %b : tensor<128x64xbf16>, tensor<64x4xbf16>, tensor<4xbf16> -> tensor<128x4xbf16>, tensor<128x4xbf16>
  return
}

// -----

func.func @route_probs_rank(%probs: tensor<16x4x2xf32>) {
  // expected-error @+1 {{'moe.route' op (C1): expected probs of rank 2, got 'tensor<16x4x2xf32>'}}
  %i, %w = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 16 : tensor<16x4x2xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @route_capacity_factor(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.route' op (C2): capacity_factor must be positive, got 0}}
  %i, %w = moe.route %probs policy = #moe.experts_choose capacity_factor = 0.0 group_size = 16 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @route_negative_capacity_factor(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.route' op (C2): capacity_factor must be positive, got -1.250000e+00}}
  %i, %w = moe.route %probs policy = #moe.experts_choose capacity_factor = -1.25 group_size = 16 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @route_group_size(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.route' op (C3): group_size must be positive, got 0}}
  %i, %w = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 0 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @route_hash_needs_token_ids(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.route' op (C4): policy #moe.hash routes by token id and needs token_ids}}
  %i, %w = moe.route %probs policy = #moe.hash capacity_factor = 1.0 group_size = 16 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @route_token_ids_unused(%probs: tensor<16x4xf32>, %ids: tensor<16xi32>) {
  // expected-error @+1 {{'moe.route' op (C4): policy #moe.tokens_choose<k = 2> routes by probability and takes no token_ids}}
  %i, %w = moe.route %probs token_ids %ids policy = #moe.tokens_choose<k = 2> capacity_factor = 1.0 group_size = 16 : tensor<16x4xf32>, tensor<16xi32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @route_token_ids_shape(%probs: tensor<16x4xf32>, %ids: tensor<8xi32>) {
  // expected-error @+1 {{'moe.route' op (C4): expected token_ids of shape [16], got 'tensor<8xi32>'}}
  %i, %w = moe.route %probs token_ids %ids policy = #moe.hash capacity_factor = 1.0 group_size = 16 : tensor<16x4xf32>, tensor<8xi32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @route_tokens_choose_k(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.route' op (C5): policy #moe.tokens_choose<k = 8, batch_prioritized> sends a token to 8 experts, but there are only 4}}
  %i, %w = moe.route %probs policy = #moe.tokens_choose<k = 8, batch_prioritized> capacity_factor = 1.0 group_size = 16 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @route_capped_experts_choose_k(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.route' op (C5): policy #moe.capped_experts_choose<k = 5> sends a token to 5 experts, but there are only 4}}
  %i, %w = moe.route %probs policy = #moe.capped_experts_choose<k = 5> capacity_factor = 1.0 group_size = 16 : tensor<16x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @route_not_a_policy(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{Invalid attribute `policy` in property conversion: 1 : i64}}
  %i, %w = "moe.route"(%probs) <{policy = 1 : i64, capacity_factor = 1.0 : f64, group_size = 16 : i64}> : (tensor<16x4xf32>) -> (tensor<1x4x4xi32>, tensor<1x4x4xf32>)
  return
}

// -----

func.func @route_wrong_capacity(%probs: tensor<8192x16xf32>) {
  // expected-error @+2 {{'moe.route' op inferred type(s) 'tensor<2x16x256xi32>', 'tensor<2x16x256xf32>' are incompatible with return type(s) of operation 'tensor<2x16x512xi32>', 'tensor<2x16x512xf32>'}}
  // expected-error @+1 {{'moe.route' op failed to infer returned types}}
  %i, %w = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x512xi32>, tensor<2x16x512xf32>
  return
}

// -----

func.func @route_wrong_group_count(%probs: tensor<8192x16xf32>) {
  // expected-error @+2 {{'moe.route' op inferred type(s) 'tensor<2x16x256xi32>', 'tensor<2x16x256xf32>' are incompatible with return type(s) of operation 'tensor<1x16x256xi32>', 'tensor<1x16x256xf32>'}}
  // expected-error @+1 {{'moe.route' op failed to infer returned types}}
  %i, %w = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<1x16x256xi32>, tensor<1x16x256xf32>
  return
}

// -----

func.func @route_minimum_capacity(%probs: tensor<16x4xf32>) {
  // expected-error @+2 {{'moe.route' op inferred type(s) 'tensor<1x4x4xi32>', 'tensor<1x4x4xf32>' are incompatible with return type(s) of operation 'tensor<1x4x1xi32>', 'tensor<1x4x1xf32>'}}
  // expected-error @+1 {{'moe.route' op failed to infer returned types}}
  %i, %w = moe.route %probs policy = #moe.experts_choose capacity_factor = 0.25 group_size = 16 : tensor<16x4xf32> -> tensor<1x4x1xi32>, tensor<1x4x1xf32>
  return
}

// -----

func.func @route_capacity_above_group_tokens(%probs: tensor<2x4xf32>) {
  // expected-error @+2 {{'moe.route' op inferred type(s) 'tensor<1x4x2xi32>', 'tensor<1x4x2xf32>' are incompatible with return type(s) of operation 'tensor<1x4x4xi32>', 'tensor<1x4x4xf32>'}}
  // expected-error @+1 {{'moe.route' op failed to infer returned types}}
  %i, %w = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<2x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return
}

// -----

func.func @route_group_count_not_dividing_tokens(%probs: tensor<12500x16xf32>) {
  // expected-error @+2 {{'moe.route' op inferred type(s) 'tensor<4x16x195xi32>', 'tensor<4x16x195xf32>' are incompatible with return type(s) of operation 'tensor<3x16x260xi32>', 'tensor<3x16x260xf32>'}}
  // expected-error @+1 {{'moe.route' op failed to infer returned types}}
  %i, %w = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<12500x16xf32> -> tensor<3x16x260xi32>, tensor<3x16x260xf32>
  return
}

// -----

func.func @route_capacity_rounded_half_up(%probs: tensor<72x16xf32>) {
  // expected-error @+2 {{'moe.route' op inferred type(s) 'tensor<1x16x4xi32>', 'tensor<1x16x4xf32>' are incompatible with return type(s) of operation 'tensor<1x16x5xi32>', 'tensor<1x16x5xf32>'}}
  // expected-error @+1 {{'moe.route' op failed to infer returned types}}
  %i, %w = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<72x16xf32> -> tensor<1x16x5xi32>, tensor<1x16x5xf32>
  return
}

// -----

func.func @route_static_tokens_dynamic_result(%probs: tensor<8192x16xf32>) {
  // expected-error @+2 {{'moe.route' op inferred type(s) 'tensor<2x16x256xi32>', 'tensor<2x16x256xf32>' are incompatible with return type(s) of operation 'tensor<?x16x?xi32>', 'tensor<?x16x?xf32>'}}
  // expected-error @+1 {{'moe.route' op failed to infer returned types}}
  %i, %w = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<?x16x?xi32>, tensor<?x16x?xf32>
  return
}

// -----

func.func @route_dynamic_tokens(%probs: tensor<?x16xf32>) {
  // expected-error @+2 {{'moe.route' op inferred type(s) 'tensor<?x16x?xi32>', 'tensor<?x16x?xf32>' are incompatible with return type(s) of operation 'tensor<2x16x256xi32>', 'tensor<2x16x256xf32>'}}
  // expected-error @+1 {{'moe.route' op failed to infer returned types}}
  %i, %w = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<?x16xf32> -> tensor<2x16x256xi32>, tensor<2x16x256xf32>
  return
}

// -----

func.func @dispatch_rank(%x: tensor<16x64xf32>, %indices: tensor<4x4xi32>) {
  // expected-error @+1 {{'moe.dispatch' op (C1): expected an input of rank 2 [T, d] and indices of rank 3 [G, E, C], got 'tensor<16x64xf32>' and 'tensor<4x4xi32>'}}
  %0 = moe.dispatch %x[%indices] : tensor<16x64xf32>, tensor<4x4xi32> -> tensor<4x4x64xf32>
  return
}

// -----

func.func @dispatch_groups(%x: tensor<16x64xf32>, %indices: tensor<3x4x4xi32>) {
  // expected-error @+1 {{'moe.dispatch' op (C2): 16 tokens cannot be split into 3 equal groups}}
  %0 = moe.dispatch %x[%indices] : tensor<16x64xf32>, tensor<3x4x4xi32> -> tensor<3x4x4x64xf32>
  return
}

// -----

func.func @dispatch_wrong_result(%x: tensor<16x64xf32>, %indices: tensor<2x4x4xi32>) {
  // expected-error @+2 {{'moe.dispatch' op inferred type(s) 'tensor<2x4x4x64xf32>' are incompatible with return type(s) of operation 'tensor<2x4x4x32xf32>'}}
  // expected-error @+1 {{'moe.dispatch' op failed to infer returned types}}
  %0 = moe.dispatch %x[%indices] : tensor<16x64xf32>, tensor<2x4x4xi32> -> tensor<2x4x4x32xf32>
  return
}

// -----

func.func @expert_ffn_rank(%x: tensor<4x4x64xf32>, %w1: tensor<4x64x256xf32>, %b1: tensor<4x256xf32>,
                           %w2: tensor<4x256x64xf32>, %b2: tensor<4x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op (C1): expected an input of rank 4 [G, E, C, d], got 'tensor<4x4x64xf32>'}}
  %0 = moe.expert_ffn %x, %w1, %b1, %w2, %b2 activation = <gelu> : tensor<4x4x64xf32>, tensor<4x64x256xf32>, tensor<4x256xf32>, tensor<4x256x64xf32>, tensor<4x64xf32>
  return
}

// -----

func.func @expert_ffn_in_weight(%x: tensor<2x4x4x64xf32>, %w1: tensor<8x64x256xf32>, %b1: tensor<4x256xf32>,
                                %w2: tensor<4x256x64xf32>, %b2: tensor<4x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op (C2): expected in_weight of shape [4, 64, 256], got 'tensor<8x64x256xf32>'}}
  %0 = moe.expert_ffn %x, %w1, %b1, %w2, %b2 activation = <gelu> : tensor<2x4x4x64xf32>, tensor<8x64x256xf32>, tensor<4x256xf32>, tensor<4x256x64xf32>, tensor<4x64xf32>
  return
}

// -----

func.func @expert_ffn_in_weight_rank(%x: tensor<2x4x4x64xf32>, %w1: tensor<64x256xf32>, %b1: tensor<4x256xf32>,
                                     %w2: tensor<4x256x64xf32>, %b2: tensor<4x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op (C2): expected in_weight of shape [4, 64, ?], got 'tensor<64x256xf32>'}}
  %0 = moe.expert_ffn %x, %w1, %b1, %w2, %b2 activation = <gelu> : tensor<2x4x4x64xf32>, tensor<64x256xf32>, tensor<4x256xf32>, tensor<4x256x64xf32>, tensor<4x64xf32>
  return
}

// -----

func.func @expert_ffn_in_bias(%x: tensor<2x4x4x64xf32>, %w1: tensor<4x64x256xf32>, %b1: tensor<4x64xf32>,
                              %w2: tensor<4x256x64xf32>, %b2: tensor<4x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op (C3): expected in_bias of shape [4, 256], got 'tensor<4x64xf32>'}}
  %0 = moe.expert_ffn %x, %w1, %b1, %w2, %b2 activation = <gelu> : tensor<2x4x4x64xf32>, tensor<4x64x256xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64xf32>
  return
}

// -----

func.func @expert_ffn_out_weight(%x: tensor<2x4x4x64xf32>, %w1: tensor<4x64x256xf32>, %b1: tensor<4x256xf32>,
                                 %w2: tensor<4x64x256xf32>, %b2: tensor<4x64xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op (C4): expected out_weight of shape [4, 256, 64], got 'tensor<4x64x256xf32>'}}
  %0 = moe.expert_ffn %x, %w1, %b1, %w2, %b2 activation = <gelu> : tensor<2x4x4x64xf32>, tensor<4x64x256xf32>, tensor<4x256xf32>, tensor<4x64x256xf32>, tensor<4x64xf32>
  return
}

// -----

func.func @expert_ffn_out_bias(%x: tensor<2x4x4x64xf32>, %w1: tensor<4x64x256xf32>, %b1: tensor<4x256xf32>,
                               %w2: tensor<4x256x64xf32>, %b2: tensor<4x256xf32>) {
  // expected-error @+1 {{'moe.expert_ffn' op (C5): expected out_bias of shape [4, 64], got 'tensor<4x256xf32>'}}
  %0 = moe.expert_ffn %x, %w1, %b1, %w2, %b2 activation = <gelu> : tensor<2x4x4x64xf32>, tensor<4x64x256xf32>, tensor<4x256xf32>, tensor<4x256x64xf32>, tensor<4x256xf32>
  return
}

// -----

func.func @expert_ffn_element_type(%x: tensor<2x4x4x64xbf16>, %w1: tensor<4x64x256xbf16>, %b1: tensor<4x256xf32>,
                                   %w2: tensor<4x256x64xbf16>, %b2: tensor<4x64xbf16>) {
  // expected-error @+1 {{'moe.expert_ffn' op (C6): in_bias has element type 'f32', expected 'bf16'}}
  %0 = moe.expert_ffn %x, %w1, %b1, %w2, %b2 activation = <gelu> : tensor<2x4x4x64xbf16>, tensor<4x64x256xbf16>, tensor<4x256xf32>, tensor<4x256x64xbf16>, tensor<4x64xbf16>
  return
}

// -----

func.func @expert_ffn_wrong_result(%x: tensor<2x4x4x64xf32>, %w1: tensor<4x64x256xf32>, %b1: tensor<4x256xf32>,
                                   %w2: tensor<4x256x64xf32>, %b2: tensor<4x64xf32>) {
  // expected-error @+2 {{'moe.expert_ffn' op inferred type(s) 'tensor<2x4x4x64xf32>' are incompatible with return type(s) of operation 'tensor<2x4x4x256xf32>'}}
  // expected-error @+1 {{'moe.expert_ffn' op failed to infer returned types}}
  %0 = "moe.expert_ffn"(%x, %w1, %b1, %w2, %b2) <{activation = #smx.activation<gelu>, operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 0, 0>}> : (tensor<2x4x4x64xf32>, tensor<4x64x256xf32>, tensor<4x256xf32>, tensor<4x256x64xf32>, tensor<4x64xf32>) -> tensor<2x4x4x256xf32>
  return
}

// -----

func.func @combine_rank(%out: tensor<2x4x4x64xf32>, %indices: tensor<2x4x4xi32>, %weights: tensor<2x4x4xf32>) {
  // expected-error @+1 {{'moe.combine' op (C1): expected an input of rank 4 [G, E, C, d] and a result of rank 2 [T, d], got 'tensor<2x4x4x64xf32>' and 'tensor<2x8x64xf32>'}}
  %0 = moe.combine %out[%indices], %weights : tensor<2x4x4x64xf32>, tensor<2x4x4xi32>, tensor<2x4x4xf32> -> tensor<2x8x64xf32>
  return
}

// -----

func.func @combine_element_type(%out: tensor<2x4x4x64xbf16>, %indices: tensor<2x4x4xi32>, %weights: tensor<2x4x4xf32>) {
  // expected-error @+1 {{'moe.combine' op (C1): result has element type 'f32', expected 'bf16'}}
  %0 = moe.combine %out[%indices], %weights : tensor<2x4x4x64xbf16>, tensor<2x4x4xi32>, tensor<2x4x4xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @combine_indices(%out: tensor<2x4x4x64xf32>, %indices: tensor<2x4x8xi32>, %weights: tensor<2x4x4xf32>) {
  // expected-error @+1 {{'moe.combine' op (C2): expected indices of shape [2, 4, 4], got 'tensor<2x4x8xi32>'}}
  %0 = moe.combine %out[%indices], %weights : tensor<2x4x4x64xf32>, tensor<2x4x8xi32>, tensor<2x4x4xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @combine_weights(%out: tensor<2x?x4x64xf32>, %indices: tensor<2x4x4xi32>, %weights: tensor<1x4x4xf32>) {
  // expected-error @+1 {{'moe.combine' op (C2): expected weights of shape [2, ?, 4], got 'tensor<1x4x4xf32>'}}
  %0 = moe.combine %out[%indices], %weights : tensor<2x?x4x64xf32>, tensor<2x4x4xi32>, tensor<1x4x4xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @combine_width(%out: tensor<2x4x4x64xf32>, %indices: tensor<2x4x4xi32>, %weights: tensor<2x4x4xf32>) {
  // expected-error @+1 {{'moe.combine' op (C3): result width (32) does not match slot width (64)}}
  %0 = moe.combine %out[%indices], %weights : tensor<2x4x4x64xf32>, tensor<2x4x4xi32>, tensor<2x4x4xf32> -> tensor<16x32xf32>
  return
}

// -----

func.func @combine_groups(%out: tensor<2x4x4x64xf32>, %indices: tensor<2x4x4xi32>, %weights: tensor<2x4x4xf32>) {
  // expected-error @+1 {{'moe.combine' op (C4): 15 tokens cannot be split into 2 equal groups}}
  %0 = moe.combine %out[%indices], %weights : tensor<2x4x4x64xf32>, tensor<2x4x4xi32>, tensor<2x4x4xf32> -> tensor<15x64xf32>
  return
}

// -----

func.func @load_balance_loss_rank(%probs: tensor<16xf32>) {
  // expected-error @+1 {{'moe.load_balance_loss' op (C1): expected probs of rank 2, got 'tensor<16xf32>'}}
  %0 = moe.load_balance_loss %probs top_k = 1 groups = 1 : tensor<16xf32>
  return
}

// -----

func.func @load_balance_loss_top_k_zero(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.load_balance_loss' op (C2): top_k must be in [1, 4], got 0}}
  %0 = moe.load_balance_loss %probs top_k = 0 groups = 1 : tensor<16x4xf32>
  return
}

// -----

func.func @load_balance_loss_top_k_above_experts(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.load_balance_loss' op (C2): top_k must be in [1, 4], got 5}}
  %0 = moe.load_balance_loss %probs top_k = 5 groups = 1 : tensor<16x4xf32>
  return
}

// -----

func.func @load_balance_loss_top_k_dynamic_experts(%probs: tensor<16x?xf32>) {
  // expected-error @+1 {{'moe.load_balance_loss' op (C2): top_k must be in [1, ?], got -1}}
  %0 = moe.load_balance_loss %probs top_k = -1 groups = 1 : tensor<16x?xf32>
  return
}

// -----

func.func @load_balance_loss_groups_positive(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.load_balance_loss' op (C3): groups must be positive, got 0}}
  %0 = moe.load_balance_loss %probs top_k = 1 groups = 0 : tensor<16x4xf32>
  return
}

// -----

func.func @load_balance_loss_groups_divide(%probs: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.load_balance_loss' op (C3): 16 tokens cannot be split into 3 equal groups}}
  %0 = moe.load_balance_loss %probs top_k = 1 groups = 3 : tensor<16x4xf32>
  return
}

// -----

func.func @router_z_loss_rank(%logits: tensor<2x16x4xf32>) {
  // expected-error @+1 {{'moe.router_z_loss' op (C1): expected logits of rank 2, got 'tensor<2x16x4xf32>'}}
  %0 = moe.router_z_loss %logits : tensor<2x16x4xf32>
  return
}

// -----

func.func @router_z_loss_f32(%logits: tensor<16x4xbf16>) {
  // expected-error @+1 {{'moe.router_z_loss' op operand #0 must be ranked tensor of 32-bit float values, but got 'tensor<16x4xbf16>'}}
  %0 = moe.router_z_loss %logits : tensor<16x4xbf16>
  return
}

// -----

func.func @expert_load_rank(%indices: tensor<2x4xi32>, %probs: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.expert_load' op (C1): expected dispatch_indices of rank 3 [G, E, C] and probs of rank 2 [T, E], got 'tensor<2x4xi32>' and 'tensor<16x4xf32>'}}
  %load, %dropped = moe.expert_load %indices for %probs : tensor<2x4xi32>, tensor<16x4xf32>
  return
}

// -----

func.func @expert_load_experts(%indices: tensor<2x8x4xi32>, %probs: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.expert_load' op (C2): experts in dispatch_indices (8) does not match experts in probs (4)}}
  %load, %dropped = moe.expert_load %indices for %probs : tensor<2x8x4xi32>, tensor<16x4xf32>
  return
}

// -----

func.func @expert_load_groups(%indices: tensor<3x4x4xi32>, %probs: tensor<16x4xf32>) {
  // expected-error @+1 {{'moe.expert_load' op (C3): 16 tokens cannot be split into 3 equal groups}}
  %load, %dropped = moe.expert_load %indices for %probs : tensor<3x4x4xi32>, tensor<16x4xf32>
  return
}

// -----

func.func @all_to_all_split_axis(%x: tensor<2x16x4x64xf32>) {
  // expected-error @+1 {{'moe.all_to_all' op (C3): split_axis 4 is out of range for an input of rank 4}}
  %0 = moe.all_to_all %x on @grid grid_axes = [1] split_axis = 4 concat_axis = 0 : tensor<2x16x4x64xf32> -> tensor<8x4x4x64xf32>
  return
}

// -----

func.func @all_to_all_concat_axis(%x: tensor<2x16x4x64xf32>) {
  // expected-error @+1 {{'moe.all_to_all' op (C3): concat_axis -1 is out of range for an input of rank 4}}
  %0 = moe.all_to_all %x on @grid grid_axes = [1] split_axis = 1 concat_axis = -1 : tensor<2x16x4x64xf32> -> tensor<8x4x4x64xf32>
  return
}

// -----

func.func @all_to_all_element_type(%x: tensor<2x16x4x64xf32>) {
  // expected-error @+1 {{'moe.all_to_all' op requires the same element type for all operands and results}}
  %0 = moe.all_to_all %x on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x16x4x64xf32> -> tensor<8x4x4x64xbf16>
  return
}

// -----

func.func @all_to_all_no_grid(%x: tensor<2x16x4x64xf32>) {
  // expected-error @+1 {{'moe.all_to_all' op (C1): @grid does not name a shard.grid}}
  %0 = moe.all_to_all %x on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x16x4x64xf32> -> tensor<8x4x4x64xf32>
  return
}

// -----

func.func private @grid()

func.func @all_to_all_not_a_grid(%x: tensor<2x16x4x64xf32>) {
  // expected-error @+1 {{'moe.all_to_all' op (C1): @grid does not name a shard.grid}}
  %0 = moe.all_to_all %x on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x16x4x64xf32> -> tensor<8x4x4x64xf32>
  return
}

// -----

shard.grid @grid(shape = 2x4)

func.func @all_to_all_grid_axis_range(%x: tensor<2x16x4x64xf32>) {
  // expected-error @+1 {{'moe.all_to_all' op (C2): grid axis 2 is out of range for grid @grid of rank 2}}
  %0 = moe.all_to_all %x on @grid grid_axes = [2] split_axis = 1 concat_axis = 0 : tensor<2x16x4x64xf32> -> tensor<8x4x4x64xf32>
  return
}

// -----

shard.grid @grid(shape = 2x4)

func.func @all_to_all_grid_axis_repeats(%x: tensor<2x16x4x64xf32>) {
  // expected-error @+1 {{'moe.all_to_all' op (C2): grid axis 1 repeats}}
  %0 = moe.all_to_all %x on @grid grid_axes = [1, 0, 1] split_axis = 1 concat_axis = 0 : tensor<2x16x4x64xf32> -> tensor<8x4x4x64xf32>
  return
}

// -----

shard.grid @grid(shape = 2x4)

func.func @all_to_all_split_divisible(%x: tensor<2x6x4x64xf32>) {
  // expected-error @+1 {{'moe.all_to_all' op (C4): split_axis 1 of size 6 is not divisible by the 4 devices along the grid axes}}
  %0 = moe.all_to_all %x on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x6x4x64xf32> -> tensor<8x1x4x64xf32>
  return
}

// -----

shard.grid @grid(shape = 2x4)

func.func @all_to_all_result_shape(%x: tensor<2x16x4x64xf32>) {
  // expected-error @+1 {{'moe.all_to_all' op (C5): expected result of shape [8, 4, 4, 64], got 'tensor<2x16x4x64xf32>'}}
  %0 = moe.all_to_all %x on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x16x4x64xf32> -> tensor<2x16x4x64xf32>
  return
}

// -----

shard.grid @grid(shape = 2x?)

func.func @all_to_all_dynamic_grid(%x: tensor<2x16x4x64xf32>) {
  // expected-error @+1 {{'moe.all_to_all' op (C5): expected result of shape [?, ?, 4, 64], got 'tensor<2x16x4x32xf32>'}}
  %0 = moe.all_to_all %x on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x16x4x64xf32> -> tensor<2x16x4x32xf32>
  return
}
