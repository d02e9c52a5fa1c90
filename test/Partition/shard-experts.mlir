// RUN: smx-opt %s --split-input-file --smx-shard-batch="dp=2 ep=2" --smx-shard-experts --verify-diagnostics | FileCheck %s
// RUN: smx-opt %s --split-input-file --smx-shard-batch="dp=2 ep=2" --smx-shard-experts --smx-build-train-step="max-grad-norm=1.0" --verify-diagnostics | FileCheck %s --check-prefix=STEP
// RUN: smx-opt %s --split-input-file --smx-shard-batch="dp=2 ep=2" --smx-shard-experts --smx-build-train-step="grad-bucket-mib=0" --verify-diagnostics | FileCheck %s --check-prefix=NOBUCKET
// RUN: smx-opt %s --split-input-file --smx-shard-batch="dp=2 ep=2" --smx-shard-experts --smx-build-train-step="overlap-grad-sums=true" --verify-diagnostics | FileCheck %s --check-prefix=OVERLAP

// Every router policy gives the same partitioned layer: routing, dispatch
// and combine stay on the device; the slots go to their experts' device and
// back. (The frontend's IR of each policy's sample.)
// RUN: smxc %smx_src_root/samples/tiny_sm.yaml --task=pretrain --emit=smx -o - | smx-opt --smx-shard-batch="dp=1 ep=2" --smx-shard-experts | FileCheck %s --check-prefix=EC
// RUN: smxc %smx_src_root/samples/tiny/tiny_tokens_choose.yaml --task=pretrain --emit=smx -o - | smx-opt --smx-shard-batch="dp=1 ep=2" --smx-shard-experts | FileCheck %s --check-prefix=TC
// RUN: smxc %smx_src_root/samples/tiny/tiny_capped_experts_choose.yaml --task=pretrain --emit=smx -o - | smx-opt --smx-shard-batch="dp=1 ep=2" --smx-shard-experts | FileCheck %s --check-prefix=CAPPED
// RUN: smxc %smx_src_root/samples/tiny/tiny_hash.yaml --task=pretrain --emit=smx -o - | smx-opt --smx-shard-batch="dp=1 ep=2" --smx-shard-experts | FileCheck %s --check-prefix=HASH

// EC:     smx.parameter = "layers.1.moe.experts.input.weight", smx.shard_axes = array<i16: 1>
// EC:     moe.route %{{.*}} policy = #moe.experts_choose
// EC:     %[[SLOTS:.*]] = moe.dispatch {{.*}} -> tensor<1x4x32x64xf32>
// EC:     %[[MINE:.*]] = moe.all_to_all %[[SLOTS]] on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<1x4x32x64xf32> -> tensor<2x2x32x64xf32>
// EC:     %[[OUT:.*]] = moe.expert_ffn %[[MINE]], {{.*}} : tensor<2x2x32x64xf32>, tensor<2x64x128xf32>, tensor<2x128xf32>, tensor<2x128x64xf32>, tensor<2x64xf32>
// EC:     %[[BACK:.*]] = moe.all_to_all %[[OUT]] on @grid grid_axes = [1] split_axis = 0 concat_axis = 1 : tensor<2x2x32x64xf32> -> tensor<1x4x32x64xf32>
// EC:     moe.combine %[[BACK]][

// TC:     moe.route %{{.*}} policy = #moe.tokens_choose<k = 2, batch_prioritized>
// TC:     %[[SLOTS:.*]] = moe.dispatch {{.*}} -> tensor<2x4x5x32xf32>
// TC:     %[[MINE:.*]] = moe.all_to_all %[[SLOTS]] on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x4x5x32xf32> -> tensor<4x2x5x32xf32>
// TC:     %[[OUT:.*]] = moe.expert_ffn %[[MINE]],
// TC:     %[[BACK:.*]] = moe.all_to_all %[[OUT]] on @grid grid_axes = [1] split_axis = 0 concat_axis = 1 : tensor<4x2x5x32xf32> -> tensor<2x4x5x32xf32>
// TC:     moe.combine %[[BACK]][

