//===- Passes.td - mix dialect passes ----------------------*- tablegen -*-===//

#ifndef SMX_DIALECT_MIX_TRANSFORMS_PASSES_TD
#define SMX_DIALECT_MIX_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def MixMaterializeStructuredWeightsPass
    : Pass<"mix-materialize-structured-weights"> {
  let summary = "Rewrites circulant and Toeplitz mixing as dense linear mixing";
  let description = [{
    Builds the `[L, L]` and `[d, d]` matrices of `mix.circulant` and
    `mix.toeplitz` from their parameter vectors with `tensor.generate` and
    replaces the op by `mix.linear` on them:
    `C(s) · X · C(h)ᵀ = mix.linear(X, C(s), C(h)ᵀ)`. At the short sequence
    lengths of encoders two GEMMs beat an FFT-based product, and the GEMM
    path is the one the CPU and GPU backends tune.

    Contract: accepts `mix.circulant` and `mix.toeplitz` with static or
    dynamic shapes; guarantees that none remain and that every replacement
    computes the same result.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // SMX_DIALECT_MIX_TRANSFORMS_PASSES_TD
