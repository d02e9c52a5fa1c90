// RUN: smx-opt %s --split-input-file --convert-shard-to-runtime --verify-diagnostics | FileCheck %s

// On a 2x1 grid, only axis 0 has more than one device: the sum over both
// axes runs on axis 0 (mask 1), the sum over axis 1 is its input. The grid
// goes once its collectives are calls.

// CHECK-NOT:   shard.grid
// CHECK:       func.func private @smxrt_grid_process_index() -> i64
// CHECK-DAG:   func.func private @smxrt_grid_all_reduce_sum_f32_memref(i64, memref<*xf32>, memref<*xf32>)
// CHECK-DAG:   func.func private @smxrt_grid_all_reduce_sum_i64_memref(i64, memref<*xi64>, memref<*xi64>)
// CHECK-LABEL: func.func @sums
// CHECK-SAME:  (%[[G:.*]]: tensor<8x2xf32>, %[[C:.*]]: tensor<3xi64>)
// CHECK:       %[[MASK:.*]] = arith.constant 1 : i64
// CHECK:       %[[IN:.*]] = bufferization.to_buffer %[[G]] read_only
// CHECK:       %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8x2xf32>
// CHECK:       call @smxrt_grid_all_reduce_sum_f32_memref(%[[MASK]], %{{.*}}, %{{.*}})
// CHECK:       %[[SUM:.*]] = bufferization.to_tensor %[[OUT]]
// CHECK:       call @smxrt_grid_all_reduce_sum_i64_memref(%{{.*}}, %{{.*}}, %{{.*}}) : (i64, memref<*xi64>, memref<*xi64>) -> ()
// CHECK:       %[[RANK:.*]] = call @smxrt_grid_process_index() : () -> i64
// CHECK:       %[[INDEX:.*]] = arith.index_cast %[[RANK]] : i64 to index
// CHECK:       return %[[SUM]], %[[G]], %{{.*}}, %[[INDEX]]
module {
  shard.grid @grid(shape = 2x1)
  func.func @sums(%g: tensor<8x2xf32>, %c: tensor<3xi64>) -> (tensor<8x2xf32>, tensor<8x2xf32>, tensor<3xi64>, index) {
    %all = shard.all_reduce %g on @grid grid_axes = [0, 1] : tensor<8x2xf32> -> tensor<8x2xf32>
    %ep = shard.all_reduce %g on @grid grid_axes = [1] : tensor<8x2xf32> -> tensor<8x2xf32>
    %count = shard.all_reduce %c on @grid grid_axes = [0] : tensor<3xi64> -> tensor<3xi64>
    %rank = shard.process_linear_index on @grid : index
    return %all, %ep, %count, %rank : tensor<8x2xf32>, tensor<8x2xf32>, tensor<3xi64>, index
  }
}

// -----

// A grid of one device: no calls at all.
// CHECK-LABEL: func.func @one_device
// CHECK-NOT:   call
// CHECK:       %[[ZERO:.*]] = arith.constant 0 : index
// CHECK:       return %arg0, %[[ZERO]]
module {
  shard.grid @grid(shape = 1x1)
  func.func @one_device(%g: tensor<8xf32>) -> (tensor<8xf32>, index) {
    %all = shard.all_reduce %g on @grid grid_axes = [0, 1] : tensor<8xf32> -> tensor<8xf32>
    %rank = shard.process_linear_index on @grid : index
    return %all, %rank : tensor<8xf32>, index
  }
}

// -----

