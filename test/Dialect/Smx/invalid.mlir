// Every verifier message of the smx dialect.
// RUN: smx-opt %s -split-input-file -verify-diagnostics

func.func @embedding_table_rank(%table: tensor<4xf32>, %ids: tensor<8xi32>) {
  // expected-error @+1 {{'smx.embedding_lookup' op (C1): expected a table of rank 2, got 'tensor<4xf32>'}}
  %0 = smx.embedding_lookup <word> %table[%ids] : tensor<4xf32>, tensor<8xi32> -> tensor<8xf32>
  return
}

// -----

func.func @embedding_position_table_too_short(%table: tensor<128x64xf32>, %ids: tensor<2x512xi32>) {
  // expected-error @+1 {{'smx.embedding_lookup' op (C3): position table has 128 rows, fewer than the sequence length 512}}
  %0 = smx.embedding_lookup <position> %table[%ids] : tensor<128x64xf32>, tensor<2x512xi32> -> tensor<2x512x64xf32>
  return
}

// -----

func.func @embedding_wrong_result(%table: tensor<100x64xf32>, %ids: tensor<2x8xi32>) {
  // expected-error @+2 {{'smx.embedding_lookup' op inferred type(s) 'tensor<2x8x64xf32>' are incompatible with return type(s) of operation 'tensor<2x8x32xf32>'}}
  // expected-error @+1 {{'smx.embedding_lookup' op failed to infer returned types}}
  %0 = smx.embedding_lookup <word> %table[%ids] : tensor<100x64xf32>, tensor<2x8xi32> -> tensor<2x8x32xf32>
  return
}

// -----

func.func @dense_weight_rank(%x: tensor<8x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{'smx.dense' op (C1): expected an input of rank >= 1 and a weight of rank 2, got 'tensor<8x64xf32>' and 'tensor<64xf32>'}}
  %0 = smx.dense %x, %w : tensor<8x64xf32>, tensor<64xf32> -> tensor<8x64xf32>
  return
}

// -----

func.func @dense_contraction(%x: tensor<8x64xf32>, %w: tensor<32x16xf32>) {
  // expected-error @+1 {{'smx.dense' op (C2): input contraction size (64) does not match weight rows (32)}}
  %0 = smx.dense %x, %w : tensor<8x64xf32>, tensor<32x16xf32> -> tensor<8x16xf32>
  return
}

// -----

func.func @dense_contraction_transposed(%x: tensor<8x64xf32>, %table: tensor<1000x32xf32>) {
  // expected-error @+1 {{'smx.dense' op (C2): input contraction size (64) does not match weight columns (transposed) (32)}}
  %0 = smx.dense %x, %table transpose_weight : tensor<8x64xf32>, tensor<1000x32xf32> -> tensor<8x1000xf32>
  return
}

// -----

func.func @dense_bias_shape(%x: tensor<8x64xf32>, %w: tensor<64x16xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{'smx.dense' op (C3): expected bias of shape [16], got 'tensor<64xf32>'}}
  %0 = smx.dense %x, %w, %b : tensor<8x64xf32>, tensor<64x16xf32>, tensor<64xf32> -> tensor<8x16xf32>
  return
}

// -----

func.func @dense_weight_element_type(%x: tensor<8x64xf32>, %w: tensor<64x16xbf16>) {
  // expected-error @+1 {{'smx.dense' op (C4): weight has element type 'bf16', expected 'f32'}}
  %0 = smx.dense %x, %w : tensor<8x64xf32>, tensor<64x16xbf16> -> tensor<8x16xf32>
  return
}

// -----

func.func @dense_bias_element_type(%x: tensor<8x64xf32>, %w: tensor<64x16xf32>, %b: tensor<16xf16>) {
  // expected-error @+1 {{'smx.dense' op (C4): bias has element type 'f16', expected 'f32'}}
  %0 = smx.dense %x, %w, %b : tensor<8x64xf32>, tensor<64x16xf32>, tensor<16xf16> -> tensor<8x16xf32>
  return
}

// -----

func.func @layer_norm_rank(%x: tensor<f32>, %s: tensor<1xf32>) {
  // expected-error @+1 {{'smx.layer_norm' op (C1): expected an input of rank >= 1, got 'tensor<f32>'}}
  %0 = smx.layer_norm %x, %s, %s epsilon = 1.0e-12 : tensor<f32>, tensor<1xf32>, tensor<1xf32>
  return
}

// -----

