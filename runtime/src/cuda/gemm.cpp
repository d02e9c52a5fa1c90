//===- gemm.cpp - the model's GEMMs on cuBLASLt ---------------------------===//
//
// smxrt_cuda_sgemm_memref: the CPU runtime's batched row-major GEMM on the
// GPU's tensor cores. cuBLASLt is column-major: a row-major C = op(A)·op(B)
// is the column-major C^T = op(B)^T·op(A)^T, so A and B trade places and m
// and n with them, and each matrix keeps its storage and leading dimension.
// The inner batch dimension is a strided batch; the outer one a loop. Plans
// (descriptors, layouts, the heuristic's algorithm) are made once per shape.
// cuBLASLt is loaded with dlopen for the same reason the driver is
// (driver.h).
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/cuda.h"

#include "device.h"
#include "memref_descriptor.h"

#include <cublasLt.h>
#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <tuple>

namespace {

using namespace smxrt::cuda;

#define SMXRT_CUBLASLT_FUNCTIONS(X)                                            \
  X(cublasLtCreate)                                                            \
  X(cublasLtGetStatusString)                                                   \
  X(cublasLtMatmulDescCreate)                                                  \
  X(cublasLtMatmulDescSetAttribute)                                            \
  X(cublasLtMatrixLayoutCreate)                                                \
  X(cublasLtMatrixLayoutSetAttribute)                                          \
  X(cublasLtMatmulPreferenceCreate)                                            \
  X(cublasLtMatmulPreferenceSetAttribute)                                      \
  X(cublasLtMatmulPreferenceDestroy)                                           \
  X(cublasLtMatmulAlgoGetHeuristic)                                            \
  X(cublasLtMatmul)

struct CublasLtApi {
#define SMXRT_CUBLASLT_DECLARE(name) decltype(&::name) name##_ = nullptr;
  SMXRT_CUBLASLT_FUNCTIONS(SMXRT_CUBLASLT_DECLARE)
#undef SMXRT_CUBLASLT_DECLARE
};

/// Bytes cuBLASLt may use for split-K and other scratch.
constexpr size_t kWorkspaceBytes = size_t(32) << 20;

/// One GEMM shape's plan.
struct Plan {
  cublasLtMatmulDesc_t operation = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algorithm;
};

/// m, n, k, trans_a, trans_b, ld_a, ld_b, ld_c, inner, and the three inner
/// strides.
using PlanKey =
    std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
               int64_t, int64_t, int64_t, int64_t, int64_t>;

class Gemms {
public:
  explicit Gemms(Device &device) : device(device) {
    void *library = ::dlopen("libcublasLt.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!library)
      library = ::dlopen("libcublasLt.so", RTLD_NOW | RTLD_LOCAL);
    if (!library)
      failFatally(std::string("cannot load cuBLASLt: ") + ::dlerror() +
                  " (add the CUDA toolkit's lib64 to LD_LIBRARY_PATH)");
#define SMXRT_CUBLASLT_RESOLVE(name)                                           \
  api.name##_ =                                                                \
      reinterpret_cast<decltype(api.name##_)>(::dlsym(library, #name));        \
  if (!api.name##_)                                                            \
    failFatally("cuBLASLt has no " #name);
    SMXRT_CUBLASLT_FUNCTIONS(SMXRT_CUBLASLT_RESOLVE)
#undef SMXRT_CUBLASLT_RESOLVE
    check(api.cublasLtCreate_(&handle), "cublasLtCreate");
    CUdeviceptr pointer = 0;
    checkResult(device.api.cuMemAlloc_(&pointer, kWorkspaceBytes),
                "allocating cuBLASLt's workspace (cuMemAlloc)");
    workspace = reinterpret_cast<void *>(pointer);
  }

  void run(int64_t outer, int64_t inner, int64_t m, int64_t n, int64_t k,
           bool transA, bool transB, bool accumulate, const float *a,
           int64_t ldA, int64_t outerStrideA, int64_t innerStrideA,
           const float *b, int64_t ldB, int64_t outerStrideB,
           int64_t innerStrideB, float *c, int64_t ldC, int64_t outerStrideC,
           int64_t innerStrideC) {
    std::lock_guard<std::mutex> lock(mutex);
    // Products that add up into one C (a zero C stride) cannot be one
    // batch, whose matrices would race on C: they go one at a time, each
    // after the first accumulating.
    const bool oneC = inner > 1 && innerStrideC == 0;
    const int64_t batch = oneC ? 1 : inner;
    const Plan &plan =
        getPlan(PlanKey{m, n, k, transA, transB, ldA, ldB, ldC, batch,
                        innerStrideA, innerStrideB, innerStrideC});
    const float alpha = 1.0f;
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; i += batch) {
        float beta = accumulate || (oneC && i > 0) ? 1.0f : 0.0f;
        float *product = c + o * outerStrideC;
        // Column-major C^T = op(B)^T · op(A)^T: B is cuBLASLt's A.
        check(api.cublasLtMatmul_(
                  handle, plan.operation, &alpha,
                  b + o * outerStrideB + i * innerStrideB, plan.b,
                  a + o * outerStrideA + i * innerStrideA, plan.a, &beta,
                  product, plan.c, product, plan.c, &plan.algorithm,
                  workspace, kWorkspaceBytes, device.stream),
              "cublasLtMatmul");
      }
    // The host code after the GEMM may read C (docs/gpu.md).
    checkResult(device.api.cuStreamSynchronize_(device.stream),
                "a GEMM failed (cuStreamSynchronize)");
    ++stats.calls;
    stats.flops += 2.0 * static_cast<double>(outer * inner) *
                   static_cast<double>(m) * static_cast<double>(n) *
                   static_cast<double>(k);
  }

  /// What the GEMMs did; `seconds` is added by the caller, which times the
  /// whole call (the stream is synchronized at its end).
  smxrt_cuda_gemm_stats_t stats{0, 0.0, 0.0};

private:
  void check(cublasStatus_t status, const char *what) {
    if (status != CUBLAS_STATUS_SUCCESS)
      failFatally(std::string(what) + ": " +
                  (api.cublasLtGetStatusString_
                       ? api.cublasLtGetStatusString_(status)
                       : "cuBLASLt error"));
  }

  /// A column-major layout of `rows` x `columns` f32 with leading dimension
  /// `ld`, batched `batch` times `stride` elements apart.
  cublasLtMatrixLayout_t makeLayout(int64_t rows, int64_t columns, int64_t ld,
                                    int64_t batch, int64_t stride) {
    cublasLtMatrixLayout_t layout = nullptr;
    check(
        api.cublasLtMatrixLayoutCreate_(&layout, CUDA_R_32F, rows, columns, ld),
        "cublasLtMatrixLayoutCreate");
    int32_t count = static_cast<int32_t>(batch);
    check(
        api.cublasLtMatrixLayoutSetAttribute_(
            layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)),
        "cublasLtMatrixLayoutSetAttribute");
    check(api.cublasLtMatrixLayoutSetAttribute_(
              layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
              sizeof(stride)),
          "cublasLtMatrixLayoutSetAttribute");
    return layout;
  }

  const Plan &getPlan(const PlanKey &key) {
    auto [entry, inserted] = plans.try_emplace(key);
    Plan &plan = entry->second;
    if (!inserted)
      return plan;
    auto [m, n, k, transA, transB, ldA, ldB, ldC, inner, strideA, strideB,
          strideC] = key;
    // bf16 tensor-core products of f32 operands, summed in f32.
    check(api.cublasLtMatmulDescCreate_(
              &plan.operation, CUBLAS_COMPUTE_32F_FAST_16BF, CUDA_R_32F),
          "cublasLtMatmulDescCreate");
    cublasOperation_t opB = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t opA = transA ? CUBLAS_OP_T : CUBLAS_OP_N;
    check(api.cublasLtMatmulDescSetAttribute_(
              plan.operation, CUBLASLT_MATMUL_DESC_TRANSA, &opB, sizeof(opB)),
          "cublasLtMatmulDescSetAttribute");
    check(api.cublasLtMatmulDescSetAttribute_(
              plan.operation, CUBLASLT_MATMUL_DESC_TRANSB, &opA, sizeof(opA)),
          "cublasLtMatmulDescSetAttribute");
    // Row-major B (k x n, or n x k stored when transposed) is column-major
    // n x k (k x n); row-major A likewise; C is column-major n x m.
    plan.b = makeLayout(transB ? k : n, transB ? n : k, ldB, inner, strideB);
    plan.a = makeLayout(transA ? m : k, transA ? k : m, ldA, inner, strideA);
    plan.c = makeLayout(n, m, ldC, inner, strideC);
    cublasLtMatmulPreference_t preference = nullptr;
    check(api.cublasLtMatmulPreferenceCreate_(&preference),
          "cublasLtMatmulPreferenceCreate");
    size_t workspaceBytes = kWorkspaceBytes;
    check(api.cublasLtMatmulPreferenceSetAttribute_(
              preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
              &workspaceBytes, sizeof(workspaceBytes)),
          "cublasLtMatmulPreferenceSetAttribute");
    cublasLtMatmulHeuristicResult_t heuristic = {};
    int algorithms = 0;
    check(api.cublasLtMatmulAlgoGetHeuristic_(
              handle, plan.operation, plan.b, plan.a, plan.c, plan.c,
              preference, 1, &heuristic, &algorithms),
          "cublasLtMatmulAlgoGetHeuristic");
    api.cublasLtMatmulPreferenceDestroy_(preference);
    if (algorithms == 0)
      failFatally("cuBLASLt has no algorithm for a " + std::to_string(m) + "x" +
                  std::to_string(n) + "x" + std::to_string(k) + " GEMM");
    plan.algorithm = heuristic.algo;
    return plan;
  }

  Device &device;
  CublasLtApi api;
  cublasLtHandle_t handle = nullptr;
  void *workspace = nullptr;
  std::mutex mutex;
  std::map<PlanKey, Plan> plans;
};

/// The GEMMs, made (cuBLASLt loaded, its workspace allocated) by the first.
std::atomic<Gemms *> createdGemms{nullptr};

Gemms &getGemms() {
  // Never destroyed: the driver releases everything at exit.
  static Gemms *gemms = createdGemms = new Gemms(requireDevice("a GEMM"));
  return *gemms;
}

} // namespace

extern "C" void smxrt_cuda_sgemm_memref(
    int64_t outer, int64_t inner, int64_t m, int64_t n, int64_t k,
    int64_t trans_a, int64_t trans_b, int64_t accumulate, int64_t, void *a,
    int64_t offset_a, int64_t ld_a, int64_t outer_stride_a,
    int64_t inner_stride_a, int64_t, void *b, int64_t offset_b, int64_t ld_b,
    int64_t outer_stride_b, int64_t inner_stride_b, int64_t, void *c,
    int64_t offset_c, int64_t ld_c, int64_t outer_stride_c,
    int64_t inner_stride_c) {
  if (outer == 0 || inner == 0 || m == 0 || n == 0)
    return;
  auto start = std::chrono::steady_clock::now();
  Gemms &gemms = getGemms();
  gemms.run(outer, inner, m, n, k, trans_a, trans_b, accumulate,
            smxrt::basePointer<float>(a) + offset_a, ld_a, outer_stride_a,
            inner_stride_a, smxrt::basePointer<float>(b) + offset_b, ld_b,
            outer_stride_b, inner_stride_b,
            smxrt::basePointer<float>(c) + offset_c, ld_c, outer_stride_c,
            inner_stride_c);
  gemms.stats.seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
}

extern "C" smxrt_cuda_gemm_stats_t smxrt_cuda_gemm_stats(void) {
  // Reading the statistics loads nothing: before the first GEMM, zeros.
  Gemms *gemms = createdGemms.load();
  return gemms ? gemms->stats : smxrt_cuda_gemm_stats_t{0, 0.0, 0.0};
}