// The expert exchange over ep (2 devices) becomes one runtime call with its
// axes; on a grid with one device along ep, its input.
// CHECK:       func.func private @smxrt_grid_all_to_all_f32_memref(i64, i64, i64, memref<*xf32>, memref<*xf32>)
// CHECK-LABEL: func.func @exchange
// CHECK-DAG:   %[[MASK:.*]] = arith.constant 2 : i64
// CHECK-DAG:   %[[SPLIT:.*]] = arith.constant 1 : i64
// CHECK-DAG:   %[[CONCAT:.*]] = arith.constant 0 : i64
// CHECK:       %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<4x2x3x8xf32>
// CHECK:       call @smxrt_grid_all_to_all_f32_memref(%[[MASK]], %[[SPLIT]], %[[CONCAT]], %{{.*}}, %{{.*}})
// CHECK:       %[[MINE:.*]] = bufferization.to_tensor %[[OUT]]
// CHECK:       return %[[MINE]]
module {
  shard.grid @grid(shape = 1x2)
  func.func @exchange(%slots: tensor<2x4x3x8xf32>) -> tensor<4x2x3x8xf32> {
    %mine = moe.all_to_all %slots on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x4x3x8xf32> -> tensor<4x2x3x8xf32>
    return %mine : tensor<4x2x3x8xf32>
  }
}

// -----

// CHECK-LABEL: func.func @exchange_with_itself
// CHECK-NOT:   call
// CHECK:       return %arg0
module {
  shard.grid @grid(shape = 2x1)
  func.func @exchange_with_itself(%slots: tensor<2x4x3x8xf32>) -> tensor<2x4x3x8xf32> {
    %mine = moe.all_to_all %slots on @grid grid_axes = [1] split_axis = 1 concat_axis = 0 : tensor<2x4x3x8xf32> -> tensor<2x4x3x8xf32>
    return %mine : tensor<2x4x3x8xf32>
  }
}

// -----

// A started sum: the runtime takes a copy of the input and returns a
// handle; the wait writes the sum. Over axes without devices, the wait is
// the input.
// CHECK-DAG:   func.func private @smxrt_grid_all_reduce_sum_start_f32_memref(i64, memref<*xf32>) -> i64
// CHECK-DAG:   func.func private @smxrt_grid_all_reduce_sum_wait_f32_memref(i64, memref<*xf32>)
// CHECK-LABEL: func.func @started
// CHECK-SAME:  (%[[G:.*]]: tensor<8xf32>, %[[H:.*]]: tensor<4xf32>)
// CHECK:       %[[MASK:.*]] = arith.constant 1 : i64
// CHECK:       %[[HANDLE:.*]] = call @smxrt_grid_all_reduce_sum_start_f32_memref(%[[MASK]], %{{.*}}) : (i64, memref<*xf32>) -> i64
// CHECK:       %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<8xf32>
// CHECK:       call @smxrt_grid_all_reduce_sum_wait_f32_memref(%[[HANDLE]], %{{.*}}) : (i64, memref<*xf32>) -> ()
// CHECK:       %[[SUM:.*]] = bufferization.to_tensor %[[OUT]]
// CHECK:       return %[[SUM]], %[[H]]
module {
  shard.grid @grid(shape = 2x1)
  func.func @started(%g: tensor<8xf32>, %h: tensor<4xf32>) -> (tensor<8xf32>, tensor<4xf32>) {
    %a = smx.all_reduce_start %g on @grid grid_axes = [0, 1] : tensor<8xf32>
    %b = smx.all_reduce_start %h on @grid grid_axes = [1] : tensor<4xf32>
    %sum = smx.all_reduce_wait %a : tensor<8xf32>
    %same = smx.all_reduce_wait %b : tensor<4xf32>
    return %sum, %same : tensor<8xf32>, tensor<4xf32>
  }
}

// -----

module {
  shard.grid @grid(shape = 2x1)
  func.func @max(%g: tensor<8xf32>) -> tensor<8xf32> {
    // expected-error @+1 {{is lowered for sums only}}
    %all = shard.all_reduce %g on @grid grid_axes = [0] reduction = max : tensor<8xf32> -> tensor<8xf32>
    return %all : tensor<8xf32>
  }
}

// -----

module {
  shard.grid @grid(shape = 2x1)
  func.func @f16(%g: tensor<8xf16>) -> tensor<8xf16> {
    // expected-error @+1 {{is lowered for f32 and i64 only, not 'f16'}}
    %all = shard.all_reduce %g on @grid grid_axes = [0] : tensor<8xf16> -> tensor<8xf16>
    return %all : tensor<8xf16>
  }
}
