// RUN: smx-opt %s --moe-set-capacity-factor=capacity-factor=2.0 | FileCheck %s

// The expert exchange of an expert-parallel model (smx-shard-experts)
// follows the new capacity: its result type is the input's with the split
// axis divided and the concat axis multiplied by the grid's 4 devices.
// CHECK-LABEL: func.func @route_result_exchanged
// CHECK:       moe.route {{.*}} -> tensor<2x16x512xi32>, tensor<2x16x512xf32>
// CHECK:       %[[SLOTS:.*]] = moe.dispatch {{.*}} -> tensor<2x16x512x512xf32>
// CHECK:       %[[MINE:.*]] = moe.all_to_all %[[SLOTS]] on @grid grid_axes = [0] split_axis = 1 concat_axis = 0 : tensor<2x16x512x512xf32> -> tensor<8x4x512x512xf32>
// CHECK:       return %[[MINE]] : tensor<8x4x512x512xf32>
shard.grid @grid(shape = 4)

func.func @route_result_exchanged(%x: tensor<8192x512xf32>, %probs: tensor<8192x16xf32>) -> tensor<8x4x256x512xf32> {
  %indices, %weights = moe.route %probs policy = #moe.experts_choose capacity_factor = 1.0 group_size = 4096 : tensor<8192x16xf32> -> tensor<2x16x256xi32>, tensor<2x16x256xf32>
  %slots = moe.dispatch %x[%indices] : tensor<8192x512xf32>, tensor<2x16x256xi32> -> tensor<2x16x256x512xf32>
  %exchanged = moe.all_to_all %slots on @grid grid_axes = [0] split_axis = 1 concat_axis = 0 : tensor<2x16x256x512xf32> -> tensor<8x4x256x512xf32>
  return %exchanged : tensor<8x4x256x512xf32>
}
