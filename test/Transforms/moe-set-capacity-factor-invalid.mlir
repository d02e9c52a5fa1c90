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

// -----

// moe.all_to_all checks its result shape against its grid, which the pass
// checks too: it cannot retype the exchange.
shard.grid @grid(shape = 4)

func.func @route_result_exchanged(%x: tensor<8192x512xf32>, %probs: tensor<8192x16xf32>) -> tensor<8x4x256x512xf32> {
  %indices, %weights = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x256xi32>, tensor<2x16x256xf32>
  %slots = moe.dispatch %x[%indices] : tensor<8192x512xf32>, tensor<2x16x256xi32> -> tensor<2x16x256x512xf32>
  // expected-error @+1 {{'moe.all_to_all' op cannot be retyped for a new expert capacity: it does not infer its result types, and with the new operand types: 'moe.all_to_all' op (C5): expected result of shape [8, 4, 512, 512], got 'tensor<8x4x256x512xf32>'}}
  %exchanged = moe.all_to_all %slots on @grid grid_axes = [0] split_axis = 1 concat_axis = 0 : tensor<2x16x256x512xf32> -> tensor<8x4x256x512xf32>
  return %exchanged : tensor<8x4x256x512xf32>
}
