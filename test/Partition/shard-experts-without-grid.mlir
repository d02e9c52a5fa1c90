// RUN: not smx-opt %s --smx-shard-experts 2>&1 | FileCheck %s
// CHECK: error: smx-shard-experts: runs after smx-shard-batch, on a module with a dp x ep grid @grid
module {
  func.func @forward(%x: tensor<4xf32> {smx.input = "x"}) -> (tensor<4xf32> {smx.output = "y"}) {
    return %x : tensor<4xf32>
  }
}
