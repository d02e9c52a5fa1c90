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

// Attention one batch entry at a time: a loop over the 2 entries whose body
// holds one entry's [4, 8, 8] scores (never the batch's [2, 4, 8, 8]). The
// GEMMs read the 4 heads of Q, K, V in place at the entry's offset
// b·8·16 = b·128 (inner stride d_h = 4, leading dimension 16); P·V writes
// the entry's [1, 8, 16] block, inserted at row b.
// CHECK-LABEL: func @attention
// CHECK:      scf.for %[[B:.*]] = %c0 to %c2 step %c1 iter_args(%[[ACC:.*]] = %{{.*}}) -> (tensor<2x8x16xf32>)
// CHECK:        %[[POS:.*]] = arith.index_cast %[[B]] : index to i64
// CHECK:        %[[OFF:.*]] = arith.muli %[[POS]], %c128_i64 : i64
//                                                outer    inner    m        n        k
// CHECK:        call @smxrt_cpu_sgemm_memref(%c1_i64, %c4_i64, %c8_i64, %c8_i64, %c4_i64, %c0_i64, %c1_i64, %c0_i64, %[[Q:.*]], %[[OFF]], %c16_i64, %c0_i64, %c4_i64, %[[Q]], %[[OFF]], %c16_i64, %c0_i64, %c4_i64, %{{.*}}, %c0_i64, %c8_i64, %c0_i64, %c64_i64)
// CHECK:        %[[ROW:.*]] = tensor.extract_slice %arg1[%[[B]], 0] [1, 8] [1, 1] : tensor<2x8xi1> to tensor<8xi1>
// CHECK:        linalg.generic {{.*}} ins(%{{.*}}, %[[ROW]] : tensor<4x8x8xf32>, tensor<8xi1>)
// CHECK:          arith.select
// CHECK:        arith.maximumf
// CHECK:        math.exp
// CHECK:        arith.divf
// CHECK:        call @smxrt_cpu_sgemm_memref(%c1_i64, %c4_i64, %c8_i64, %c4_i64, %c8_i64, %c0_i64, %c0_i64, %c0_i64, %{{.*}}, %c0_i64, %c8_i64, %c0_i64, %c64_i64, %[[Q]], %[[OFF]], %c16_i64, %c0_i64, %c4_i64, %[[OUT:.*]], %c0_i64, %c16_i64, %c0_i64, %c4_i64)
// CHECK:        %[[BLOCK:.*]] = bufferization.to_tensor %{{.*}} restrict writable : memref<1x8x16xf32> to tensor<1x8x16xf32>
// CHECK:        %[[NEXT:.*]] = tensor.insert_slice %[[BLOCK]] into %[[ACC]][%[[B]], 0, 0] [1, 8, 16] [1, 1, 1]
// CHECK:        scf.yield %[[NEXT]]
func.func @attention(%q: tensor<2x8x16xf32>, %mask: tensor<2x8xi1>) -> tensor<2x8x16xf32> {
  %y = mix.self_attention %q, %q, %q, %mask heads = 4 : tensor<2x8x16xf32>, tensor<2x8xi1>
  return %y : tensor<2x8x16xf32>
}

// -----

// Attention dropout: the probabilities go through the counter-based mask
// (seed and step mixed in) before the P·V GEMM. An entry's counters start at
// its first score's index in the batch's [2, 4, 8, 8]: b·4·8·8 = b·256, so
// the mask is the one of the whole batch's scores.
// CHECK-LABEL: func.func @attention_dropout
// CHECK:       scf.for %[[B:.*]] = %c0 to %c2
// CHECK:         %[[FIRST:.*]] = arith.muli %[[B]], %c256 : index
// CHECK:         math.exp
// CHECK:         arith.muli %{{.*}}, %{{.*}} : i64
// CHECK:         linalg.generic
// CHECK:           linalg.index 2 : index
// CHECK-NEXT:      %[[LOCAL:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:      arith.addi %[[LOCAL]], %[[FIRST]] : index
// CHECK:           arith.cmpf oge
// CHECK:           arith.select
// CHECK:         call @smxrt_cpu_sgemm_memref(
func.func @attention_dropout(%q: tensor<2x8x16xf32>, %mask: tensor<2x8xi1>, %step: i64) -> tensor<2x8x16xf32> {
  %y = mix.self_attention %q, %q, %q, %mask heads = 4 dropout(0.1, seed = 1, step = %step) : tensor<2x8x16xf32>, tensor<2x8xi1>
  return %y : tensor<2x8x16xf32>
}
