// RUN: smx-opt %s --split-input-file --smx-shard-batch="dp=2 ep=2" --verify-diagnostics | FileCheck %s
// RUN: smx-opt %s --split-input-file --smx-shard-batch="dp=2 ep=2" --smx-build-train-step --verify-diagnostics | FileCheck %s --check-prefix=STEP

// Each device computes its share of every loss and metric: the masked
// cross-entropy divides by the count of the whole grid, the other mean is
// divided by the 4 devices, and the integer count stays as it is.

// CHECK:       shard.grid @grid(shape = 2x2)
// CHECK-LABEL: func.func @forward
// CHECK:       %[[CE:.*]] = smx.cross_entropy %{{.*}}, %{{.*}} weights %{{.*}} ignore_index = -100 count_over @grid grid_axes = [0, 1]
// CHECK:       %[[MSE:.*]] = smx.mean_squared_error
// CHECK:       %[[QUARTER:.*]] = arith.constant dense<2.500000e-01> : tensor<f32>
// CHECK:       %[[SHARE:.*]] = arith.mulf %[[MSE]], %[[QUARTER]] : tensor<f32>
// CHECK:       return %[[CE]], %[[SHARE]], %{{.*}}, %{{.*}} :

// The train step differentiates the shares and sums over the grid: each
// gradient before the norm, the total loss and each reported result. Sums
// of one element type over the same axes share one all-reduce (a bucket):
// the lone gradient goes alone; the loss and the two f32 results are
// packed into a [3] bucket and sliced back; the i64 count goes alone.
// STEP-LABEL: func.func @train_step
// STEP:       smx.cross_entropy_grad {{.*}} count_over @grid grid_axes = [0, 1]
// STEP:       %[[DW:.*]] = shard.all_reduce %{{.*}} on @grid grid_axes = [0, 1] : tensor<8x2xf32> -> tensor<8x2xf32>
// STEP:       %[[EMPTY:.*]] = tensor.empty() : tensor<3xf32>
// STEP:       %[[L1:.*]] = tensor.expand_shape %{{.*}} [] output_shape [1] : tensor<f32> into tensor<1xf32>
// STEP:       %[[B1:.*]] = tensor.insert_slice %[[L1]] into %[[EMPTY]][0] [1] [1]
// STEP:       %[[B2:.*]] = tensor.insert_slice %{{.*}} into %[[B1]][1] [1] [1]
// STEP:       %[[B3:.*]] = tensor.insert_slice %{{.*}} into %[[B2]][2] [1] [1]
// STEP:       %[[SUMS:.*]] = shard.all_reduce %[[B3]] on @grid grid_axes = [0, 1] : tensor<3xf32> -> tensor<3xf32>
// STEP:       %[[S0:.*]] = tensor.extract_slice %[[SUMS]][0] [1] [1]
// STEP:       %[[LOSS:.*]] = tensor.collapse_shape %[[S0]] [] : tensor<1xf32> into tensor<f32>
// STEP:       %[[S1:.*]] = tensor.extract_slice %[[SUMS]][1] [1] [1]
// STEP:       %[[CE:.*]] = tensor.collapse_shape %[[S1]] []
// STEP:       %[[S2:.*]] = tensor.extract_slice %[[SUMS]][2] [1] [1]
// STEP:       %[[MSE:.*]] = tensor.collapse_shape %[[S2]] []
// STEP:       %[[COUNT:.*]] = shard.all_reduce %{{.*}} on @grid grid_axes = [0, 1] : tensor<3xi64> -> tensor<3xi64>
// STEP:       smx.global_norm %[[DW]] :
// STEP:       return {{.*}}, %[[LOSS]], %{{.*}}, %{{.*}}, %[[CE]], %[[MSE]], %[[COUNT]] :
module {
  func.func @forward(%x: tensor<4x8xf32> {smx.input = "x"}, %labels: tensor<4xi32> {smx.input = "labels"},
      %mask: tensor<4xf32> {smx.input = "weights"}, %target: tensor<4x2xf32> {smx.input = "target"},
      %step: i64 {smx.input = "step"},
      %w: tensor<8x2xf32> {smx.parameter = "w", smx.init = "normal"})
      -> (tensor<f32> {smx.output = "ce", smx.loss = 1.0 : f64}, tensor<f32> {smx.output = "mse", smx.loss = 0.5 : f64},
          tensor<3xi64> {smx.output = "count", smx.metric}, tensor<4x2xf32> {smx.output = "logits"}) {
    %logits = smx.dense %x, %w : tensor<4x8xf32>, tensor<8x2xf32> -> tensor<4x2xf32>
    %ce = smx.cross_entropy %logits, %labels weights %mask ignore_index = -100 : tensor<4x2xf32>, tensor<4xi32>, tensor<4xf32>
    %mse = smx.mean_squared_error %logits, %target : tensor<4x2xf32>
    %count = arith.constant dense<[1, 2, 3]> : tensor<3xi64>
    return %ce, %mse, %count, %logits : tensor<f32>, tensor<f32>, tensor<3xi64>, tensor<4x2xf32>
  }
}