// CAPPED: moe.route %{{.*}} policy = #moe.capped_experts_choose<k = 2>
// CAPPED: %[[SLOTS:.*]] = moe.dispatch {{.*}} -> tensor<1x4x8x32xf32>
// CAPPED: %[[MINE:.*]] = moe.all_to_all %[[SLOTS]] on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<1x4x8x32xf32> -> tensor<2x2x8x32xf32>
// CAPPED: %[[OUT:.*]] = moe.expert_ffn %[[MINE]],
// CAPPED: %[[BACK:.*]] = moe.all_to_all %[[OUT]] on @grid grid_axes = [1] split_axis = 0 concat_axis = 1
// CAPPED: moe.combine %[[BACK]][

// HASH:   moe.route %{{.*}} token_ids %{{.*}} policy = #moe.hash
// HASH:   %[[SLOTS:.*]] = moe.dispatch {{.*}} -> tensor<1x4x8x32xf32>
// HASH:   %[[MINE:.*]] = moe.all_to_all %[[SLOTS]] on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<1x4x8x32xf32> -> tensor<2x2x8x32xf32>
// HASH:   %[[OUT:.*]] = moe.expert_ffn %[[MINE]],
// HASH:   %[[BACK:.*]] = moe.all_to_all %[[OUT]] on @grid grid_axes = [1] split_axis = 0 concat_axis = 1
// HASH:   moe.combine %[[BACK]][

// The expert weights become this device's 2 of 4 experts, marked as split
// over axis 1 (ep); the other parameter stays whole.
// CHECK-LABEL: func.func @forward
// CHECK-SAME:  %[[W1:[^:]*]]: tensor<2x8x16xf32> {smx.init = "normal", smx.parameter = "experts.input.weight", smx.shard_axes = array<i16: 1>}
// CHECK-SAME:  tensor<2x16xf32> {{[^}]*}}smx.shard_axes = array<i16: 1>}
// CHECK-SAME:  tensor<2x16x8xf32> {{[^}]*}}smx.shard_axes = array<i16: 1>}
// CHECK-SAME:  tensor<2x8xf32> {{[^}]*}}smx.shard_axes = array<i16: 1>}
// CHECK-SAME:  tensor<8x2xf32> {smx.init = "normal", smx.parameter = "head.weight"})
// CHECK:       %[[MINE:.*]] = moe.all_to_all %arg0 on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x4x3x8xf32> -> tensor<4x2x3x8xf32>
// CHECK:       %[[OUT:.*]] = moe.expert_ffn %[[MINE]], %[[W1]], {{.*}} : tensor<4x2x3x8xf32>, tensor<2x8x16xf32>, tensor<2x16xf32>, tensor<2x16x8xf32>, tensor<2x8xf32>
// CHECK:       %[[BACK:.*]] = moe.all_to_all %[[OUT]] on @grid grid_axes = [1] split_axis = 0 concat_axis = 1 : tensor<4x2x3x8xf32> -> tensor<2x4x3x8xf32>
// CHECK:       moe.combine %[[BACK]][%arg1], %arg2

