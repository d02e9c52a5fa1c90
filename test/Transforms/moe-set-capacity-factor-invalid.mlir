// RUN: smx-opt %s -split-input-file --moe-set-capacity-factor=capacity-factor=2.0 -verify-diagnostics

// A called function cannot change its result types: its callers would no
// longer match.
func.func @route_result_returned(%probs: tensor<8192x16xf32>) -> tensor<2x16x256xi32> {
  %indices, %weights = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x256xi32>, tensor<2x16x256xf32>
  // expected-error @+1 {{'func.return' op cannot be retyped for a new expert capacity: function @route_result_returned is called, and its callers would no longer match its results}}
  return %indices : tensor<2x16x256xi32>
}

func.func @caller(%probs: tensor<8192x16xf32>) -> tensor<2x16x256xi32> {
  %0 = func.call @route_result_returned(%probs) : (tensor<8192x16xf32>) -> tensor<2x16x256xi32>
  return %0 : tensor<2x16x256xi32>
}
