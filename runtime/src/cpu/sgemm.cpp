//===- sgemm.cpp - Batched single-precision GEMM on OpenBLAS --------------===//
//
// The compiler lowers every matmul, batched matmul and batched expert GEMM to
// one call of smxrt_cpu_sgemm over an (outer, inner) grid of matrices, so the
// object needs no BLAS headers of its own. Each matrix is one cblas_sgemm;
// OpenBLAS threads inside it.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/cpu_kernels.h"

#include "kernel_contract.h"

#include <cblas.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace smxrt {
namespace {

constexpr const char *kernelName = "smxrt_cpu_sgemm";

void checkNonNegative(const char *name, int64_t value) {
  if (value < 0)
    reportKernelContractViolation(kernelName, "%s = %lld is negative", name,
                                  static_cast<long long>(value));
}

/// OpenBLAS indexes with int; larger matrices would need tiling.
void checkFitsInInt(const char *name, int64_t value) {
  if (value > INT_MAX)
    reportKernelContractViolation(kernelName,
                                  "%s = %lld exceeds OpenBLAS's index limit %d",
                                  name, static_cast<long long>(value), INT_MAX);
}

/// A row-major matrix stored with `width` columns needs ld >= max(1, width).
void checkLeadingDimension(const char *name, int64_t leadingDimension,
                           int64_t width) {
  if (leadingDimension < std::max<int64_t>(1, width))
    reportKernelContractViolation(
        kernelName, "%s = %lld is less than max(1, %lld), the stored width",
        name, static_cast<long long>(leadingDimension),
        static_cast<long long>(width));
  checkFitsInInt(name, leadingDimension);
}

} // namespace
} // namespace smxrt

using namespace smxrt;

extern "C" void
smxrt_cpu_sgemm(int64_t outer, int64_t inner, int64_t m, int64_t n, int64_t k,
                int32_t trans_a, int32_t trans_b, int32_t accumulate,
                const float *a, int64_t offset_a, int64_t ld_a,
                int64_t outer_stride_a, int64_t inner_stride_a, const float *b,
                int64_t offset_b, int64_t ld_b, int64_t outer_stride_b,
                int64_t inner_stride_b, float *c, int64_t offset_c,
                int64_t ld_c, int64_t outer_stride_c, int64_t inner_stride_c) {
  checkNonNegative("outer", outer);
  checkNonNegative("inner", inner);
  checkNonNegative("offset_a", offset_a);
  checkNonNegative("offset_b", offset_b);
  checkNonNegative("offset_c", offset_c);
  for (auto [name, value] : {std::pair{"m", m}, {"n", n}, {"k", k}}) {
    checkNonNegative(name, value);
    checkFitsInInt(name, value);
  }
  // Stored shapes: A is m×k, or k×m when transposed; B is k×n, or n×k.
  checkLeadingDimension("ld_a", ld_a, trans_a ? m : k);
  checkLeadingDimension("ld_b", ld_b, trans_b ? k : n);
  checkLeadingDimension("ld_c", ld_c, n);
  if (outer == 0 || inner == 0 || m == 0 || n == 0)
    return;

  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const float *matrixA =
          a + offset_a + o * outer_stride_a + i * inner_stride_a;
      const float *matrixB =
          b + offset_b + o * outer_stride_b + i * inner_stride_b;
      float *matrixC = c + offset_c + o * outer_stride_c + i * inner_stride_c;
      if (k == 0) {
        // An empty sum; not every BLAS defines this case.
        if (!accumulate)
          for (int64_t row = 0; row < m; ++row)
            std::memset(matrixC + row * ld_c, 0, n * sizeof(float));
        continue;
      }
      cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                  trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m),
                  static_cast<int>(n), static_cast<int>(k), 1.0f, matrixA,
                  static_cast<int>(ld_a), matrixB, static_cast<int>(ld_b),
                  accumulate ? 1.0f : 0.0f, matrixC, static_cast<int>(ld_c));
    }
  }
}