// The backward pass exchanges the gradients the other way; the expert
// gradients are summed over dp (axis 0) alone, the head's over the whole
// grid; the global norm adds the experts' squares over ep.
// STEP-LABEL: func.func @train_step
// STEP:       %[[BACK:.*]] = moe.all_to_all %{{.*}} split_axis = 0 concat_axis = 1
// STEP:       %[[DBACK:.*]], %{{.*}} = moe.combine_grad %[[BACK]]
// STEP:       %[[DOUT:.*]] = moe.all_to_all %[[DBACK]] on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x4x3x8xf32> -> tensor<4x2x3x8xf32>
// STEP:       %{{.*}}, %[[DW1:.*]], %[[DB1:.*]], %[[DW2:.*]], %[[DB2:.*]] = moe.expert_ffn_grad {{.*}}, %[[DOUT]] activation
// The expert gradients travel in one bucket of 2·8·16 + 2·16 + 2·16·8 +
// 2·8 = 560 floats.
// STEP:       %[[FW1:.*]] = tensor.collapse_shape %[[DW1]] {{\[}}[0, 1, 2]] : tensor<2x8x16xf32> into tensor<256xf32>
// STEP:       tensor.insert_slice %[[FW1]] into %{{.*}}[0] [256] [1] : tensor<256xf32> into tensor<560xf32>
// STEP:       %[[FB1:.*]] = tensor.collapse_shape %[[DB1]] {{\[}}[0, 1]] : tensor<2x16xf32> into tensor<32xf32>
// STEP:       tensor.insert_slice %[[FB1]] into %{{.*}}[256] [32] [1]
// STEP:       tensor.insert_slice %{{.*}} into %{{.*}}[288] [256] [1]
// STEP:       %[[BUCKET:.*]] = tensor.insert_slice %{{.*}} into %{{.*}}[544] [16] [1]
// STEP:       %[[EXPERTSUM:.*]] = shard.all_reduce %[[BUCKET]] on @grid grid_axes = [0] : tensor<560xf32>
// STEP:       %[[PW1:.*]] = tensor.extract_slice %[[EXPERTSUM]][0] [256] [1]
// STEP:       %[[SW1:.*]] = tensor.expand_shape %[[PW1]] {{\[}}[0, 1, 2]] output_shape [2, 8, 16]
// STEP:       %[[PB1:.*]] = tensor.extract_slice %[[EXPERTSUM]][256] [32] [1]
// STEP:       %[[SB1:.*]] = tensor.expand_shape %[[PB1]]
// STEP:       %[[PW2:.*]] = tensor.extract_slice %[[EXPERTSUM]][288] [256] [1]
// STEP:       %[[SW2:.*]] = tensor.expand_shape %[[PW2]]
// STEP:       %[[PB2:.*]] = tensor.extract_slice %[[EXPERTSUM]][544] [16] [1]
// STEP:       %[[SB2:.*]] = tensor.expand_shape %[[PB2]]
// STEP:       %[[SHEAD:.*]] = shard.all_reduce %{{.*}} on @grid grid_axes = [0, 1] : tensor<8x2xf32>
// STEP:       %[[HEAD:.*]] = smx.global_norm %[[SHEAD]] :
// STEP:       %[[HEAD2:.*]] = arith.mulf %[[HEAD]], %[[HEAD]]
// STEP:       %[[EXPERTS:.*]] = smx.global_norm %[[SW1]], %[[SB1]], %[[SW2]], %[[SB2]] :
// STEP:       %[[EXPERTS2:.*]] = arith.mulf %[[EXPERTS]], %[[EXPERTS]]
// STEP:       %[[ALL2:.*]] = shard.all_reduce %[[EXPERTS2]] on @grid grid_axes = [1] : tensor<f32>
// STEP:       %[[SUM:.*]] = arith.addf %[[HEAD2]], %[[ALL2]]
// STEP:       %[[NORM:.*]] = math.sqrt %[[SUM]] : tensor<f32>
// STEP:       smx.adamw_update %arg8, {{.*}} : tensor<2x8x16xf32>
// STEP:       return {{.*}}, %[[NORM]], %{{.*}}, %{{.*}} :

// With expert dropout, the gradient redraws the forward mask: the same
// offset and counter_experts.
// STEP-LABEL: func.func @train_step
// STEP:       %[[FIRST:.*]] = arith.addi %{{.*}}, %{{.*}} : i64
// STEP:       moe.expert_ffn {{.*}} dropout(2.000000e-01, seed = 4, step = %{{.*}}, offset = %[[FIRST]]) {counter_experts = 4 : i64}
// STEP:       moe.expert_ffn_grad {{.*}} dropout(2.000000e-01, seed = 4, step = %{{.*}}, offset = %[[FIRST]]) {counter_experts = 4 : i64}
// Overlapped: buckets fill last parameter first, as the backward pass
// finishes gradients; the head's gradient, done before the experts'
// backward pass, starts its sum at once, and both sums are waited for
// before the norm.
// OVERLAP-LABEL: func.func @train_step
// OVERLAP:       %[[DHEAD:.*]] = smx.dense_weight_grad
// OVERLAP-NEXT:  %[[HEAD:.*]] = smx.all_reduce_start %[[DHEAD]] on @grid grid_axes = [0, 1] : tensor<8x2xf32>
// OVERLAP:       moe.expert_ffn_grad
// OVERLAP:       %[[EXPERTS:.*]] = smx.all_reduce_start %{{.*}} on @grid grid_axes = [0] : tensor<560xf32>
// OVERLAP:       smx.all_reduce_wait %[[HEAD]] : tensor<8x2xf32>
// OVERLAP:       smx.all_reduce_wait %[[EXPERTS]] : tensor<560xf32>
// OVERLAP:       smx.global_norm