func.func @layer_norm_scale_shape(%x: tensor<8x64xf32>, %s: tensor<32xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{'smx.layer_norm' op (C2): expected scale of shape [64], got 'tensor<32xf32>'}}
  %0 = smx.layer_norm %x, %s, %b epsilon = 1.0e-12 : tensor<8x64xf32>, tensor<32xf32>, tensor<64xf32>
  return
}

// -----

func.func @layer_norm_bias_type(%x: tensor<8x64xf32>, %s: tensor<64xf32>, %b: tensor<64xbf16>) {
  // expected-error @+1 {{'smx.layer_norm' op (C2): bias has element type 'bf16', expected 'f32'}}
  %0 = smx.layer_norm %x, %s, %b epsilon = 1.0e-12 : tensor<8x64xf32>, tensor<64xf32>, tensor<64xbf16>
  return
}

// -----

func.func @layer_norm_epsilon(%x: tensor<8x64xf32>, %s: tensor<64xf32>) {
  // expected-error @+1 {{'smx.layer_norm' op (C3): epsilon must be positive, got 0}}
  %0 = smx.layer_norm %x, %s, %s epsilon = 0.0 : tensor<8x64xf32>, tensor<64xf32>, tensor<64xf32>
  return
}

// -----

func.func @layer_norm_residual_type(%x: tensor<8x64xf32>, %r: tensor<8x32xf32>, %s: tensor<64xf32>) {
  // expected-error @+1 {{'smx.layer_norm' op (C4): residual has type 'tensor<8x32xf32>', expected 'tensor<8x64xf32>'}}
  %0 = smx.layer_norm %x + %r, %s, %s epsilon = 1.0e-12 : tensor<8x64xf32> + tensor<8x32xf32>, tensor<64xf32>, tensor<64xf32>
  return
}

// -----

func.func @dropout_rate(%x: tensor<8x64xf32>, %step: i64) {
  // expected-error @+1 {{'smx.dropout' op (C1): rate must be in [0, 1), got 1}}
  %0 = smx.dropout %x, %step rate = 1.0 seed = 0 : tensor<8x64xf32>
  return
}

// -----

func.func @dropout_negative_rate(%x: tensor<8x64xf32>, %step: i64) {
  // expected-error @+1 {{'smx.dropout' op (C1): rate must be in [0, 1), got -1.000000e-01}}
  %0 = smx.dropout %x, %step rate = -0.1 seed = 0 : tensor<8x64xf32>
  return
}

// -----

func.func @softmax_dimension(%x: tensor<8x64xf32>) {
  // expected-error @+1 {{'smx.softmax' op (C1): dimension 2 is out of range for an input of rank 2}}
  %0 = smx.softmax %x dimension = 2 : tensor<8x64xf32>
  return
}

// -----

func.func @gather_positions_rank(%h: tensor<8x64xf32>, %p: tensor<8x4xi32>) {
  // expected-error @+1 {{'smx.gather_positions' op (C1): expected an input of rank 3 [B, L, D] and positions of rank 2 [B, P], got 'tensor<8x64xf32>' and 'tensor<8x4xi32>'}}
  %0 = smx.gather_positions %h[%p] : tensor<8x64xf32>, tensor<8x4xi32> -> tensor<8x4x64xf32>
  return
}

// -----

func.func @gather_positions_batch(%h: tensor<8x16x64xf32>, %p: tensor<4x2xi32>) {
  // expected-error @+1 {{'smx.gather_positions' op (C2): input batch size (8) does not match positions batch size (4)}}
  %0 = smx.gather_positions %h[%p] : tensor<8x16x64xf32>, tensor<4x2xi32> -> tensor<8x2x64xf32>
  return
}

// -----

func.func @cross_entropy_rank(%logits: tensor<f32>, %labels: tensor<i32>) {
  // expected-error @+1 {{'smx.cross_entropy' op (C1): expected logits of rank >= 1, got 'tensor<f32>'}}
  %0 = smx.cross_entropy %logits, %labels ignore_index = -100 : tensor<f32>, tensor<i32>
  return
}

// -----

func.func @cross_entropy_grid_without_axes(%logits: tensor<2x3xf32>, %labels: tensor<2xi32>) {
  // expected-error @+1 {{'smx.cross_entropy' op (C3): count_over and grid_axes go together}}
  %0 = "smx.cross_entropy"(%logits, %labels) <{ignore_index = -100 : i64, count_over = @grid}> : (tensor<2x3xf32>, tensor<2xi32>) -> tensor<f32>
  return
}

