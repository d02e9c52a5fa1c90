// The lowering names the op it cannot lower.
// RUN: smx-opt %s -split-input-file --convert-smx-to-linalg -verify-diagnostics

// CPU GEMMs are f32: a bf16 dense layer has no lowering yet.
func.func @bf16_dense(%x: tensor<4x16xbf16>, %w: tensor<16x4xbf16>) -> tensor<4x4xbf16> {
  // expected-error @+1 {{failed to legalize operation 'smx.dense' that was explicitly marked illegal}}
  %y = smx.dense %x, %w : tensor<4x16xbf16>, tensor<16x4xbf16> -> tensor<4x4xbf16>
  return %y : tensor<4x4xbf16>
}

// -----

func.func @dynamic(%x: tensor<?x16xf32>, %w: tensor<16x4xf32>) -> tensor<?x4xf32> {
  // expected-error @+1 {{'smx.dense' op has a dynamic shape; convert-smx-to-linalg lowers static shapes only (compile the model for a fixed batch and sequence length)}}
  %y = smx.dense %x, %w : tensor<?x16xf32>, tensor<16x4xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