// Without buckets, one all-reduce per gradient.
// NOBUCKET-LABEL: func.func @train_step
// NOBUCKET:       shard.all_reduce %{{.*}} on @grid grid_axes = [0] : tensor<2x8x16xf32>
// NOBUCKET:       shard.all_reduce %{{.*}} on @grid grid_axes = [0] : tensor<2x16xf32>
// NOBUCKET:       shard.all_reduce %{{.*}} on @grid grid_axes = [0] : tensor<2x16x8xf32>
// NOBUCKET:       shard.all_reduce %{{.*}} on @grid grid_axes = [0] : tensor<2x8xf32>
// NOBUCKET:       shard.all_reduce %{{.*}} on @grid grid_axes = [0, 1] : tensor<8x2xf32>
module {
  func.func @forward(%slots: tensor<2x4x3x8xf32> {smx.input = "slots"}, %idx: tensor<2x4x3xi32> {smx.input = "indices"},
      %cw: tensor<2x4x3xf32> {smx.input = "combine_weights"}, %target: tensor<8x2xf32> {smx.input = "target"},
      %step: i64 {smx.input = "step"},
      %w1: tensor<4x8x16xf32> {smx.parameter = "experts.input.weight", smx.init = "normal"},
      %b1: tensor<4x16xf32> {smx.parameter = "experts.input.bias", smx.init = "zeros"},
      %w2: tensor<4x16x8xf32> {smx.parameter = "experts.output.weight", smx.init = "normal"},
      %b2: tensor<4x8xf32> {smx.parameter = "experts.output.bias", smx.init = "zeros"},
      %w: tensor<8x2xf32> {smx.parameter = "head.weight", smx.init = "normal"})
      -> (tensor<f32> {smx.output = "mse", smx.loss = 1.0 : f64}) {
    %out = moe.expert_ffn %slots, %w1, %b1, %w2, %b2 activation = <gelu_tanh> : tensor<2x4x3x8xf32>, tensor<4x8x16xf32>, tensor<4x16xf32>, tensor<4x16x8xf32>, tensor<4x8xf32>
    %y = moe.combine %out[%idx], %cw : tensor<2x4x3x8xf32>, tensor<2x4x3xi32>, tensor<2x4x3xf32> -> tensor<8x8xf32>
    %logits = smx.dense %y, %w : tensor<8x8xf32>, tensor<8x2xf32> -> tensor<8x2xf32>
    %mse = smx.mean_squared_error %logits, %target : tensor<8x2xf32>
    return %mse : tensor<f32>
  }
}

// -----

// Experts that do not split over ep.
module {
  func.func @forward(%slots: tensor<1x3x3x8xf32> {smx.input = "slots"}, %step: i64 {smx.input = "step"},
      %w1: tensor<3x8x8xf32> {smx.parameter = "w1"}, %b1: tensor<3x8xf32> {smx.parameter = "b1"},
      %w2: tensor<3x8x8xf32> {smx.parameter = "w2"}, %b2: tensor<3x8xf32> {smx.parameter = "b2"})
      -> (tensor<1x3x3x8xf32> {smx.output = "slots"}) {
    // expected-error @+1 {{has 3 experts, which do not split over the 2 devices of the grid's ep axis}}
    %out = moe.expert_ffn %slots, %w1, %b1, %w2, %b2 activation = <relu> : tensor<1x3x3x8xf32>, tensor<3x8x8xf32>, tensor<3x8xf32>, tensor<3x8x8xf32>, tensor<3x8xf32>
    return %out : tensor<1x3x3x8xf32>
  }
}

// -----

// An expert weight computed in the function, not a parameter.
module {
  func.func @forward(%slots: tensor<1x4x3x8xf32> {smx.input = "slots"}, %step: i64 {smx.input = "step"},
      %w1: tensor<4x8x8xf32> {smx.parameter = "w1"}, %b1: tensor<4x8xf32> {smx.parameter = "b1"},
      %w2: tensor<4x8x8xf32> {smx.parameter = "w2"})
      -> (tensor<1x4x3x8xf32> {smx.output = "slots"}) {
    %b2 = arith.constant dense<0.0> : tensor<4x8xf32>
    // expected-error @+1 {{has an expert weight that is not a parameter of @forward}}
    %out = moe.expert_ffn %slots, %w1, %b1, %w2, %b2 activation = <relu> : tensor<1x4x3x8xf32>, tensor<4x8x8xf32>, tensor<4x8xf32>, tensor<4x8x8xf32>, tensor<4x8xf32>
    return %out : tensor<1x4x3x8xf32>
  }
}

