//===- bf16_gemm.cpp - GEMMs with bfloat16 operands on the CPU ------------===//
//
// smxrt_cpu_sgemm_bf16_memref: smxrt_cpu_sgemm_memref's GEMM with its
// operands rounded to bfloat16 (to nearest, ties to even) and the products
// summed in f32: the rounding points of the GPU path (`smxc
// --precision=bf16`, docs/training.md).
//
// Where oneDNN is built in and the CPU multiplies bf16 in hardware (AMX or
// AVX512-BF16), the operands are rounded into packed bf16 copies, laid out
// row-major (transposes and strides resolved while rounding), and one
// oneDNN matmul per outer index multiplies them, batched over the inner
// index (one product at a time where C's matrices are not one after
// another): 3.3x OpenBLAS's SGEMM at n = 2048 on two Sapphire Rapids cores,
// the rounding included (bench/cpu/precision.py). Elsewhere the rounded
// copies stay f32 and OpenBLAS's SGEMM multiplies them (products of bf16
// values are exact in f32, so both sum the same products).
// SMXRT_BF16_GEMM=openblas forces the second.
//
//===----------------------------------------------------------------------===//

#include "smx_runtime/cpu_kernels.h"
#include "smx_runtime/memref_abi.h"

#include "kernel_contract.h"
#include "memory.h"
#include "memref_descriptor.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#ifdef SMXRT_HAS_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

namespace {

/// `value` rounded to the nearest bfloat16 (ties to even), NaNs kept
/// quiet: the top 16 bits of the result. Branch-free, so that the loops
/// that round whole operands vectorize.
inline uint16_t roundToBF16Bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  uint32_t quietNan = (bits >> 16) | 0x40u;
  return static_cast<uint16_t>((bits & 0x7fffffffu) > 0x7f800000u ? quietNan
                                                                  : rounded);
}

float bf16BitsToFloat(uint16_t bits) {
  uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof value);
  return value;
}

/// One operand of a batched GEMM: `count` matrices `stride` elements apart
/// (0: one matrix for every batch index), each `rows` x `columns` after op
/// (stored transposed when `transposed`, leading dimension `ld`).
struct Operand {
  const float *data;
  int64_t count, stride, rows, columns, ld;
  bool transposed;

  float at(int64_t matrix, int64_t row, int64_t column) const {
    const float *base = data + matrix * stride;
    return transposed ? base[column * ld + row] : base[row * ld + column];
  }
};

#if defined(__x86_64__)
/// `count` floats of `in` rounded to bf16 bits in `out` with AVX512-BF16
/// (`vcvtne2ps2bf16`: to nearest, ties to even, NaNs quiet; denormal inputs
/// count as zero), 32 at a time.
__attribute__((target("avx512f,avx512bf16"))) void
roundRowAvx512(const float *in, uint16_t *out, int64_t count) {
  int64_t index = 0;
  for (; index + 32 <= count; index += 32) {
    __m512 low = _mm512_loadu_ps(in + index);
    __m512 high = _mm512_loadu_ps(in + index + 16);
    __m512bh packed = _mm512_cvtne2ps_pbh(high, low);
    _mm512_storeu_si512(out + index, reinterpret_cast<__m512i &>(packed));
  }
  for (; index < count; ++index)
    out[index] = roundToBF16Bits(in[index]);
}

bool hasAvx512Bf16() {
  static const bool has = __builtin_cpu_supports("avx512bf16");
  return has;
}
#endif

/// A row of `count` floats rounded to bf16 bits.
void roundRow(const float *in, uint16_t *out, int64_t count) {
#if defined(__x86_64__)
  if (hasAvx512Bf16()) {
    roundRowAvx512(in, out, count);
    return;
  }
#endif
  for (int64_t index = 0; index < count; ++index)
    out[index] = roundToBF16Bits(in[index]);
}

/// A row of `count` floats rounded to bf16, kept in f32.
void roundRow(const float *in, float *out, int64_t count) {
  for (int64_t index = 0; index < count; ++index)
    out[index] = bf16BitsToFloat(roundToBF16Bits(in[index]));
}