// -----

module {
  // expected-error @+1 {{result 0 (hidden) is a loss or metric of type 'tensor<4x2xf32>', which smx-shard-batch cannot split}}
  func.func @forward(%x: tensor<4x8xf32> {smx.input = "x"}, %step: i64 {smx.input = "step"},
      %w: tensor<8x2xf32> {smx.parameter = "w"}) -> (tensor<4x2xf32> {smx.output = "hidden", smx.metric}) {
    %y = smx.dense %x, %w : tensor<4x8xf32>, tensor<8x2xf32> -> tensor<4x2xf32>
    return %y : tensor<4x2xf32>
  }
}

// -----

// expected-error @+1 {{smx-shard-batch: the module already has a grid @grid}}
module {
  shard.grid @grid(shape = 2x1)
  func.func @forward(%x: tensor<4x8xf32> {smx.input = "x"}) -> tensor<4x8xf32> {
    return %x : tensor<4x8xf32>
  }
}

// -----

// Noise draws the numbers of this device's block of the unsharded tensor:
// its counters start at the device's index times the numbers it draws
// (2·8 = 16 for the dropout, 2·2·8·8 = 256 attention probabilities).
// CHECK-LABEL: func.func @forward
// CHECK:       %[[INDEX:.*]] = shard.process_linear_index on @grid : index
// CHECK:       %[[INDEX64:.*]] = arith.index_cast %[[INDEX]] : index to i64
// CHECK:       %[[DROPPED:.*]] = arith.constant 16 : i64
// CHECK:       %[[FIRST:.*]] = arith.muli %[[INDEX64]], %[[DROPPED]] : i64
// CHECK:       smx.dropout %{{.*}}, %{{.*}} rate = 1.000000e-01 seed = 1 offset %[[FIRST]] : tensor<2x8xf32>
// CHECK:       %[[PROBABILITIES:.*]] = arith.constant 256 : i64
// CHECK:       %[[FIRST_P:.*]] = arith.muli %[[INDEX64]], %[[PROBABILITIES]] : i64
// CHECK:       mix.self_attention {{.*}} dropout(1.000000e-01, seed = 2, step = %{{.*}}, offset = %[[FIRST_P]])
module {
  func.func @forward(%x: tensor<2x8xf32> {smx.input = "x"}, %h: tensor<2x8x8xf32> {smx.input = "h"},
      %mask: tensor<2x8xi1> {smx.input = "mask"}, %step: i64 {smx.input = "step"},
      %w: tensor<8x8xf32> {smx.parameter = "w"})
      -> (tensor<f32> {smx.output = "loss", smx.loss = 1.0 : f64}, tensor<2x8x8xf32> {smx.output = "a"}) {
    %y = smx.dropout %x, %step rate = 0.1 seed = 1 : tensor<2x8xf32>
    %a = mix.self_attention %h, %h, %h, %mask heads = 2 dropout(0.1, seed = 2, step = %step) : tensor<2x8x8xf32>, tensor<2x8xi1>
    %z = smx.dense %y, %w : tensor<2x8xf32>, tensor<8x8xf32> -> tensor<2x8xf32>
    %loss = smx.mean_squared_error %z, %x : tensor<2x8xf32>
    return %loss, %a : tensor<f32>, tensor<2x8x8xf32>
  }
}
