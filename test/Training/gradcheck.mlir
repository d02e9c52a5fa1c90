// Every gradient rule against central finite differences (smx-gradcheck:
// random inputs in [-1, 1], random result cotangents, f32, h = 1e-2; an
// argument passes when its largest |gradient - difference| is at most 1e-3
// of its largest gradient).
// RUN: smx-gradcheck %s --seed 7 | FileCheck %s
// The check can fail: with no tolerance for rounding it does, and says so.
// RUN: not smx-gradcheck %s --seed 7 --tolerance 0 | FileCheck %s --check-prefix=STRICT
// CHECK-NOT: FAIL
// STRICT: @dense argument 0 {{.*}}: FAIL

// CHECK: @dense argument 0 tensor<2x3x5xf32>: {{.*}}: ok
// CHECK: @dense argument 1 tensor<5x4xf32>: {{.*}}: ok
// CHECK: @dense argument 2 tensor<4xf32>: {{.*}}: ok
func.func @dense(%x: tensor<2x3x5xf32>, %w: tensor<5x4xf32>, %b: tensor<4xf32>) -> tensor<2x3x4xf32> {
  %y = smx.dense %x, %w, %b : tensor<2x3x5xf32>, tensor<5x4xf32>, tensor<4xf32> -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// CHECK: @dense_transposed argument 1 tensor<4x5xf32>: {{.*}}: ok
func.func @dense_transposed(%x: tensor<3x5xf32>, %w: tensor<4x5xf32>) -> tensor<3x4xf32> {
  %y = smx.dense %x, %w transpose_weight : tensor<3x5xf32>, tensor<4x5xf32> -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// CHECK: @activations argument 0 tensor<4x6xf32>: {{.*}}: ok
func.func @activations(%x: tensor<4x6xf32>) -> (tensor<4x6xf32>, tensor<4x6xf32>, tensor<4x6xf32>, tensor<4x6xf32>) {
  %a = smx.activation <gelu_tanh> %x : tensor<4x6xf32>
  %b = smx.activation <gelu> %x : tensor<4x6xf32>
  %c = smx.activation <tanh> %x : tensor<4x6xf32>
  // ReLU away from its kink: x + 2 > 0.
  %two = arith.constant dense<2.0> : tensor<4x6xf32>
  %shifted = arith.addf %x, %two : tensor<4x6xf32>
  %d = smx.activation <relu> %shifted : tensor<4x6xf32>
  return %a, %b, %c, %d : tensor<4x6xf32>, tensor<4x6xf32>, tensor<4x6xf32>, tensor<4x6xf32>
}

// CHECK: @layer_norm argument 0 tensor<2x3x8xf32>: {{.*}}: ok
// CHECK: @layer_norm argument 1 tensor<2x3x8xf32>: {{.*}}: ok
// CHECK: @layer_norm argument 2 tensor<8xf32>: {{.*}}: ok
// CHECK: @layer_norm argument 3 tensor<8xf32>: {{.*}}: ok
func.func @layer_norm(%x: tensor<2x3x8xf32>, %r: tensor<2x3x8xf32>, %scale: tensor<8xf32>, %bias: tensor<8xf32>) -> (tensor<2x3x8xf32>, tensor<2x3x8xf32>) {
  %y = smx.layer_norm %x, %scale, %bias epsilon = 1.0e-12 : tensor<2x3x8xf32>, tensor<8xf32>, tensor<8xf32>
  %z = smx.layer_norm %x + %r, %scale, %bias epsilon = 1.0e-12 : tensor<2x3x8xf32> + tensor<2x3x8xf32>, tensor<8xf32>, tensor<8xf32>
  return %y, %z : tensor<2x3x8xf32>, tensor<2x3x8xf32>
}

// CHECK: @dropout_residual argument 0 tensor<4x8xf32>: {{.*}}: ok
// CHECK: @dropout_residual argument 1 tensor<4x8xf32>: {{.*}}: ok
func.func @dropout_residual(%x: tensor<4x8xf32>, %r: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %step = arith.constant 3 : i64
  %d = smx.dropout %x, %step rate = 0.25 seed = 11 : tensor<4x8xf32>
  %y = smx.residual_add %d, %r : tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// CHECK: @softmax argument 0 tensor<3x5xf32>: {{.*}}: ok
func.func @softmax(%x: tensor<3x5xf32>) -> (tensor<3x5xf32>, tensor<3x5xf32>) {
  %a = smx.softmax %x dimension = 1 : tensor<3x5xf32>
  %b = smx.softmax %x dimension = 0 : tensor<3x5xf32>
  return %a, %b : tensor<3x5xf32>, tensor<3x5xf32>
}

// Repeated ids and positions: their gradients add up.
// CHECK: @embedding_and_positions argument 0 tensor<6x4xf32>: {{.*}}: ok
func.func @embedding_and_positions(%table: tensor<6x4xf32>) -> tensor<2x3x4xf32> {
  %ids = arith.constant dense<[[1, 5, 1, 0], [2, 2, 3, 4]]> : tensor<2x4xi32>
  %e = smx.embedding_lookup <word> %table[%ids] : tensor<6x4xf32>, tensor<2x4xi32> -> tensor<2x4x4xf32>
  %positions = arith.constant dense<[[0, 2, 2], [3, 1, 0]]> : tensor<2x3xi32>
  %g = smx.gather_positions %e[%positions] : tensor<2x4x4xf32>, tensor<2x3xi32> -> tensor<2x3x4xf32>
  return %g : tensor<2x3x4xf32>
}

// Weights, an ignored label and the mean over counted rows.
// CHECK: @cross_entropy argument 0 tensor<2x3x5xf32>: {{.*}}: ok
// CHECK: @cross_entropy argument 1 tensor<4x3xf32>: {{.*}}: ok
func.func @cross_entropy(%logits: tensor<2x3x5xf32>, %other: tensor<4x3xf32>) -> (tensor<f32>, tensor<f32>) {
  %labels = arith.constant dense<[[0, 4, -100], [2, 2, 1]]> : tensor<2x3xi32>
  %weights = arith.constant dense<[[1.0, 0.5, 1.0], [0.0, 1.0, 2.0]]> : tensor<2x3xf32>
  %a = smx.cross_entropy %logits, %labels weights %weights ignore_index = -100 : tensor<2x3x5xf32>, tensor<2x3xi32>, tensor<2x3xf32>
  %other_labels = arith.constant dense<[0, 1, 2, 1]> : tensor<4xi32>
  %b = smx.cross_entropy %other, %other_labels ignore_index = -100 : tensor<4x3xf32>, tensor<4xi32>
  return %a, %b : tensor<f32>, tensor<f32>
}

// CHECK: @linear_mixing argument 0 tensor<2x4x3xf32>: {{.*}}: ok
// CHECK: @linear_mixing argument 1 tensor<4x4xf32>: {{.*}}: ok
// CHECK: @linear_mixing argument 2 tensor<3x3xf32>: {{.*}}: ok
func.func @linear_mixing(%x: tensor<2x4x3xf32>, %ws: tensor<4x4xf32>, %wh: tensor<3x3xf32>) -> tensor<2x4x3xf32> {
  %y = mix.linear %x, %ws, %wh : tensor<2x4x3xf32>, tensor<4x4xf32>, tensor<3x3xf32>
  return %y : tensor<2x4x3xf32>
}

// CHECK: @transforms argument 0 tensor<2x4x6xf32>: {{.*}}: ok
func.func @transforms(%x: tensor<2x4x6xf32>) -> (tensor<2x4x6xf32>, tensor<2x4x6xf32>) {
  %f = mix.fourier %x : tensor<2x4x6xf32>
  %h = mix.hartley %x : tensor<2x4x6xf32>
  return %f, %h : tensor<2x4x6xf32>, tensor<2x4x6xf32>
}

// The pooler's slice and the reshapes around MoE layers.
// CHECK: @reshapes_and_slice argument 0 tensor<2x4x3xf32>: {{.*}}: ok
func.func @reshapes_and_slice(%x: tensor<2x4x3xf32>) -> (tensor<2x3xf32>, tensor<2x4x3xf32>) {
  %s = tensor.extract_slice %x[0, 0, 0] [2, 1, 3] [1, 1, 1] : tensor<2x4x3xf32> to tensor<2x1x3xf32>
  %c = tensor.collapse_shape %s [[0, 1], [2]] : tensor<2x1x3xf32> into tensor<2x3xf32>
  %flat = tensor.collapse_shape %x [[0, 1], [2]] : tensor<2x4x3xf32> into tensor<8x3xf32>
  %back = tensor.expand_shape %flat [[0, 1], [2]] output_shape [2, 4, 3] : tensor<8x3xf32> into tensor<2x4x3xf32>
  return %c, %back : tensor<2x3xf32>, tensor<2x4x3xf32>
}

// The regression head's loss.
// CHECK: @mean_squared_error argument 0 tensor<6xf32>: {{.*}}: ok
// CHECK: @mean_squared_error argument 1 tensor<6xf32>: {{.*}}: ok
func.func @mean_squared_error(%p: tensor<6xf32>, %t: tensor<6xf32>) -> tensor<f32> {
  %l = smx.mean_squared_error %p, %t : tensor<6xf32>
  return %l : tensor<f32>
}

// Structured mixings: the matrix gradients summed into the parameters
// each matrix reads.
// CHECK: @circulant argument 0 tensor<2x4x3xf32>: {{.*}}: ok
// CHECK: @circulant argument 1 tensor<4xf32>: {{.*}}: ok
// CHECK: @circulant argument 2 tensor<3xf32>: {{.*}}: ok
func.func @circulant(%x: tensor<2x4x3xf32>, %s: tensor<4xf32>, %h: tensor<3xf32>) -> tensor<2x4x3xf32> {
  %y = mix.circulant %x, %s, %h : tensor<2x4x3xf32>, tensor<4xf32>, tensor<3xf32>
  return %y : tensor<2x4x3xf32>
}

// CHECK: @toeplitz argument 0 tensor<2x4x3xf32>: {{.*}}: ok
// CHECK: @toeplitz argument 1 tensor<7xf32>: {{.*}}: ok
// CHECK: @toeplitz argument 2 tensor<5xf32>: {{.*}}: ok
func.func @toeplitz(%x: tensor<2x4x3xf32>, %s: tensor<7xf32>, %h: tensor<5xf32>) -> tensor<2x4x3xf32> {
  %y = mix.toeplitz %x, %s, %h : tensor<2x4x3xf32>, tensor<7xf32>, tensor<5xf32>
  return %y : tensor<2x4x3xf32>
}