/// The operand's matrices rounded, dense row-major, through `store`. A
/// transposed operand is transposed on the way, by tiles, so that both its
/// reads and its writes stay within a few cache lines.
template <typename Element, typename Store>
void roundOperand(const Operand &operand, Element *out, Store store) {
  const int64_t rows = operand.rows, columns = operand.columns;
  const int64_t size = rows * columns;
  if (!operand.transposed) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t matrix = 0; matrix < operand.count; ++matrix)
      for (int64_t row = 0; row < rows; ++row) {
        roundRow(operand.data + matrix * operand.stride + row * operand.ld,
                 out + matrix * size + row * columns, columns);
      }
    return;
  }
  constexpr int64_t kTile = 32;
  const int64_t rowTiles = (rows + kTile - 1) / kTile;
  const int64_t columnTiles = (columns + kTile - 1) / kTile;
#pragma omp parallel for collapse(3) schedule(static)
  for (int64_t matrix = 0; matrix < operand.count; ++matrix)
    for (int64_t rowTile = 0; rowTile < rowTiles; ++rowTile)
      for (int64_t columnTile = 0; columnTile < columnTiles; ++columnTile) {
        const float *in = operand.data + matrix * operand.stride;
        Element *dense = out + matrix * size;
        int64_t rowEnd = std::min(rows, (rowTile + 1) * kTile);
        int64_t columnEnd = std::min(columns, (columnTile + 1) * kTile);
        // Stored transposed: element (row, column) at [column][row].
        for (int64_t column = columnTile * kTile; column < columnEnd; ++column)
          for (int64_t row = rowTile * kTile; row < rowEnd; ++row)
            dense[row * columns + column] =
                store(in[column * operand.ld + row]);
      }
}

enum class Engine { Unknown, OneDnn, OpenBlas };

#ifdef SMXRT_HAS_DNNL

/// m, n, k, the batch, whether A and B are broadcast over it, ldc, C's
/// batch stride and whether C accumulates.
using PlanKey = std::tuple<int64_t, int64_t, int64_t, int64_t, bool, bool,
                           int64_t, int64_t, bool>;

/// A matmul primitive and its operands' layouts.
struct Plan {
  dnnl_primitive_t primitive = nullptr;
  dnnl_memory_desc_t a, b, c;
};

class OneDnnGemms {
public:
  /// Whether oneDNN multiplies bf16 in hardware here (not its reference
  /// implementation); `why` says which implementation or why not.
  bool isFast(std::string &why) {
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) !=
            dnnl_success) {
      why = "oneDNN has no CPU engine";
      return false;
    }
    const char *implementation = nullptr;
    Plan probe =
        makePlan(PlanKey{64, 64, 64, 1, false, false, 64, 64 * 64, false},
                 &implementation);
    if (!probe.primitive) {
      why = "oneDNN cannot build a bf16 matmul";
      return false;
    }
    dnnl_primitive_destroy(probe.primitive);
    why = implementation ? implementation : "";
    return why.rfind("ref", 0) != 0;
  }

  /// C[b] (+)= A[b]·B[b] for b < batch over packed row-major bf16 A [m, k]
  /// and B [k, n] (one matrix when broadcast) into f32 C.
  void run(const PlanKey &key, const uint16_t *a, const uint16_t *b, float *c) {
    std::lock_guard<std::mutex> lock(mutex);
    Plan &plan = plans[key];
    if (!plan.primitive)
      plan = makePlan(key, nullptr);
    if (!plan.primitive)
      smxrt::reportKernelFailure("smxrt_cpu_sgemm_bf16_memref",
                                 "oneDNN cannot build a bf16 matmul");
    const dnnl_memory_desc_t *descriptors[3] = {&plan.a, &plan.b, &plan.c};
    dnnl_memory_t memories[3] = {};
    void *pointers[3] = {const_cast<uint16_t *>(a), const_cast<uint16_t *>(b),
                         c};
    for (int i = 0; i < 3; ++i)
      if (dnnl_memory_create(&memories[i], descriptors[i], engine,
                             pointers[i]) != dnnl_success)
        smxrt::reportKernelFailure("smxrt_cpu_sgemm_bf16_memref",
                                   "oneDNN cannot wrap an operand");
    dnnl_exec_arg_t arguments[3] = {{DNNL_ARG_SRC, memories[0]},
                                    {DNNL_ARG_WEIGHTS, memories[1]},
                                    {DNNL_ARG_DST, memories[2]}};
    dnnl_status_t status =
        dnnl_primitive_execute(plan.primitive, stream, 3, arguments);
    if (status == dnnl_success)
      status = dnnl_stream_wait(stream);
    for (dnnl_memory_t memory : memories)
      dnnl_memory_destroy(memory);
    if (status != dnnl_success)
      smxrt::reportKernelFailure("smxrt_cpu_sgemm_bf16_memref",
                                 "oneDNN's matmul failed (status %d)",
                                 static_cast<int>(status));
  }

