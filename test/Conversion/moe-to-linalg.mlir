// RUN: smx-opt %s --convert-moe-to-linalg --cse | FileCheck %s

// 16 tokens in 2 groups of 8, 4 experts, capacity 4, width 8, experts 32
// wide.
// CHECK-LABEL: func @moe
// Router: a GEMM, the bias, an f32 softmax over experts.
// CHECK: call @smxrt_cpu_sgemm_memref(%c1_i64, %c1_i64, %c16_i64, %c4_i64, %c8_i64,
// CHECK: math.exp
// CHECK: arith.divf
// Route: the runtime kernel with (policy 1 = tokens_choose, k 2, batch
// prioritized, 2 groups, 8 tokens per group, 4 experts, capacity 4).
// CHECK: call @smxrt_cpu_route_memref(%c1_i64, %c2_i64, %c1_i64, %c2_i64, %c8_i64, %c4_i64, %c4_i64, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i64, i64, i64, i64, i64, i64, i64, memref<*xf32>, memref<*xi32>, memref<*xi32>, memref<*xf32>) -> ()
// Dispatch: a gather that zeroes empty slots.
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x4x4xi32>) outs(%{{.*}} : tensor<2x4x4x8xf32>)
// CHECK: arith.cmpi sge
// CHECK: arith.maxsi
// CHECK: tensor.extract %arg0
// CHECK: arith.select
// Experts: GEMMs batched over (group, expert), weights broadcast over groups
// (outer stride 0, inner stride 8·32), each with its bias and activation.
// CHECK: call @smxrt_cpu_sgemm_memref(%c2_i64, %c4_i64, %c4_i64, %c32_i64, %c8_i64, %c0_i64, %c0_i64, %c0_i64, %{{.*}}, %c0_i64, %c8_i64, %c128_i64, %c32_i64, %{{.*}}, %c0_i64, %c32_i64, %c0_i64, %c256_i64, %{{.*}}, %c0_i64, %c32_i64, %c512_i64, %c128_i64)
// CHECK: arith.maximumf
// CHECK: call @smxrt_cpu_sgemm_memref(%c2_i64, %c4_i64, %c4_i64, %c8_i64, %c32_i64,
// Combine: a scatter-add over the filled slots.
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.for
// CHECK: scf.if
// CHECK: scf.for
// CHECK: tensor.insert
// Router z-loss: logsumexp, squared, averaged.
// CHECK: math.log
// Load balance: expert ranks, top-k membership, per-group sums.
// CHECK: iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<16x4xf32>, tensor<16x4xf32>)
// CHECK: tensor.expand_shape {{.*}} output_shape [2, 8, 4]
// Expert load: filled slots per expert; coverage by a walk over the slots.
// CHECK: iterator_types = ["reduction", "parallel", "reduction"]} ins(%{{.*}} : tensor<2x4x4xi32>) outs(%{{.*}} : tensor<4xi64>)
// CHECK: scf.for
// CHECK-NOT: moe.
func.func @moe(%x: tensor<16x8xf32>, %w: tensor<8x4xf32>, %b: tensor<4xf32>,
               %w1: tensor<4x8x32xf32>, %b1: tensor<4x32xf32>, %w2: tensor<4x32x8xf32>, %b2: tensor<4x8xf32>)
    -> (tensor<16x8xf32>, tensor<f32>, tensor<f32>, tensor<4xi64>, tensor<f32>) {
  %logits, %probs = moe.router %x, %w, %b : tensor<16x8xf32>, tensor<8x4xf32>, tensor<4xf32> -> tensor<16x4xf32>, tensor<16x4xf32>
  %i, %cw = moe.route %probs policy = #moe.tokens_choose<k = 2, batch_prioritized> capacity_factor = 2.0 group_size = 8 : tensor<16x4xf32> -> tensor<2x4x4xi32>, tensor<2x4x4xf32>
  %s = moe.dispatch %x[%i] : tensor<16x8xf32>, tensor<2x4x4xi32> -> tensor<2x4x4x8xf32>
  %e = moe.expert_ffn %s, %w1, %b1, %w2, %b2 activation = <relu> : tensor<2x4x4x8xf32>, tensor<4x8x32xf32>, tensor<4x32xf32>, tensor<4x32x8xf32>, tensor<4x8xf32>
  %y = moe.combine %e[%i], %cw : tensor<2x4x4x8xf32>, tensor<2x4x4xi32>, tensor<2x4x4xf32> -> tensor<16x8xf32>
  %z = moe.router_z_loss %logits : tensor<16x4xf32>
  %lb = moe.load_balance_loss %probs top_k = 2 groups = 2 : tensor<16x4xf32>
  %load, %dropped = moe.expert_load %i for %probs : tensor<2x4x4xi32>, tensor<16x4xf32>
  return %y, %z, %lb, %load, %dropped : tensor<16x8xf32>, tensor<f32>, tensor<f32>, tensor<4xi64>, tensor<f32>
}
