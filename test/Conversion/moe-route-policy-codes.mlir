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
