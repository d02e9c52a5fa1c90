// RUN: smx-opt %s --split-input-file --convert-smx-to-linalg | FileCheck %s

// Dropout: a counter-based mask, the splitmix64 mixer of (seed, step) and
// the element's linear index; kept elements scaled by 1 / (1 - rate).
// CHECK-LABEL: func.func @dropout
// CHECK-SAME:  (%[[X:.*]]: tensor<2x4xf32>, %[[STEP:.*]]: i64)
// CHECK:       %[[PHI:.*]] = arith.constant -7046029254386353131 : i64
// CHECK:       %[[KEYED:.*]] = arith.muli %[[STEP]], %[[PHI]] : i64
// CHECK:       arith.xori %[[KEYED]], %{{.*}} : i64
// CHECK:       linalg.generic {{.*}} ins(%[[X]] : tensor<2x4xf32>)
// CHECK:         linalg.index 0
// CHECK:         linalg.index 1
// CHECK:         arith.shrui
// CHECK:         arith.cmpf oge, %{{.*}}, %{{.*}} : f32
// CHECK:         arith.select
func.func @dropout(%x: tensor<2x4xf32>, %step: i64) -> tensor<2x4xf32> {
  %y = smx.dropout %x, %step rate = 0.25 seed = 7 : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// A block of a larger tensor (a device's share of the batch) adds the index
// of its first element to every counter.
// CHECK-LABEL: func.func @dropout_with_offset
// CHECK-SAME:  (%[[X:.*]]: tensor<2x4xf32>, %[[STEP:.*]]: i64, %[[FIRST:.*]]: i64)
// CHECK:       %[[BASE:.*]] = arith.index_cast %[[FIRST]] : i64 to index
// CHECK:       linalg.generic {{.*}} ins(%[[X]] : tensor<2x4xf32>)
// CHECK:         %[[ROW:.*]] = linalg.index 0
// CHECK:         %[[COLUMN:.*]] = linalg.index 1
// CHECK:         %[[LOCAL:.*]] = arith.addi %{{.*}}, %[[COLUMN]] : index
// CHECK:         %[[GLOBAL:.*]] = arith.addi %[[LOCAL]], %[[BASE]] : index
// CHECK:         arith.index_cast %[[GLOBAL]] : index to i64
func.func @dropout_with_offset(%x: tensor<2x4xf32>, %step: i64, %first: i64) -> tensor<2x4xf32> {
  %y = smx.dropout %x, %step rate = 0.25 seed = 7 offset %first : tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// The weight gradient is one GEMM over the flattened rows, A transposed.
// CHECK-LABEL: func.func @dense_weight_grad
// CHECK:       tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : tensor<2x4x8xf32> into tensor<8x8xf32>
// CHECK:       tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : tensor<2x4x3xf32> into tensor<8x3xf32>
// CHECK:       %[[TRUE:.*]] = arith.constant 1 : i64
// CHECK:       call @smxrt_cpu_sgemm_memref(
func.func @dense_weight_grad(%x: tensor<2x4x8xf32>, %dy: tensor<2x4x3xf32>) -> tensor<8x3xf32> {
  %dw = smx.dense_weight_grad %x, %dy : tensor<2x4x8xf32>, tensor<2x4x3xf32> -> tensor<8x3xf32>
  return %dw : tensor<8x3xf32>
}

// -----

// Embedding gradients scatter-add rows in sequential loops, skipping ids out
// of range.
// CHECK-LABEL: func.func @embedding_grad
// CHECK:       linalg.fill
// CHECK:       scf.for
// CHECK:         scf.for
// CHECK:           tensor.extract %{{.*}} : tensor<2x4xi32>
// CHECK:           arith.cmpi sge
// CHECK:           arith.cmpi slt
// CHECK:           scf.if
// CHECK:             scf.for
// CHECK:               arith.addf
// CHECK:               tensor.insert
func.func @embedding_grad(%dy: tensor<2x4x8xf32>, %ids: tensor<2x4xi32>) -> tensor<10x8xf32> {
  %dt = smx.embedding_grad %dy[%ids] : tensor<2x4x8xf32>, tensor<2x4xi32> -> tensor<10x8xf32>
  return %dt : tensor<10x8xf32>
}

// -----

// AdamW: one elementwise pass with three results; bias corrections computed
// once per call.
// CHECK-LABEL: func.func @adamw
// CHECK:       math.powf
// CHECK:       math.powf
// CHECK:       %{{.*}}:3 = linalg.generic
// CHECK:         math.sqrt
// CHECK:         linalg.yield %{{.*}}, %{{.*}}, %{{.*}} : f32, f32, f32
func.func @adamw(%p: tensor<8xf32>, %g: tensor<8xf32>, %m: tensor<8xf32>, %v: tensor<8xf32>, %lr: f32, %t: i64)
    -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %p1, %m1, %v1 = smx.adamw_update %p, %g, %m, %v, %lr, %t beta1 = 0.9 beta2 = 0.999 epsilon = 1.0e-6 weight_decay = 0.01 : tensor<8xf32>
  return %p1, %m1, %v1 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
}

// -----

// The schedule is scalar arithmetic: warmup, linear decay, 0 after the end.
// CHECK-LABEL: func.func @schedule
// CHECK:       arith.cmpi slt, %{{.*}}, %{{.*}} : i64
// CHECK:       arith.cmpi slt, %{{.*}}, %{{.*}} : i64
// CHECK:       arith.select
// CHECK:       %[[LR:.*]] = arith.select
// CHECK:       return %[[LR]] : f32
func.func @schedule(%step: i64, %peak: f32, %warmup: i64, %total: i64) -> f32 {
  %lr = smx.lr_schedule <linear_warmup_linear_decay> %step, %peak, %warmup, %total : f32
  return %lr : f32
}

// -----

// Cross-entropy: row log-sum-exp, skipped rows by select, mean over the
// counted rows.
// CHECK-LABEL: func.func @cross_entropy
// CHECK:       arith.maximumf
// CHECK:       math.exp
// CHECK:       arith.cmpi ne, %{{.*}}, %{{.*}} : i32
// CHECK:       math.log
// CHECK:       arith.divf
func.func @cross_entropy(%logits: tensor<2x3x5xf32>, %labels: tensor<2x3xi32>) -> tensor<f32> {
  %l = smx.cross_entropy %logits, %labels ignore_index = -100 : tensor<2x3x5xf32>, tensor<2x3xi32>
  return %l : tensor<f32>
}

// -----

// On a grid, the count of the whole job divides both the loss and its
// gradient: the local count is summed over the grid before the maximum
// with 1.
// CHECK-LABEL: func.func @cross_entropy_share
// CHECK:       %[[COUNT:.*]] = shard.all_reduce %{{.*}} on @grid grid_axes = [0, 1] : tensor<f32> -> tensor<f32>
// CHECK:       linalg.generic {{.*}} ins(%[[COUNT]] : tensor<f32>)
// CHECK:       arith.maximumf
// CHECK:       arith.divf
// CHECK:       %[[GRAD_COUNT:.*]] = shard.all_reduce %{{.*}} on @grid grid_axes = [0, 1] : tensor<f32> -> tensor<f32>
shard.grid @grid(shape = 2x1)
func.func @cross_entropy_share(%logits: tensor<2x5xf32>, %labels: tensor<2xi32>, %dloss: tensor<f32>) -> (tensor<f32>, tensor<2x5xf32>) {
  %l = smx.cross_entropy %logits, %labels ignore_index = -100 count_over @grid grid_axes = [0, 1] : tensor<2x5xf32>, tensor<2xi32>
  %g = smx.cross_entropy_grad %logits, %labels, %dloss ignore_index = -100 count_over @grid grid_axes = [0, 1] : tensor<2x5xf32>, tensor<2xi32>, tensor<f32>
  return %l, %g : tensor<f32>, tensor<2x5xf32>
}