// -----

func.func @cross_entropy_labels(%logits: tensor<8x10xf32>, %labels: tensor<8x10xi32>) {
  // expected-error @+1 {{'smx.cross_entropy' op (C1): expected labels of shape [8], got 'tensor<8x10xi32>'}}
  %0 = smx.cross_entropy %logits, %labels ignore_index = -100 : tensor<8x10xf32>, tensor<8x10xi32>
  return
}

// -----

func.func @cross_entropy_weights(%logits: tensor<8x10xf32>, %labels: tensor<8xi32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{'smx.cross_entropy' op (C2): expected weights of shape [8], got 'tensor<4xf32>'}}
  %0 = smx.cross_entropy %logits, %labels weights %w ignore_index = -100 : tensor<8x10xf32>, tensor<8xi32>, tensor<4xf32>
  return
}

// -----

func.func @adamw_beta1(%p: tensor<4xf32>, %lr: f32, %step: i64) {
  // expected-error @+1 {{'smx.adamw_update' op (C1): beta1 must be in [0, 1), got 1}}
  %0:3 = smx.adamw_update %p, %p, %p, %p, %lr, %step beta1 = 1.0 beta2 = 0.999 epsilon = 1.0e-6 weight_decay = 0.01 : tensor<4xf32>
  return
}

// -----

func.func @adamw_beta2(%p: tensor<4xf32>, %lr: f32, %step: i64) {
  // expected-error @+1 {{'smx.adamw_update' op (C1): beta2 must be in [0, 1), got -5.000000e-01}}
  %0:3 = smx.adamw_update %p, %p, %p, %p, %lr, %step beta1 = 0.9 beta2 = -0.5 epsilon = 1.0e-6 weight_decay = 0.01 : tensor<4xf32>
  return
}

// -----

func.func @adamw_epsilon(%p: tensor<4xf32>, %lr: f32, %step: i64) {
  // expected-error @+1 {{'smx.adamw_update' op (C2): epsilon must be positive, got 0}}
  %0:3 = smx.adamw_update %p, %p, %p, %p, %lr, %step beta1 = 0.9 beta2 = 0.999 epsilon = 0.0 weight_decay = 0.01 : tensor<4xf32>
  return
}

// -----

func.func @adamw_weight_decay(%p: tensor<4xf32>, %lr: f32, %step: i64) {
  // expected-error @+1 {{'smx.adamw_update' op (C2): weight_decay must be non-negative, got -1.000000e-02}}
  %0:3 = smx.adamw_update %p, %p, %p, %p, %lr, %step beta1 = 0.9 beta2 = 0.999 epsilon = 1.0e-6 weight_decay = -0.01 : tensor<4xf32>
  return
}

// -----

func.func @adamw_types(%p: tensor<4xf32>, %g: tensor<8xf32>, %lr: f32, %step: i64) {
  // expected-error @+1 {{'smx.adamw_update' op failed to verify that all of {param, grad, first_moment, second_moment, new_param, new_first_moment, new_second_moment} have same type}}
  %0:3 = "smx.adamw_update"(%p, %g, %p, %p, %lr, %step) : (tensor<4xf32>, tensor<8xf32>, tensor<4xf32>, tensor<4xf32>, f32, i64) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  return
}

// -----

func.func @unknown_activation(%x: tensor<4xf32>) {
  // expected-error @+2 {{expected ::mlir::smx::Activation to be one of: gelu_tanh, gelu, relu, tanh}}
  // expected-error @+1 {{failed to parse Smx_ActivationAttr parameter 'value' which is to be a `::mlir::smx::Activation`}}
  %0 = smx.activation <swish> %x : tensor<4xf32>
  return
}

// -----

func.func @all_reduce_start_without_wait(%g: tensor<8xf32>) {
  // expected-error @+1 {{(C2): the handle must have one user, an smx.all_reduce_wait}}
  %h = smx.all_reduce_start %g on @grid grid_axes = [0] : tensor<8xf32>
  return
}

// -----

func.func @all_reduce_wait_of_another_type(%g: tensor<8xf32>) -> tensor<4xf32> {
  %h = smx.all_reduce_start %g on @grid grid_axes = [0] : tensor<8xf32>
  // expected-error @+1 {{(C1): waits for a sum of 'tensor<8xf32>' as 'tensor<4xf32>'}}
  %s = smx.all_reduce_wait %h : tensor<4xf32>
  return %s : tensor<4xf32>
}
