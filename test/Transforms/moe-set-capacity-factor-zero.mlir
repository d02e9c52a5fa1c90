// The capacity factor must be set, and positive; the option defaults to 0.
// RUN: smx-opt %s --moe-set-capacity-factor=capacity-factor=0 -verify-diagnostics
// RUN: smx-opt %s --moe-set-capacity-factor -verify-diagnostics

// expected-error @+1 {{moe-set-capacity-factor: capacity-factor must be positive, got 0.000000e+00}}
module {
  func.func @route(%probs: tensor<8192x16xf32>) {
    %indices, %weights = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x256xi32>, tensor<2x16x256xf32>
    return
  }
}
