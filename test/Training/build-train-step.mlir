// RUN: smx-opt %s --split-input-file --smx-build-train-step --verify-diagnostics | FileCheck %s
// RUN: smx-opt %s --split-input-file --smx-build-train-step=max-grad-norm=1.0 --verify-diagnostics | FileCheck %s --check-prefix=CLIP

// A classifier over embeddings with layer norm, dropout, linear mixing and a
// residual: every rule of the walk appears once.

// CHECK-LABEL: func.func @train_step
// CHECK-SAME: (%[[IDS:.*]]: tensor<2x4xi32> {smx.input = "input_ids"}, %[[LABELS:.*]]: tensor<2xi32> {smx.input = "labels"}, %[[STEP:.*]]: i64 {smx.input = "step"},
// CHECK-SAME: %[[PEAK:.*]]: f32 {smx.input = "peak_learning_rate"}, %[[WARMUP:.*]]: i64 {smx.input = "warmup_steps"}, %[[TOTAL:.*]]: i64 {smx.input = "total_steps"},
// CHECK-SAME: %[[EMB:.*]]: tensor<10x8xf32> {smx.init = "normal", smx.parameter = "embeddings.word"}
// CHECK-SAME: {smx.first_moment = "embeddings.word"}
// CHECK-SAME: {smx.second_moment = "embeddings.word"}
// CHECK-SAME: -> (tensor<10x8xf32> {smx.parameter = "embeddings.word"}
// CHECK-SAME: tensor<f32> {smx.output = "loss"}, tensor<f32> {smx.output = "grad_norm"}, tensor<f32> {smx.output = "learning_rate"}, tensor<f32> {smx.loss = 1.000000e+00 : f64, smx.output = "classifier_loss"})
//
// The forward pass first, unchanged.
// CHECK:      %[[E:.*]] = smx.embedding_lookup <word> %[[EMB]][%[[IDS]]]
// CHECK:      %[[N:.*]] = smx.layer_norm %[[E]]
// CHECK:      %[[D:.*]] = smx.dropout %[[N]], %[[STEP]] rate = 1.000000e-01 seed = 3
// CHECK:      mix.linear %[[D]]
// CHECK:      %[[LOGITS:.*]] = smx.dense
// CHECK:      smx.cross_entropy %[[LOGITS]], %[[LABELS]]
//
// Then the gradients, last op first; the residual stream's two uses add up,
// and dropout's gradient is the same dropout.
// CHECK:      %[[ONE:.*]] = arith.constant dense<1.000000e+00> : tensor<f32>
// CHECK:      %[[DLOGITS:.*]] = smx.cross_entropy_grad %[[LOGITS]], %[[LABELS]], %[[ONE]]
// CHECK:      %[[DA:.*]] = smx.dense %[[DLOGITS]], %{{.*}} transpose_weight
// CHECK:      %[[DW:.*]] = smx.dense_weight_grad %{{.*}}, %[[DLOGITS]]
// CHECK:      %[[DB:.*]] = smx.sum_leading %[[DLOGITS]]
// CHECK:      smx.activation_grad <tanh> %{{.*}}, %[[DA]]
// CHECK:      tensor.expand_shape
// CHECK:      %[[DR:.*]] = tensor.insert_slice
// CHECK:      %[[DM:.*]], %[[DSEQ:.*]], %[[DHID:.*]] = mix.linear_grad %[[D]], %{{.*}}, %{{.*}}, %[[DR]]
// CHECK:      %[[DSUM:.*]] = arith.addf %[[DR]], %[[DM]]
// CHECK:      %[[DN:.*]] = smx.dropout %[[DSUM]], %[[STEP]] rate = 1.000000e-01 seed = 3
// CHECK:      %[[DE:.*]], %[[DSCALE:.*]], %[[DBIAS:.*]] = smx.layer_norm_grad %[[E]], %{{.*}}, %[[DN]]
// CHECK:      %[[DEMB:.*]] = smx.embedding_grad %[[DE]][%[[IDS]]]
// CHECK:      %[[NORM:.*]] = smx.global_norm %[[DEMB]], %[[DSCALE]], %[[DBIAS]], %[[DSEQ]], %[[DHID]], %[[DW]], %[[DB]]
//
// AdamW at the scheduled rate, Adam's step 1-based; weight decay on
// matrices only; the unused parameter keeps its value and moments.
// CHECK:      %[[LR:.*]] = smx.lr_schedule <linear_warmup_linear_decay> %[[STEP]], %[[PEAK]], %[[WARMUP]], %[[TOTAL]] : f32
// CHECK:      %[[T:.*]] = arith.addi %[[STEP]], %{{.*}} : i64
// CHECK:      smx.adamw_update %[[EMB]], %[[DEMB]], %{{.*}}, %{{.*}}, %[[LR]], %[[T]] {{.*}} weight_decay = 1.000000e-02 : tensor<10x8xf32>
// CHECK:      smx.adamw_update %{{.*}}, %[[DSCALE]], {{.*}} weight_decay = 0.000000e+00 : tensor<8xf32>
// CHECK-NOT:  smx.adamw_update %[[UNUSED:arg13]]
// CHECK:      return {{.*}}, %arg13, {{.*}}, %arg21, {{.*}}, %arg29,

