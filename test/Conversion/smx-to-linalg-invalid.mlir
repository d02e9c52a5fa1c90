// Training ops are lowered by the training pipeline; the forward lowering
// names the op it cannot lower.
// RUN: smx-opt %s -split-input-file --convert-smx-to-linalg -verify-diagnostics

func.func @dropout(%x: tensor<4xf32>, %step: i64) -> tensor<4xf32> {
  // expected-error @+1 {{failed to legalize operation 'smx.dropout' that was explicitly marked illegal}}
  %y = smx.dropout %x, %step rate = 0.1 seed = 1 : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

func.func @dynamic(%x: tensor<?x16xf32>, %w: tensor<16x4xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{'smx.dense' op has a dynamic shape; convert-smx-to-linalg lowers static shapes only (compile the model for a fixed batch and sequence length)}}
  %y = smx.dense %x, %w : tensor<?x16xf32>, tensor<16x4xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
