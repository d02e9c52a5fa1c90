// RUN: smx-opt %s -split-input-file --convert-mix-to-linalg --cse -verify-diagnostics | FileCheck %s

// Linear mixing: X·W_hid on the 16 flattened tokens, then W_seq·Y batched
// over the 2 sequences (outer stride 8·16 = 128 into Y and the result,
// W_seq broadcast with stride 0).
// CHECK-LABEL: func @linear
//                                     outer     inner     m         n         k
// CHECK: call @smxrt_cpu_sgemm_memref(%c1_i64, %c1_i64, %c16_i64, %c16_i64, %c16_i64, %c0_i64, %c0_i64, %c0_i64,
// CHECK: call @smxrt_cpu_sgemm_memref(%c2_i64, %c1_i64, %c8_i64, %c16_i64, %c8_i64, %c0_i64, %c0_i64, %c0_i64, %{{.*}}, %c0_i64, %c8_i64, %c0_i64, %c0_i64, %{{.*}}, %c0_i64, %c16_i64, %c128_i64, %c0_i64, %{{.*}}, %c0_i64, %c16_i64, %c128_i64, %c0_i64)
func.func @linear(%x: tensor<2x8x16xf32>, %ws: tensor<8x8xf32>, %wh: tensor<16x16xf32>) -> tensor<2x8x16xf32> {
  %y = mix.linear %x, %ws, %wh : tensor<2x8x16xf32>, tensor<8x8xf32>, tensor<16x16xf32>
  return %y : tensor<2x8x16xf32>
}

// -----

// Fourier: cosine and sine matrices from the reduced angle 2π(jk mod n)/n,
// X·C_d and X·S_d, then C_L·A and, accumulated, (−S_L)·B.
// CHECK-LABEL: func @fourier
// CHECK: tensor.generate
// CHECK: arith.muli
// CHECK: arith.remui
// CHECK: math.cos
// CHECK: math.sin
// CHECK: call @smxrt_cpu_sgemm_memref(%c1_i64, %c1_i64, %c16_i64, %c4_i64, %c4_i64, %c0_i64, %c0_i64, %c0_i64,
// CHECK: call @smxrt_cpu_sgemm_memref(%c1_i64, %c1_i64, %c16_i64, %c4_i64, %c4_i64, %c0_i64, %c0_i64, %c0_i64,
// CHECK: call @smxrt_cpu_sgemm_memref(%c2_i64, %c1_i64, %c8_i64, %c4_i64, %c8_i64, %c0_i64, %c0_i64, %c0_i64,
// CHECK: memref.copy
// CHECK: call @smxrt_cpu_sgemm_memref(%c2_i64, %c1_i64, %c8_i64, %c4_i64, %c8_i64, %c0_i64, %c0_i64, %c1_i64,
func.func @fourier(%x: tensor<2x8x4xf32>) -> tensor<2x8x4xf32> {
  %y = mix.fourier %x : tensor<2x8x4xf32>
  return %y : tensor<2x8x4xf32>
}

// -----

// Attention with 4 heads of width 4: scores batched over (batch, head) with
// K transposed, straight from the [B, L, d] buffers (outer stride 128, inner
// stride 4, leading dimension 16); masked pad keys; softmax; P·V written
// into the head's columns of the result.
// CHECK-LABEL: func @attention
// CHECK: call @smxrt_cpu_sgemm_memref(%c2_i64, %c4_i64, %c8_i64, %c8_i64, %c4_i64, %c0_i64, %c1_i64, %c0_i64, %[[Q:.*]], %c0_i64, %c16_i64, %c128_i64, %c4_i64, %[[Q]], %c0_i64, %c16_i64, %c128_i64, %c4_i64, %{{.*}}, %c0_i64, %c8_i64, %c256_i64, %c64_i64)
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %arg1 : tensor<2x4x8x8xf32>, tensor<2x8xi1>)
// CHECK: arith.select
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.divf
// CHECK: call @smxrt_cpu_sgemm_memref(%c2_i64, %c4_i64, %c8_i64, %c4_i64, %c8_i64, %c0_i64, %c0_i64, %c0_i64, %{{.*}}, %c0_i64, %c8_i64, %c256_i64, %c64_i64, %[[Q]], %c0_i64, %c16_i64, %c128_i64, %c4_i64, %{{.*}}, %c0_i64, %c16_i64, %c128_i64, %c4_i64)
func.func @attention(%q: tensor<2x8x16xf32>, %mask: tensor<2x8xi1>) -> tensor<2x8x16xf32> {
  %y = mix.self_attention %q, %q, %q, %mask heads = 4 : tensor<2x8x16xf32>, tensor<2x8xi1>
  return %y : tensor<2x8x16xf32>
}

// -----

// Attention dropout: the probabilities go through the counter-based mask
// (seed and step mixed in) before the P·V GEMM.
// CHECK-LABEL: func.func @attention_dropout
// CHECK:       math.exp
// CHECK:       arith.muli %{{.*}}, %{{.*}} : i64
// CHECK:       linalg.generic
// CHECK:         arith.cmpf oge
// CHECK:         arith.select
// CHECK:       call @smxrt_cpu_sgemm_memref(
func.func @attention_dropout(%q: tensor<2x8x16xf32>, %mask: tensor<2x8xi1>, %step: i64) -> tensor<2x8x16xf32> {
  %y = mix.self_attention %q, %q, %q, %mask heads = 4 dropout(0.1, seed = 1, step = %step) : tensor<2x8x16xf32>, tensor<2x8xi1>
  return %y : tensor<2x8x16xf32>
}