// -----

// An expert weight also used whole elsewhere.
module {
  func.func @forward(%slots: tensor<1x4x3x8xf32> {smx.input = "slots"}, %step: i64 {smx.input = "step"},
      %w1: tensor<4x8x8xf32> {smx.parameter = "w1"}, %b1: tensor<4x8xf32> {smx.parameter = "b1"},
      %w2: tensor<4x8x8xf32> {smx.parameter = "w2"}, %b2: tensor<4x8xf32> {smx.parameter = "b2"})
      -> (tensor<1x4x3x8xf32> {smx.output = "slots"}, tensor<4x8xf32> {smx.output = "bias"}) {
    %out = moe.expert_ffn %slots, %w1, %b1, %w2, %b2 activation = <relu> : tensor<1x4x3x8xf32>, tensor<4x8x8xf32>, tensor<4x8xf32>, tensor<4x8x8xf32>, tensor<4x8xf32>
    // expected-error @+1 {{uses the expert weight "b2", which smx-shard-experts splits over ep}}
    %twice = arith.addf %b2, %b2 : tensor<4x8xf32>
    return %out, %twice : tensor<1x4x3x8xf32>, tensor<4x8xf32>
  }
}

// -----

// Expert dropout keeps indexing the unsharded activations [2·2, 4, 3, 16]
// (2 groups on each of the 4 devices): rows of the 4 experts
// (counter_experts), and this device's first activation at
// d·(2·2·4·3·16) + j·(2·3·16), d its dp index and j its ep index.
// CHECK-LABEL: func.func @forward
// CHECK:       %[[LINEAR:.*]] = shard.process_linear_index on @grid : index
// CHECK:       %[[LINEAR64:.*]] = arith.index_cast %[[LINEAR]] : index to i64
// CHECK:       %[[EP:.*]] = arith.constant 2 : i64
// CHECK:       %[[D:.*]] = arith.divsi %[[LINEAR64]], %[[EP]] : i64
// CHECK:       %[[J:.*]] = arith.remsi %[[LINEAR64]], %[[EP]] : i64
// CHECK:       %[[ROW:.*]] = arith.constant 768 : i64
// CHECK:       %[[ROWSTART:.*]] = arith.muli %[[D]], %[[ROW]] : i64
// CHECK:       %[[EXPERTS:.*]] = arith.constant 96 : i64
// CHECK:       %[[EXPERTSTART:.*]] = arith.muli %[[J]], %[[EXPERTS]] : i64
// CHECK:       %[[FIRST:.*]] = arith.addi %[[ROWSTART]], %[[EXPERTSTART]] : i64
// CHECK:       moe.all_to_all
// CHECK:       moe.expert_ffn {{.*}} dropout(2.000000e-01, seed = 4, step = %{{.*}}, offset = %[[FIRST]]) {counter_experts = 4 : i64} : tensor<4x2x3x8xf32>
module {
  func.func @forward(%slots: tensor<2x4x3x8xf32> {smx.input = "slots"}, %idx: tensor<2x4x3xi32> {smx.input = "indices"},
      %cw: tensor<2x4x3xf32> {smx.input = "combine_weights"}, %target: tensor<8x8xf32> {smx.input = "target"},
      %step: i64 {smx.input = "step"},
      %w1: tensor<4x8x16xf32> {smx.parameter = "w1"}, %b1: tensor<4x16xf32> {smx.parameter = "b1"},
      %w2: tensor<4x16x8xf32> {smx.parameter = "w2"}, %b2: tensor<4x8xf32> {smx.parameter = "b2"})
      -> (tensor<f32> {smx.output = "mse", smx.loss = 1.0 : f64}) {
    %out = moe.expert_ffn %slots, %w1, %b1, %w2, %b2 activation = <relu> dropout(0.2, seed = 4, step = %step) : tensor<2x4x3x8xf32>, tensor<4x8x16xf32>, tensor<4x16xf32>, tensor<4x16x8xf32>, tensor<4x8xf32>
    %y = moe.combine %out[%idx], %cw : tensor<2x4x3x8xf32>, tensor<2x4x3xi32>, tensor<2x4x3xf32> -> tensor<8x8xf32>
    %mse = smx.mean_squared_error %y, %target : tensor<8x8xf32>
    return %mse : tensor<f32>
  }
}
