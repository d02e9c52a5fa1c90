//===- sgemm.cpp - Batched single-precision GEMM on OpenBLAS --------------===//
//
// The compiler lowers every matmul, batched matmul and batched expert GEMM to
// one call of smxrt_cpu_sgemm over an (outer, inner) grid of matrices, so the
// object needs no BLAS headers of its own.
//
// Threads: the grid is cut into tasks (whole matrices, or row panels of them
// when there are fewer matrices than threads) that run on the process's one
// OpenMP pool, each as a single-threaded cblas_sgemm. The compiled model's
// parallel loops use the same pool, so no BLAS thread spins on a core that
// the next elementwise loop needs.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/cpu_kernels.h"

#include "kernel_contract.h"

#include <cblas.h>

#include <omp.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <mutex>

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

/// Below this many flops a GEMM grid runs on the calling thread: waking
/// the pool costs more than it saves.
constexpr double kMinParallelFlops = 4.0e6;

/// Row panels of one matrix are multiples of this many rows (OpenBLAS's
/// micro-kernels work on blocks of up to 16 rows).
constexpr int64_t kPanelRows = 16;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Makes OpenBLAS single-threaded once: the pool above it does the
/// threading.
void useSingleThreadedBlas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

/// One C[rows, :] = op(A)[rows, :] · op(B) (+ C) call.
void multiplyPanel(const float *a, const float *b, float *c, int64_t rows,
                   int64_t n, int64_t k, int32_t transA, int32_t transB,
                   int32_t accumulate, int64_t ldA, int64_t ldB, int64_t ldC) {
  if (k == 0) {
    // An empty sum; not every BLAS defines this case.
    if (!accumulate)
      for (int64_t row = 0; row < rows; ++row)
        std::memset(c + row * ldC, 0, n * sizeof(float));
    return;
  }
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
              transB ? CblasTrans : CblasNoTrans, static_cast<int>(rows),
              static_cast<int>(n), static_cast<int>(k), 1.0f, a,
              static_cast<int>(ldA), b, static_cast<int>(ldB),
              accumulate ? 1.0f : 0.0f, c, static_cast<int>(ldC));
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

  useSingleThreadedBlas();
  const int64_t matrices = outer * inner;
  // When several matrices write one C (a zero C stride along a grid
  // dimension, as when accumulating over a batch), they run in grid order
  // within one task, so only the rows of C are split among threads.
  const bool sharedC = (outer > 1 && outer_stride_c == 0) ||
                       (inner > 1 && inner_stride_c == 0);
  const int64_t independent = sharedC ? 1 : matrices;
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) *
                       static_cast<double>(k) * static_cast<double>(matrices);
  const bool parallel = threads > 1 && flops >= kMinParallelFlops;
  // Enough panels per matrix that every thread has one, each at least
  // kPanelRows high.
  int64_t panels = 1;
  if (parallel && independent < threads)
    panels = std::max<int64_t>(
        1, std::min<int64_t>(ceilDiv(threads, independent), m / kPanelRows));
  const int64_t panelRows = ceilDiv(ceilDiv(m, panels), kPanelRows) *
                            kPanelRows;
  panels = ceilDiv(m, panelRows);

  auto runPanel = [&](int64_t matrix, int64_t row) {
    const int64_t o = matrix / inner, i = matrix % inner;
    const int64_t rows = std::min(panelRows, m - row);
    // Row `row` of op(A) is row `row` of A, or its column when transposed.
    const float *panelA = a + offset_a + o * outer_stride_a +
                          i * inner_stride_a + (trans_a ? row : row * ld_a);
    const float *matrixB =
        b + offset_b + o * outer_stride_b + i * inner_stride_b;
    float *panelC =
        c + offset_c + o * outer_stride_c + i * inner_stride_c + row * ld_c;
    multiplyPanel(panelA, matrixB, panelC, rows, n, k, trans_a, trans_b,
                  accumulate, ld_a, ld_b, ld_c);
  };

#pragma omp parallel for schedule(dynamic, 1) if (parallel)
  for (int64_t task = 0; task < independent * panels; ++task) {
    const int64_t row = task % panels * panelRows;
    if (sharedC) {
      for (int64_t matrix = 0; matrix < matrices; ++matrix)
        runPanel(matrix, row);
    } else {
      runPanel(task / panels, row);
    }
  }
}
