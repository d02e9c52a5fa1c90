// RUN: smx-opt %s -split-input-file --convert-smx-to-linalg --cse | FileCheck %s

// A dense layer is a runtime GEMM on the input flattened to a matrix, read
// through read-only buffers into a fresh result, plus a bias epilogue.
// CHECK: func.func private @smxrt_cpu_sgemm_memref(i64, i64, i64, i64, i64, i64, i64, i64, memref<*xf32>, i64, i64, i64, i64, memref<*xf32>, i64, i64, i64, i64, memref<*xf32>, i64, i64, i64, i64)
// CHECK-LABEL: func @dense
// CHECK: %[[FLAT:.*]] = tensor.collapse_shape %arg0 {{\[}}[0, 1], [2]] : tensor<2x8x16xf32> into tensor<16x16xf32>
// CHECK: %[[A:.*]] = bufferization.to_buffer %[[FLAT]] read_only
// CHECK: %[[B:.*]] = bufferization.to_buffer %arg1 read_only
// CHECK: %[[C:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16x32xf32>
//                                     outer     inner     m         n         k         transA   transB   accumulate
// CHECK: call @smxrt_cpu_sgemm_memref(%c1_i64, %c1_i64, %c16_i64, %c32_i64, %c16_i64, %c0_i64, %c0_i64, %c0_i64,
// CHECK: %[[PRODUCT:.*]] = bufferization.to_tensor %[[C]] restrict writable
// CHECK: %[[BIASED:.*]] = linalg.generic {{.*}} ins(%[[PRODUCT]], %arg2 : tensor<16x32xf32>, tensor<32xf32>)
// CHECK: arith.addf
// CHECK: tensor.expand_shape %[[BIASED]] {{\[}}[0, 1], [2]] output_shape [2, 8, 32]
func.func @dense(%x: tensor<2x8x16xf32>, %w: tensor<16x32xf32>, %b: tensor<32xf32>) -> tensor<2x8x32xf32> {
  %y = smx.dense %x, %w, %b : tensor<2x8x16xf32>, tensor<16x32xf32>, tensor<32xf32> -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

// The tied MLM projection reads the word table transposed (transB = 1,
// leading dimension 16).
// CHECK-LABEL: func @dense_transposed
// CHECK: call @smxrt_cpu_sgemm_memref(%c1_i64, %c1_i64, %c4_i64, %c100_i64, %c16_i64, %c0_i64, %c1_i64, %c0_i64, %{{.*}}, %c0_i64, %c16_i64, %c0_i64, %c0_i64, %{{.*}}, %c0_i64, %c16_i64, %c0_i64, %c0_i64, %{{.*}}, %c0_i64, %c100_i64, %c0_i64, %c0_i64)
// CHECK-NOT: linalg.generic
func.func @dense_transposed(%x: tensor<4x16xf32>, %table: tensor<100x16xf32>) -> tensor<4x100xf32> {
  %y = smx.dense %x, %table transpose_weight : tensor<4x16xf32>, tensor<100x16xf32> -> tensor<4x100xf32>
  return %y : tensor<4x100xf32>
}

// -----

// CHECK-LABEL: func @embedding
// CHECK: linalg.generic {{.*}} ins(%arg1 : tensor<2x8xi32>) outs(%{{.*}} : tensor<2x8x16xf32>)
// CHECK: ^bb0(%[[ID:.*]]: i32, %{{.*}}: f32):
// CHECK: %[[COLUMN:.*]] = linalg.index 2 : index
// CHECK: %[[ROW:.*]] = arith.index_cast %[[ID]] : i32 to index
// CHECK: tensor.extract %arg0[%[[ROW]], %[[COLUMN]]] : tensor<100x16xf32>
func.func @embedding(%table: tensor<100x16xf32>, %ids: tensor<2x8xi32>) -> tensor<2x8x16xf32> {
  %e = smx.embedding_lookup <word> %table[%ids] : tensor<100x16xf32>, tensor<2x8xi32> -> tensor<2x8x16xf32>
  return %e : tensor<2x8x16xf32>
}

// -----

// Layer norm: a sum, a sum of squared deviations (two passes), then the
// normalization with rsqrt, scale and bias.
// CHECK-LABEL: func @layer_norm
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%arg0 : tensor<8x16xf32>)
// CHECK: %[[SQUARES:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%arg0, %[[SUM]] : tensor<8x16xf32>, tensor<8xf32>)
// CHECK: arith.mulf
// CHECK: linalg.generic {{.*}} ins(%arg0, %[[SUM]], %[[SQUARES]], %arg1, %arg2 :
// CHECK: math.rsqrt
func.func @layer_norm(%x: tensor<8x16xf32>, %scale: tensor<16xf32>, %bias: tensor<16xf32>) -> tensor<8x16xf32> {
  %y = smx.layer_norm %x, %scale, %bias epsilon = 1.0e-12 : tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>
  return %y : tensor<8x16xf32>
}