// CLIP-LABEL: func.func @train_step
// CLIP:       %[[NORM:.*]] = smx.global_norm
// CLIP:       %[[N:.*]] = tensor.extract %[[NORM]][]
// CLIP:       arith.divf
// CLIP:       %[[SCALE:.*]] = arith.minimumf
// CLIP:       tensor.splat %[[SCALE]] : tensor<10x8xf32>
// CLIP:       arith.mulf

module {
  func.func @forward(%ids: tensor<2x4xi32> {smx.input = "input_ids"}, %labels: tensor<2xi32> {smx.input = "labels"}, %step: i64 {smx.input = "step"},
      %emb: tensor<10x8xf32> {smx.parameter = "embeddings.word", smx.init = "normal"},
      %scale: tensor<8xf32> {smx.parameter = "ln.scale", smx.init = "ones"},
      %bias: tensor<8xf32> {smx.parameter = "ln.bias", smx.init = "zeros"},
      %wseq: tensor<4x4xf32> {smx.parameter = "mix.seq", smx.init = "normal"},
      %whid: tensor<8x8xf32> {smx.parameter = "mix.hid", smx.init = "normal"},
      %w: tensor<8x3xf32> {smx.parameter = "cls.weight", smx.init = "normal"},
      %b: tensor<3xf32> {smx.parameter = "cls.bias", smx.init = "zeros"},
      %unused: tensor<3xf32> {smx.parameter = "unused", smx.init = "zeros"})
      -> (tensor<f32> {smx.output = "classifier_loss", smx.loss = 1.0 : f64}, tensor<2x3xf32> {smx.output = "logits"}) {
    %e = smx.embedding_lookup <word> %emb[%ids] : tensor<10x8xf32>, tensor<2x4xi32> -> tensor<2x4x8xf32>
    %n = smx.layer_norm %e, %scale, %bias epsilon = 1.0e-12 : tensor<2x4x8xf32>, tensor<8xf32>, tensor<8xf32>
    %d = smx.dropout %n, %step rate = 0.1 seed = 3 : tensor<2x4x8xf32>
    %m = mix.linear %d, %wseq, %whid : tensor<2x4x8xf32>, tensor<4x4xf32>, tensor<8x8xf32>
    %r = smx.residual_add %m, %d : tensor<2x4x8xf32>
    %s = tensor.extract_slice %r[0, 0, 0] [2, 1, 8] [1, 1, 1] : tensor<2x4x8xf32> to tensor<2x1x8xf32>
    %c = tensor.collapse_shape %s [[0, 1], [2]] : tensor<2x1x8xf32> into tensor<2x8xf32>
    %a = smx.activation <tanh> %c : tensor<2x8xf32>
    %logits = smx.dense %a, %w, %b : tensor<2x8xf32>, tensor<8x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
    %loss = smx.cross_entropy %logits, %labels ignore_index = -100 : tensor<2x3xf32>, tensor<2xi32>
    return %loss, %logits : tensor<f32>, tensor<2x3xf32>
  }
}

// -----

