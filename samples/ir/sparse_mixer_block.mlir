// One Sparse Mixer encoder block at toy size, written by hand in the smx
// dialects: linear token mixing, then a mixture-of-experts feed-forward
// sublayer with expert-choice routing, post-LN as in the paper.
//   batch 2, sequence 16, d_model 64, 4 experts of width 128.
// A starting point for smx-opt experiments; test/Dialect/sample-block.test
// keeps it valid.

func.func @sparse_mixer_block(
    %h: tensor<2x16x64xf32>, %step: i64,
    %w_seq: tensor<16x16xf32>, %w_hid: tensor<64x64xf32>,
    %ln1_scale: tensor<64xf32>, %ln1_bias: tensor<64xf32>,
    %router_w: tensor<64x4xf32>, %router_b: tensor<4xf32>,
    %w_in: tensor<4x64x128xf32>, %b_in: tensor<4x128xf32>,
    %w_out: tensor<4x128x64xf32>, %b_out: tensor<4x64xf32>,
    %ln2_scale: tensor<64xf32>, %ln2_bias: tensor<64xf32>)
    -> (tensor<2x16x64xf32>, tensor<f32>, tensor<4xi64>, tensor<f32>) {
  // Token mixing: x = LN(h + W_seq · h · W_hid).
  %mixed = mix.linear %h, %w_seq, %w_hid
      : tensor<2x16x64xf32>, tensor<16x16xf32>, tensor<64x64xf32>
  %sum1 = smx.residual_add %mixed, %h : tensor<2x16x64xf32>
  %x = smx.layer_norm %sum1, %ln1_scale, %ln1_bias epsilon = 1.0e-12
      : tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>

  // Mixture of experts over the 32 tokens of the batch.
  %tokens = tensor.collapse_shape %x [[0, 1], [2]]
      : tensor<2x16x64xf32> into tensor<32x64xf32>
  %noisy_tokens = moe.jitter %tokens jitter(0.01, seed = 11, step = %step)
      : tensor<32x64xf32>
  %logits, %probs = moe.router %noisy_tokens, %router_w, %router_b
      : tensor<32x64xf32>, tensor<64x4xf32>, tensor<4xf32>
      -> tensor<32x4xf32>, tensor<32x4xf32>
  %indices, %weights = moe.route %probs policy = #moe.experts_choose
      capacity_factor = 1.0 group_size = 4096
      : tensor<32x4xf32> -> tensor<1x4x8xi32>, tensor<1x4x8xf32>
  %slots = moe.dispatch %tokens[%indices]
      : tensor<32x64xf32>, tensor<1x4x8xi32> -> tensor<1x4x8x64xf32>
  %expert_out = moe.expert_ffn %slots, %w_in, %b_in, %w_out, %b_out
      activation = <gelu_tanh>
      : tensor<1x4x8x64xf32>, tensor<4x64x128xf32>, tensor<4x128xf32>,
        tensor<4x128x64xf32>, tensor<4x64xf32>
  %combined = moe.combine %expert_out[%indices], %weights
      : tensor<1x4x8x64xf32>, tensor<1x4x8xi32>, tensor<1x4x8xf32>
      -> tensor<32x64xf32>
  %z_loss = moe.router_z_loss %logits : tensor<32x4xf32>
  %load, %dropped = moe.expert_load %indices for %probs
      : tensor<1x4x8xi32>, tensor<32x4xf32>

  // out = LN(x + dropout(MoE(x))).
  %moe_out = tensor.expand_shape %combined [[0, 1], [2]] output_shape [2, 16, 64]
      : tensor<32x64xf32> into tensor<2x16x64xf32>
  %dropped_out = smx.dropout %moe_out, %step rate = 0.1 seed = 12
      : tensor<2x16x64xf32>
  %sum2 = smx.residual_add %dropped_out, %x : tensor<2x16x64xf32>
  %out = smx.layer_norm %sum2, %ln2_scale, %ln2_bias epsilon = 1.0e-12
      : tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %out, %z_loss, %load, %dropped
      : tensor<2x16x64xf32>, tensor<f32>, tensor<4xi64>, tensor<f32>
}
