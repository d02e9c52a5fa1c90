// Round trip of every smx op and attribute: custom form -> custom form, and
// generic form -> custom form, print the same.
// RUN: smx-opt %s | smx-opt | FileCheck %s
// RUN: smx-opt %s --mlir-print-op-generic | smx-opt | FileCheck %s

// CHECK-LABEL: func @embeddings
func.func @embeddings(%words: tensor<30522x768xf32>, %positions: tensor<512x768xf32>,
                      %types: tensor<4x768xbf16>, %ids: tensor<8x512xi32>,
                      %type_ids: tensor<?x?xi64>) -> tensor<8x512x768xf32> {
  // CHECK: smx.embedding_lookup <word> %{{.*}}[%{{.*}}] : tensor<30522x768xf32>, tensor<8x512xi32> -> tensor<8x512x768xf32>
  %w = smx.embedding_lookup <word> %words[%ids] : tensor<30522x768xf32>, tensor<8x512xi32> -> tensor<8x512x768xf32>
  // CHECK: smx.embedding_lookup <position> %{{.*}}[%{{.*}}] : tensor<512x768xf32>, tensor<8x512xi32> -> tensor<8x512x768xf32>
  %p = smx.embedding_lookup <position> %positions[%ids] : tensor<512x768xf32>, tensor<8x512xi32> -> tensor<8x512x768xf32>
  // CHECK: smx.embedding_lookup <type> %{{.*}}[%{{.*}}] : tensor<4x768xbf16>, tensor<?x?xi64> -> tensor<?x?x768xbf16>
  %t = smx.embedding_lookup <type> %types[%type_ids] : tensor<4x768xbf16>, tensor<?x?xi64> -> tensor<?x?x768xbf16>
  return %w : tensor<8x512x768xf32>
}

// CHECK-LABEL: func @dense
func.func @dense(%x: tensor<8x512x768xf32>, %w: tensor<768x3072xf32>, %b: tensor<3072xf32>,
                 %table: tensor<30522x768xf32>, %flat: tensor<?x768xf32>) -> tensor<8x512x3072xf32> {
  // CHECK: smx.dense %{{.*}}, %{{.*}}, %{{.*}} : tensor<8x512x768xf32>, tensor<768x3072xf32>, tensor<3072xf32> -> tensor<8x512x3072xf32>
  %y = smx.dense %x, %w, %b : tensor<8x512x768xf32>, tensor<768x3072xf32>, tensor<3072xf32> -> tensor<8x512x3072xf32>
  // CHECK: smx.dense %{{.*}}, %{{.*}} : tensor<?x768xf32>, tensor<768x3072xf32> -> tensor<?x3072xf32>
  %n = smx.dense %flat, %w : tensor<?x768xf32>, tensor<768x3072xf32> -> tensor<?x3072xf32>
  // CHECK: smx.dense %{{.*}}, %{{.*}} transpose_weight : tensor<?x768xf32>, tensor<30522x768xf32> -> tensor<?x30522xf32>
  %logits = smx.dense %flat, %table transpose_weight : tensor<?x768xf32>, tensor<30522x768xf32> -> tensor<?x30522xf32>
  // CHECK: smx.dense %{{.*}}, %{{.*}}, %{{.*}} activation = <gelu_tanh> : tensor<8x512x768xf32>, tensor<768x3072xf32>, tensor<3072xf32> -> tensor<8x512x3072xf32>
  %act = smx.dense %x, %w, %b activation = <gelu_tanh> : tensor<8x512x768xf32>, tensor<768x3072xf32>, tensor<3072xf32> -> tensor<8x512x3072xf32>
  return %y : tensor<8x512x3072xf32>
}