private:
  Plan makePlan(const PlanKey &key, const char **implementation) {
    auto [m, n, k, batch, broadcastA, broadcastB, ldc, strideC, accumulate] =
        key;
    dnnl_dims_t aDims = {broadcastA ? 1 : batch, m, k};
    dnnl_dims_t aStrides = {m * k, k, 1};
    dnnl_dims_t bDims = {broadcastB ? 1 : batch, k, n};
    dnnl_dims_t bStrides = {k * n, n, 1};
    dnnl_dims_t cDims = {batch, m, n};
    dnnl_dims_t cStrides = {strideC, ldc, 1};
    Plan plan;
    dnnl_memory_desc_t &aDesc = plan.a, &bDesc = plan.b, &cDesc = plan.c;
    dnnl_matmul_desc_t matmul;
    dnnl_primitive_attr_t attributes = nullptr;
    dnnl_post_ops_t postOps = nullptr;
    dnnl_primitive_desc_t pd = nullptr;
    bool built = dnnl_memory_desc_init_by_strides(&aDesc, 3, aDims, dnnl_bf16,
                                                  aStrides) == dnnl_success &&
                 dnnl_memory_desc_init_by_strides(&bDesc, 3, bDims, dnnl_bf16,
                                                  bStrides) == dnnl_success &&
                 dnnl_memory_desc_init_by_strides(&cDesc, 3, cDims, dnnl_f32,
                                                  cStrides) == dnnl_success &&
                 dnnl_matmul_desc_init(&matmul, &aDesc, &bDesc, nullptr,
                                       &cDesc) == dnnl_success &&
                 dnnl_primitive_attr_create(&attributes) == dnnl_success;
    // Accumulating: C = A·B + 1·C.
    if (built && accumulate)
      built =
          dnnl_post_ops_create(&postOps) == dnnl_success &&
          dnnl_post_ops_append_sum(postOps, 1.0f) == dnnl_success &&
          dnnl_primitive_attr_set_post_ops(attributes, postOps) == dnnl_success;
    if (built)
      built = dnnl_primitive_desc_create(&pd, &matmul, attributes, engine,
                                         nullptr) == dnnl_success;
    if (built && implementation)
      dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0,
                                implementation);
    if (built)
      built = dnnl_primitive_create(&plan.primitive, pd) == dnnl_success;
    if (pd)
      dnnl_primitive_desc_destroy(pd);
    if (postOps)
      dnnl_post_ops_destroy(postOps);
    if (attributes)
      dnnl_primitive_attr_destroy(attributes);
    if (!built)
      plan.primitive = nullptr;
    return plan;
  }

  dnnl_engine_t engine = nullptr;
  dnnl_stream_t stream = nullptr;
  std::mutex mutex;
  std::map<PlanKey, Plan> plans;
};

OneDnnGemms &oneDnn() {
  // Never destroyed: compiled code may run GEMMs from static destructors.
  static OneDnnGemms *gemms = new OneDnnGemms();
  return *gemms;
}

#endif // SMXRT_HAS_DNNL

/// The engine this process uses, chosen once.
Engine chooseEngine() {
  static Engine engine = [] {
    const char *forced = std::getenv("SMXRT_BF16_GEMM");
    if (forced && std::strcmp(forced, "openblas") == 0)
      return Engine::OpenBlas;
#ifdef SMXRT_HAS_DNNL
    std::string why;
    if (oneDnn().isFast(why))
      return Engine::OneDnn;
#endif
    return Engine::OpenBlas;
  }();
  return engine;
}

/// A scratch buffer for rounded operands, kept between calls.
smxrt::OwnedBuffer &scratch(int index, size_t bytes) {
  thread_local smxrt::OwnedBuffer buffers[2];
  smxrt::OwnedBuffer &buffer = buffers[index];
  if (buffer.size() < bytes) {
    buffer = smxrt::OwnedBuffer(bytes);
    if (!buffer.data())
      smxrt::reportKernelFailure("smxrt_cpu_sgemm_bf16_memref",
                                 "out of memory rounding a %zu-byte operand",
                                 bytes);
  }
  return buffer;
}

} // namespace

extern "C" const char *smxrt_cpu_bf16_gemm_engine(void) {
  return chooseEngine() == Engine::OneDnn ? "onednn" : "openblas";
}