// -----

// CHECK-LABEL: func @activations
// CHECK: linalg.generic
// CHECK: math.tanh
// CHECK: linalg.generic
// CHECK: math.erf
// CHECK: linalg.generic
// CHECK: arith.maximumf
// CHECK: linalg.generic
// CHECK: arith.addf
func.func @activations(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %a = smx.activation <gelu_tanh> %x : tensor<8x16xf32>
  %b = smx.activation <gelu> %a : tensor<8x16xf32>
  %c = smx.activation <relu> %b : tensor<8x16xf32>
  %d = smx.residual_add %c, %x : tensor<8x16xf32>
  return %d : tensor<8x16xf32>
}

// -----

// Softmax along dimension 0: max and sum reduce dimension 0; the
// exponentials are computed once, for the sum and the quotient.
// CHECK-DAG: #[[REDUCED:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @softmax
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]}
// CHECK: arith.maximumf
// CHECK: %[[EXP:.*]] = linalg.generic {indexing_maps = [#{{.*}}, #[[REDUCED]], #{{.*}}]{{.*}} ins(%{{.*}}, %[[MAX]] :
// CHECK: math.exp
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%[[EXP]] :
// CHECK-NOT: math.exp
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[REDUCED]], #{{.*}}]{{.*}} ins(%[[EXP]], %[[SUM]] :
// CHECK-NOT: math.exp
// CHECK: arith.divf
func.func @softmax(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %y = smx.softmax %x dimension = 0 : tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func @gather_positions
// CHECK: linalg.generic {{.*}} ins(%arg1 : tensor<2x3xi32>) outs(%{{.*}} : tensor<2x3x16xf32>)
// CHECK: tensor.extract %arg0[%{{.*}}, %{{.*}}, %{{.*}}] : tensor<2x8x16xf32>
func.func @gather_positions(%h: tensor<2x8x16xf32>, %p: tensor<2x3xi32>) -> tensor<2x3x16xf32> {
  %m = smx.gather_positions %h[%p] : tensor<2x8x16xf32>, tensor<2x3xi32> -> tensor<2x3x16xf32>
  return %m : tensor<2x3x16xf32>
}

// -----

// Fused forms: the activation epilogue after the bias, and the residual sum
// feeding the normalization.
// CHECK-LABEL: func @fused
// CHECK: call @smxrt_cpu_sgemm_memref
// CHECK: arith.addf
// CHECK: linalg.generic
// CHECK: math.tanh
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%arg0, %arg0 : tensor<4x16xf32>, tensor<4x16xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]} ins(%[[SUM]] : tensor<4x16xf32>)
func.func @fused(%x: tensor<4x16xf32>, %w: tensor<16x16xf32>, %b: tensor<16xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>) {
  %d = smx.dense %x, %w, %b activation = <tanh> : tensor<4x16xf32>, tensor<16x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %n = smx.layer_norm %x + %x, %b, %b epsilon = 1.0e-12 : tensor<4x16xf32> + tensor<4x16xf32>, tensor<16xf32>, tensor<16xf32>
  return %d, %n : tensor<4x16xf32>, tensor<4x16xf32>
}