// Two weighted loss terms: the total is their weighted sum, and each seed
// is its weight.
// CHECK-LABEL: func.func @train_step
// CHECK:       %[[W:.*]] = arith.constant dense<9.99999974E-5> : tensor<f32>
// CHECK:       %[[SCALED:.*]] = arith.mulf %{{.*}}, %[[W]] : tensor<f32>
// CHECK:       %[[TOTAL:.*]] = arith.addf %{{.*}}, %[[SCALED]] : tensor<f32>
// CHECK:       return {{.*}}, %[[TOTAL]],
module {
  func.func @forward(%x: tensor<4x8xf32> {smx.input = "x"}, %labels: tensor<4xi32> {smx.input = "labels"}, %step: i64 {smx.input = "step"},
      %w: tensor<8x2xf32> {smx.parameter = "w", smx.init = "normal"})
      -> (tensor<f32> {smx.output = "ce", smx.loss = 1.0 : f64}, tensor<f32> {smx.output = "aux", smx.loss = 1.0e-4 : f64}) {
    %logits = smx.dense %x, %w : tensor<4x8xf32>, tensor<8x2xf32> -> tensor<4x2xf32>
    %ce = smx.cross_entropy %logits, %labels ignore_index = -100 : tensor<4x2xf32>, tensor<4xi32>
    %aux = smx.cross_entropy %logits, %labels ignore_index = -100 : tensor<4x2xf32>, tensor<4xi32>
    return %ce, %aux : tensor<f32>, tensor<f32>
  }
}

// -----

module {
  // expected-error @+1 {{has no result marked smx.loss}}
  func.func @forward(%x: tensor<4x8xf32> {smx.input = "x"}, %step: i64 {smx.input = "step"},
      %w: tensor<8x2xf32> {smx.parameter = "w"}) -> tensor<4x2xf32> {
    %y = smx.dense %x, %w : tensor<4x8xf32>, tensor<8x2xf32> -> tensor<4x2xf32>
    return %y : tensor<4x2xf32>
  }
}

// -----

module {
  // expected-error @+1 {{has no i64 argument with smx.input = "step"}}
  func.func @forward(%x: tensor<4x8xf32> {smx.input = "x"}, %labels: tensor<4xi32> {smx.input = "labels"},
      %w: tensor<8x2xf32> {smx.parameter = "w"}) -> (tensor<f32> {smx.loss = 1.0 : f64}) {
    %y = smx.dense %x, %w : tensor<4x8xf32>, tensor<8x2xf32> -> tensor<4x2xf32>
    %l = smx.cross_entropy %y, %labels ignore_index = -100 : tensor<4x2xf32>, tensor<4xi32>
    return %l : tensor<f32>
  }
}

// -----

module {
  func.func @forward(%x: tensor<4x8xf32> {smx.input = "x"}, %labels: tensor<4xi32> {smx.input = "labels"}, %step: i64 {smx.input = "step"},
      %w: tensor<8x2xf32> {smx.parameter = "w"}) -> (tensor<f32> {smx.loss = 1.0 : f64}) {
    %y = smx.dense %x, %w : tensor<4x8xf32>, tensor<8x2xf32> -> tensor<4x2xf32>
    // expected-error @+1 {{'math.exp' op is on the path from the parameters to the loss but has no gradient}}
    %z = math.exp %y : tensor<4x2xf32>
    %l = smx.cross_entropy %z, %labels ignore_index = -100 : tensor<4x2xf32>, tensor<4xi32>
    return %l : tensor<f32>
  }
}

// -----

module {
  func.func @forward(%x: tensor<4x8xf32> {smx.input = "x"}, %labels: tensor<4xi32> {smx.input = "labels"}, %step: i64 {smx.input = "step"},
      %w: tensor<8x2xf32> {smx.parameter = "w"}) -> (tensor<f32> {smx.loss = 1.0 : f64}) {
    // expected-error @+1 {{has a fused activation, whose input the gradient needs; build the train step before smx-fuse}}
    %y = smx.dense %x, %w activation = <gelu_tanh> : tensor<4x8xf32>, tensor<8x2xf32> -> tensor<4x2xf32>
    %l = smx.cross_entropy %y, %labels ignore_index = -100 : tensor<4x2xf32>, tensor<4xi32>
    return %l : tensor<f32>
  }
}