extern "C" void smxrt_cpu_sgemm_bf16_memref(
    int64_t outer, int64_t inner, int64_t m, int64_t n, int64_t k,
    int64_t trans_a, int64_t trans_b, int64_t accumulate, int64_t, void *a,
    int64_t offset_a, int64_t ld_a, int64_t outer_stride_a,
    int64_t inner_stride_a, int64_t, void *b, int64_t offset_b, int64_t ld_b,
    int64_t outer_stride_b, int64_t inner_stride_b, int64_t, void *c,
    int64_t offset_c, int64_t ld_c, int64_t outer_stride_c,
    int64_t inner_stride_c) {
  if (outer <= 0 || inner <= 0 || m <= 0 || n <= 0)
    return;
  const float *aBase = smxrt::basePointer<float>(a) + offset_a;
  const float *bBase = smxrt::basePointer<float>(b) + offset_b;
  float *cBase = smxrt::basePointer<float>(c) + offset_c;
  Engine engine = chooseEngine();
  for (int64_t o = 0; o < outer; ++o) {
    Operand lhs{aBase + o * outer_stride_a,
                inner_stride_a == 0 ? 1 : inner,
                inner_stride_a,
                m,
                k,
                ld_a,
                trans_a != 0};
    Operand rhs{bBase + o * outer_stride_b,
                inner_stride_b == 0 ? 1 : inner,
                inner_stride_b,
                k,
                n,
                ld_b,
                trans_b != 0};
    float *out = cBase + o * outer_stride_c;
#ifdef SMXRT_HAS_DNNL
    // oneDNN's batch cannot write several products into one C (a zero C
    // stride): those go one product at a time, accumulating after the first.
    // It runs one product at a time too where C's matrices are not one
    // after another (attention's heads interleaved in the rows of C): its
    // fast kernels want the batch outermost in C.
    if (engine == Engine::OneDnn && k > 0 && inner > 1 &&
        inner_stride_c < m * ld_c) {
      for (int64_t i = 0; i < inner; ++i) {
        Operand one = lhs, two = rhs;
        one.data += lhs.count == 1 ? 0 : i * inner_stride_a;
        two.data += rhs.count == 1 ? 0 : i * inner_stride_b;
        float *product = out + i * inner_stride_c;
        one.count = two.count = 1;
        auto *aBits = scratch(0, m * k * sizeof(uint16_t)).data<uint16_t>();
        auto *bBits = scratch(1, k * n * sizeof(uint16_t)).data<uint16_t>();
        roundOperand(one, aBits, roundToBF16Bits);
        roundOperand(two, bBits, roundToBF16Bits);
        // Products into one C (a zero stride) add up after the first.
        bool sum = accumulate != 0 || (inner_stride_c == 0 && i > 0);
        oneDnn().run(PlanKey{m, n, k, 1, false, false, ld_c, m * ld_c, sum},
                     aBits, bBits, product);
      }
      continue;
    }
    if (engine == Engine::OneDnn && k > 0) {
      auto *aBits =
          scratch(0, lhs.count * m * k * sizeof(uint16_t)).data<uint16_t>();
      auto *bBits =
          scratch(1, rhs.count * k * n * sizeof(uint16_t)).data<uint16_t>();
      roundOperand(lhs, aBits, roundToBF16Bits);
      roundOperand(rhs, bBits, roundToBF16Bits);
      oneDnn().run(PlanKey{m, n, k, inner, lhs.count == 1 && inner > 1,
                           rhs.count == 1 && inner > 1, ld_c,
                           inner > 1 ? inner_stride_c : m * ld_c,
                           accumulate != 0},
                   aBits, bBits, out);
      continue;
    }
#endif
    (void)engine;
    // Rounded f32 copies, dense and untransposed, on OpenBLAS.
    auto *aRounded =
        scratch(0, lhs.count * m * k * sizeof(float)).data<float>();
    auto *bRounded =
        scratch(1, rhs.count * k * n * sizeof(float)).data<float>();
    auto round = [](float value) {
      return bf16BitsToFloat(roundToBF16Bits(value));
    };
    roundOperand(lhs, aRounded, round);
    roundOperand(rhs, bRounded, round);
    smxrt_cpu_sgemm(1, inner, m, n, k, 0, 0, static_cast<int32_t>(accumulate),
                    aRounded, 0, k, 0, lhs.count == 1 ? 0 : m * k, bRounded, 0,
                    n, 0, rhs.count == 1 ? 0 : k * n, out, 0, ld_c, 0,
                    inner_stride_c);
  }
}
