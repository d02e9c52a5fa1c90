// RUN: smx-opt %s --split-input-file --convert-moe-to-linalg | FileCheck %s

// Each routing policy reaches the runtime's route kernel with its code of
// the compiler-runtime contract (smxrt_routing_policy_t in
// runtime/include/smx_runtime/model_abi.h; the values never change), its k
// and its batch-prioritized flag, all asked of the policy attribute.
// The first three kernel arguments: policy code, k, batch_prioritized.

// CHECK-LABEL: func @experts_choose
// CHECK: call @smxrt_cpu_route_memref({{%c0_i64[_0-9]*}}, {{%c1_i64[_0-9]*}}, {{%c0_i64[_0-9]*}},
func.func @experts_choose(%probs: tensor<8x4xf32>) -> (tensor<1x4x4xi32>, tensor<1x4x4xf32>) {
  %indices, %weights = moe.route %probs policy = #moe.experts_choose
      capacity_factor = 2.0 group_size = 8
      : tensor<8x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return %indices, %weights : tensor<1x4x4xi32>, tensor<1x4x4xf32>
}

// -----

// CHECK-LABEL: func @tokens_choose
// CHECK: call @smxrt_cpu_route_memref({{%c1_i64[_0-9]*}}, {{%c2_i64[_0-9]*}}, {{%c1_i64[_0-9]*}},
func.func @tokens_choose(%probs: tensor<8x4xf32>) -> (tensor<1x4x4xi32>, tensor<1x4x4xf32>) {
  %indices, %weights = moe.route %probs
      policy = #moe.tokens_choose<k = 2, batch_prioritized>
      capacity_factor = 2.0 group_size = 8
      : tensor<8x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return %indices, %weights : tensor<1x4x4xi32>, tensor<1x4x4xf32>
}

// -----

// CHECK-LABEL: func @capped_experts_choose
// CHECK: call @smxrt_cpu_route_memref({{%c2_i64[_0-9]*}}, {{%c3_i64[_0-9]*}}, {{%c0_i64[_0-9]*}},
func.func @capped_experts_choose(%probs: tensor<8x4xf32>) -> (tensor<1x4x4xi32>, tensor<1x4x4xf32>) {
  %indices, %weights = moe.route %probs
      policy = #moe.capped_experts_choose<k = 3>
      capacity_factor = 2.0 group_size = 8
      : tensor<8x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return %indices, %weights : tensor<1x4x4xi32>, tensor<1x4x4xf32>
}

// -----

// CHECK-LABEL: func @hash
// CHECK: call @smxrt_cpu_route_memref({{%c3_i64[_0-9]*}}, {{%c1_i64[_0-9]*}}, {{%c0_i64[_0-9]*}},
func.func @hash(%probs: tensor<8x4xf32>, %ids: tensor<8xi32>) -> (tensor<1x4x4xi32>, tensor<1x4x4xf32>) {
  %indices, %weights = moe.route %probs token_ids %ids policy = #moe.hash
      capacity_factor = 2.0 group_size = 8
      : tensor<8x4xf32>, tensor<8xi32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return %indices, %weights : tensor<1x4x4xi32>, tensor<1x4x4xf32>
}

// -----

// capped_experts_choose's lp method runs on its own kernel: k, iterations,
// entropy, then the group shape (groups, tokens per group, experts,
// capacity); no token ids.

// CHECK-LABEL: func @capped_experts_choose_lp
// CHECK-DAG: %[[K:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[ITERATIONS:.*]] = arith.constant 20 : i64
// CHECK-DAG: %[[ENTROPY:.*]] = arith.constant 5.000000e-02 : f64
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[EIGHT:.*]] = arith.constant 8 : i64
// CHECK: call @smxrt_cpu_route_capped_lp_memref(%[[K]], %[[ITERATIONS]], %[[ENTROPY]], %[[ONE]], %[[EIGHT]], {{%c4_i64[_0-9]*}}, {{%c4_i64[_0-9]*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i64, i64, f64, i64, i64, i64, i64, memref<*xf32>, memref<*xi32>, memref<*xf32>) -> ()
// CHECK-NOT: smxrt_cpu_route_memref
func.func @capped_experts_choose_lp(%probs: tensor<8x4xf32>) -> (tensor<1x4x4xi32>, tensor<1x4x4xf32>) {
  %indices, %weights = moe.route %probs
      policy = #moe.capped_experts_choose<k = 2, lp, iterations = 20, entropy = 0.05>
      capacity_factor = 2.0 group_size = 8
      : tensor<8x4xf32> -> tensor<1x4x4xi32>, tensor<1x4x4xf32>
  return %indices, %weights : tensor<1x4x4xi32>, tensor<1x4x4xf32>
}