// CHECK-LABEL: func @elementwise
func.func @elementwise(%x: tensor<8x512x768xf32>, %scale: tensor<768xf32>, %bias: tensor<768xf32>,
                       %step: i64) -> tensor<8x512x768xf32> {
  // CHECK: smx.layer_norm %{{.*}}, %{{.*}}, %{{.*}} epsilon = 9.9999999999999998E-13 : tensor<8x512x768xf32>, tensor<768xf32>, tensor<768xf32>
  %n = smx.layer_norm %x, %scale, %bias epsilon = 1.0e-12 : tensor<8x512x768xf32>, tensor<768xf32>, tensor<768xf32>
  // CHECK: smx.layer_norm %{{.*}} + %{{.*}}, %{{.*}}, %{{.*}} epsilon = 9.9999999999999998E-13 : tensor<8x512x768xf32> + tensor<8x512x768xf32>, tensor<768xf32>, tensor<768xf32>
  %fused = smx.layer_norm %x + %x, %scale, %bias epsilon = 1.0e-12 : tensor<8x512x768xf32> + tensor<8x512x768xf32>, tensor<768xf32>, tensor<768xf32>
  // CHECK: smx.activation <gelu_tanh> %{{.*}} : tensor<8x512x768xf32>
  %a = smx.activation <gelu_tanh> %n : tensor<8x512x768xf32>
  // CHECK: smx.activation <gelu> %{{.*}} : tensor<8x512x768xf32>
  %b = smx.activation <gelu> %a : tensor<8x512x768xf32>
  // CHECK: smx.activation <relu> %{{.*}} : tensor<8x512x768xf32>
  %c = smx.activation <relu> %b : tensor<8x512x768xf32>
  // CHECK: smx.activation <tanh> %{{.*}} : tensor<8x512x768xf32>
  %d = smx.activation <tanh> %c : tensor<8x512x768xf32>
  // CHECK: smx.dropout %{{.*}}, %{{.*}} rate = 1.000000e-01 seed = 7 : tensor<8x512x768xf32>
  %e = smx.dropout %d, %step rate = 0.1 seed = 7 : tensor<8x512x768xf32>
  // CHECK: smx.residual_add %{{.*}}, %{{.*}} : tensor<8x512x768xf32>
  %f = smx.residual_add %e, %x : tensor<8x512x768xf32>
  // CHECK: smx.softmax %{{.*}} dimension = 2 : tensor<8x512x768xf32>
  %g = smx.softmax %f dimension = 2 : tensor<8x512x768xf32>
  return %g : tensor<8x512x768xf32>
}

// CHECK-LABEL: func @heads
func.func @heads(%h: tensor<8x512x768xf32>, %positions: tensor<8x80xi32>,
                 %logits: tensor<8x80x30522xf32>, %labels: tensor<8x80xi32>,
                 %weights: tensor<8x80xf32>, %pair_logits: tensor<8x2xbf16>,
                 %pair_labels: tensor<8xi64>) -> (tensor<8x80x768xf32>, tensor<f32>, tensor<f32>) {
  // CHECK: smx.gather_positions %{{.*}}[%{{.*}}] : tensor<8x512x768xf32>, tensor<8x80xi32> -> tensor<8x80x768xf32>
  %m = smx.gather_positions %h[%positions] : tensor<8x512x768xf32>, tensor<8x80xi32> -> tensor<8x80x768xf32>
  // CHECK: smx.cross_entropy %{{.*}}, %{{.*}} weights %{{.*}} ignore_index = -100 : tensor<8x80x30522xf32>, tensor<8x80xi32>, tensor<8x80xf32>
  %mlm = smx.cross_entropy %logits, %labels weights %weights ignore_index = -100 : tensor<8x80x30522xf32>, tensor<8x80xi32>, tensor<8x80xf32>
  // CHECK: smx.cross_entropy %{{.*}}, %{{.*}} ignore_index = -1 : tensor<8x2xbf16>, tensor<8xi64>
  %pair = smx.cross_entropy %pair_logits, %pair_labels ignore_index = -1 : tensor<8x2xbf16>, tensor<8xi64>
  return %m, %mlm, %pair : tensor<8x80x768xf32>, tensor<f32>, tensor<f32>
}

// CHECK-LABEL: func @optimizer
func.func @optimizer(%p: tensor<768x768xf32>, %g: tensor<768x768xf32>, %m: tensor<768x768xf32>,
                     %v: tensor<768x768xf32>, %step: i64, %peak: f32, %warmup: i64, %total: i64) -> (tensor<768x768xf32>, tensor<768x768xf32>, tensor<768x768xf32>) {
  // CHECK: smx.lr_schedule <linear_warmup_linear_decay> %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : f32
  %lr = smx.lr_schedule <linear_warmup_linear_decay> %step, %peak, %warmup, %total : f32
  // CHECK: smx.lr_schedule <linear_warmup_constant> %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : f32
  %lr2 = smx.lr_schedule <linear_warmup_constant> %step, %peak, %warmup, %total : f32
  // CHECK: smx.adamw_update %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} beta1 = 9.000000e-01 beta2 = 0.99899999999999999 epsilon = 9.9999999999999995E-7 weight_decay = 1.000000e-02 : tensor<768x768xf32>
  %p1, %m1, %v1 = smx.adamw_update %p, %g, %m, %v, %lr, %step beta1 = 0.9 beta2 = 0.999 epsilon = 1.0e-6 weight_decay = 0.01 : tensor<768x768xf32>
  return %p1, %m1, %v1 : tensor<768x768xf32>, tensor<768x768xf32>, tensor<768x768xf32>
}
