// RUN: smx-opt %s --split-input-file --verify-diagnostics | smx-opt | FileCheck %s

// CHECK-LABEL: func.func @gradient_ops
func.func @gradient_ops(%x: tensor<2x4x8xf32>, %dy: tensor<2x4x8xf32>, %scale: tensor<8xf32>,
                        %ids: tensor<2x4xi32>, %positions: tensor<2x3xi32>, %dm: tensor<2x3x8xf32>,
                        %logits: tensor<2x5xf32>, %labels: tensor<2xi32>, %dloss: tensor<f32>) {
  // CHECK: smx.activation_grad <gelu_tanh> %{{.*}}, %{{.*}} : tensor<2x4x8xf32>
  %0 = smx.activation_grad <gelu_tanh> %x, %dy : tensor<2x4x8xf32>
  // CHECK: smx.layer_norm_grad %{{.*}}, %{{.*}}, %{{.*}} residual %{{.*}} epsilon = 9.9999999999999998E-13 : tensor<2x4x8xf32>, tensor<8xf32>, tensor<2x4x8xf32>
  %1:3 = smx.layer_norm_grad %x, %scale, %dy residual %x epsilon = 1.0e-12 : tensor<2x4x8xf32>, tensor<8xf32>, tensor<2x4x8xf32>
  // CHECK: smx.dense_weight_grad %{{.*}}, %{{.*}} transpose_weight : tensor<2x4x8xf32>, tensor<2x4x8xf32> -> tensor<8x8xf32>
  %2 = smx.dense_weight_grad %x, %dy transpose_weight : tensor<2x4x8xf32>, tensor<2x4x8xf32> -> tensor<8x8xf32>
  // CHECK: smx.sum_leading %{{.*}} : tensor<2x4x8xf32> -> tensor<8xf32>
  %3 = smx.sum_leading %dy : tensor<2x4x8xf32> -> tensor<8xf32>
  // CHECK: smx.embedding_grad %{{.*}}[%{{.*}}] : tensor<2x4x8xf32>, tensor<2x4xi32> -> tensor<100x8xf32>
  %4 = smx.embedding_grad %dy[%ids] : tensor<2x4x8xf32>, tensor<2x4xi32> -> tensor<100x8xf32>
  // CHECK: smx.scatter_positions %{{.*}}[%{{.*}}] : tensor<2x3x8xf32>, tensor<2x3xi32> -> tensor<2x4x8xf32>
  %5 = smx.scatter_positions %dm[%positions] : tensor<2x3x8xf32>, tensor<2x3xi32> -> tensor<2x4x8xf32>
  // CHECK: smx.softmax_grad %{{.*}}, %{{.*}} dimension = 2 : tensor<2x4x8xf32>
  %6 = smx.softmax_grad %x, %dy dimension = 2 : tensor<2x4x8xf32>
  // CHECK: smx.cross_entropy_grad %{{.*}}, %{{.*}}, %{{.*}} ignore_index = -100 : tensor<2x5xf32>, tensor<2xi32>, tensor<f32>
  %7 = smx.cross_entropy_grad %logits, %labels, %dloss ignore_index = -100 : tensor<2x5xf32>, tensor<2xi32>, tensor<f32>
  // CHECK: smx.cross_entropy_grad %{{.*}}, %{{.*}}, %{{.*}} weights %{{.*}} ignore_index = 0 : tensor<2x5xf32>, tensor<2xi32>, tensor<f32>, tensor<2xf32>
  %w = arith.constant dense<1.0> : tensor<2xf32>
  %9 = smx.cross_entropy_grad %logits, %labels, %dloss weights %w ignore_index = 0 : tensor<2x5xf32>, tensor<2xi32>, tensor<f32>, tensor<2xf32>
  // CHECK: smx.global_norm %{{.*}}, %{{.*}} : tensor<2x4x8xf32>, tensor<8xf32> -> tensor<f32>
  %8 = smx.global_norm %0, %3 : tensor<2x4x8xf32>, tensor<8xf32> -> tensor<f32>
  return
}

// -----

func.func @dense_weight_grad_rows(%x: tensor<2x4x8xf32>, %dy: tensor<2x5x3xf32>) {
  // expected-error @+1 {{'smx.dense_weight_grad' op (C1): expected result_grad leading dimensions of shape [2, 4], got 'tensor<2x5xf32>'}}
  %0 = smx.dense_weight_grad %x, %dy : tensor<2x4x8xf32>, tensor<2x5x3xf32> -> tensor<8x3xf32>
  return
}

// -----

func.func @embedding_grad_width(%dy: tensor<2x4x8xf32>, %ids: tensor<2x4xi32>) {
  // expected-error @+1 {{'smx.embedding_grad' op (C1): expected result_grad of shape [2, 4, 16], got 'tensor<2x4x8xf32>'}}
  %0 = smx.embedding_grad %dy[%ids] : tensor<2x4x8xf32>, tensor<2x4xi32> -> tensor<100x16xf32>
  return
}

// -----

func.func @scatter_positions_rank(%dm: tensor<2x3x8xf32>, %positions: tensor<2x3xi32>) {
  // expected-error @+1 {{'smx.scatter_positions' op (C1): expected an input [B, P, D] and a result [B, L, D]}}
  %0 = smx.scatter_positions %dm[%positions] : tensor<2x3x8xf32>, tensor<2x3xi32> -> tensor<2x4xf32>
  return
}

// -----

func.func @layer_norm_grad_scale(%x: tensor<2x4x8xf32>, %dy: tensor<2x4x8xf32>, %scale: tensor<4xf32>) {
  // expected-error @+1 {{'smx.layer_norm_grad' op (C1): expected scale of shape [8], got 'tensor<4xf32>'}}
  %0:3 = smx.layer_norm_grad %x, %scale, %dy epsilon = 1.0e-12 : tensor<2x4x8xf32>, tensor<4xf32>
  return
}

// -----

func.func @softmax_grad_dimension(%p: tensor<2x4xf32>) {
  // expected-error @+1 {{'smx.softmax_grad' op (C1): dimension 2 is out of range for a result of rank 2}}
  %0 = smx.softmax_grad %p, %p dimension = 2 : tensor<2x4xf32>
  return
}
