//===- CpuKernelsTest.cpp - smxrt_cpu_sgemm and smxrt_cpu_route -----------===//
//
// GEMM against a naive triple loop over the ABI's addressing formula;
// routing against slots worked out by hand. route_reference_test.py also
// compares routing with the NumPy reference on many random cases.
//
//===----------------------------------------------------------------------===//

#include "TestSupport.h"

#include <cmath>
#include <random>

namespace {

//===--- smxrt_cpu_sgemm -------------------------------------------------===//

struct GemmCase {
  int64_t outer = 1, inner = 1, m = 3, n = 4, k = 5;
  bool transA = false, transB = false, accumulate = false;
  // Per operand: offset, leading dimension (0: the stored width), outer
  // stride, inner stride (-1: one matrix after the other).
  int64_t offsetA = 0, ldA = 0, outerStrideA = -1, innerStrideA = -1;
  int64_t offsetB = 0, ldB = 0, outerStrideB = -1, innerStrideB = -1;
  int64_t offsetC = 0, ldC = 0, outerStrideC = -1, innerStrideC = -1;
  // smxrt_cpu_sgemm_bf16_memref: A and B rounded to bfloat16.
  bool bf16 = false;
};

/// `value` rounded to the nearest bfloat16, ties to even: the mantissa to
/// 8 significant bits by the FPU's own rounding (independent of the
/// runtime's bit manipulation).
double roundToBF16(double value) {
  if (value == 0 || !std::isfinite(value))
    return value;
  int exponent;
  double mantissa = std::frexp(value, &exponent); // [0.5, 1)
  return std::ldexp(std::nearbyint(mantissa * 256.0) / 256.0, exponent);
}

/// A one-dimensional memref descriptor over `buffer` (the GEMM's memref
/// ABI reads only the base pointer).
struct FlatMemref {
  float *allocated, *aligned;
  int64_t offset, size, stride;
};

/// One operand's layout: `rows` × `width` stored row-major with `ld`.
struct Operand {
  int64_t rows, width, offset, ld, outerStride, innerStride;

  void resolve(int64_t inner) {
    if (ld == 0)
      ld = width;
    int64_t matrixSize = rows * ld;
    if (innerStride < 0)
      innerStride = matrixSize;
    if (outerStride < 0)
      outerStride = inner * innerStride;
  }
  int64_t base(int64_t o, int64_t i) const {
    return offset + o * outerStride + i * innerStride;
  }
  /// Elements needed to hold every matrix, plus a tail that must stay as is.
  int64_t bufferSize(int64_t outer, int64_t inner) const {
    return base(outer - 1, inner - 1) + rows * ld + 7;
  }
};

void runGemmCase(const GemmCase &test) {
  Operand a{test.transA ? test.k : test.m,
            test.transA ? test.m : test.k,
            test.offsetA,
            test.ldA,
            test.outerStrideA,
            test.innerStrideA};
  Operand b{test.transB ? test.n : test.k,
            test.transB ? test.k : test.n,
            test.offsetB,
            test.ldB,
            test.outerStrideB,
            test.innerStrideB};
  Operand c{test.m,           test.n, test.offsetC, test.ldC, test.outerStrideC,
            test.innerStrideC};
  for (Operand *operand : {&a, &b, &c})
    operand->resolve(test.inner);

  std::mt19937 generator(1234);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  auto randomBuffer = [&](int64_t size) {
    std::vector<float> buffer(size);
    for (float &value : buffer)
      value = uniform(generator);
    return buffer;
  };
  std::vector<float> bufferA =
      randomBuffer(a.bufferSize(test.outer, test.inner));
  std::vector<float> bufferB =
      randomBuffer(b.bufferSize(test.outer, test.inner));
  std::vector<float> bufferC =
      randomBuffer(c.bufferSize(test.outer, test.inner));

  // Reference, in double: the expected C and, per element, the sum of the
  // magnitudes of its terms (the scale of float rounding errors).
  std::vector<double> expected(bufferC.begin(), bufferC.end());
  std::vector<double> magnitude(bufferC.size(), 0.0);
  std::vector<bool> written(bufferC.size(), false);
  for (int64_t o = 0; o < test.outer; ++o)
    for (int64_t i = 0; i < test.inner; ++i)
      for (int64_t row = 0; row < test.m; ++row)
        for (int64_t column = 0; column < test.n; ++column) {
          double sum = 0, sumOfMagnitudes = 0;
          for (int64_t p = 0; p < test.k; ++p) {
            double x = bufferA[a.base(o, i) +
                               (test.transA ? p * a.ld + row : row * a.ld + p)];
            double y =
                bufferB[b.base(o, i) +
                        (test.transB ? column * b.ld + p : p * b.ld + column)];
            if (test.bf16) {
              x = roundToBF16(x);
              y = roundToBF16(y);
            }
            sum += x * y;
            sumOfMagnitudes += std::fabs(x * y);
          }
          int64_t at = c.base(o, i) + row * c.ld + column;
          // Matrices that share C (zero C strides) add up in grid order.
          double previous = test.accumulate ? expected[at] : 0.0;
          double previousMagnitude =
              !test.accumulate ? 0.0
              : written[at]    ? magnitude[at]
                               : std::fabs(previous);
          expected[at] = previous + sum;
          magnitude[at] = previousMagnitude + sumOfMagnitudes;
          written[at] = true;
        }

  if (test.bf16) {
    FlatMemref memrefA{bufferA.data(), bufferA.data(), 0,
                       static_cast<int64_t>(bufferA.size()), 1};
    FlatMemref memrefB{bufferB.data(), bufferB.data(), 0,
                       static_cast<int64_t>(bufferB.size()), 1};
    FlatMemref memrefC{bufferC.data(), bufferC.data(), 0,
                       static_cast<int64_t>(bufferC.size()), 1};
    smxrt_cpu_sgemm_bf16_memref(
        test.outer, test.inner, test.m, test.n, test.k, test.transA,
        test.transB, test.accumulate, 1, &memrefA, a.offset, a.ld,
        a.outerStride, a.innerStride, 1, &memrefB, b.offset, b.ld,
        b.outerStride, b.innerStride, 1, &memrefC, c.offset, c.ld,
        c.outerStride, c.innerStride);
  } else {
    smxrt_cpu_sgemm(test.outer, test.inner, test.m, test.n, test.k,
                    test.transA, test.transB, test.accumulate, bufferA.data(),
                    a.offset, a.ld, a.outerStride, a.innerStride,
                    bufferB.data(), b.offset, b.ld, b.outerStride,
                    b.innerStride, bufferC.data(), c.offset, c.ld,
                    c.outerStride, c.innerStride);
  }

  // Tolerance: 1e-5 relative to the sum of the magnitudes of the terms, above
  // float rounding for k <= 64 (k * 2^-24 ≈ 4e-6) and far below any
  // indexing mistake. Elements outside the C matrices must be untouched.
  for (size_t at = 0; at < bufferC.size(); ++at) {
    if (written[at])
      EXPECT_NEAR(bufferC[at], expected[at], 1e-5 * (magnitude[at] + 1e-30))
          << "at element " << at;
    else
      EXPECT_EQ(bufferC[at], static_cast<float>(expected[at]))
          << "element " << at << " outside C changed";
  }
}

TEST(CpuSgemm, Plain) { runGemmCase(GemmCase{}); }

TEST(CpuSgemm, TransposedA) {
  GemmCase test;
  test.transA = true;
  runGemmCase(test);
}

TEST(CpuSgemm, TransposedB) {
  GemmCase test;
  test.transB = true;
  runGemmCase(test);
}

GemmCase bothTransposedAndAccumulateCase() {
  GemmCase test;
  test.transA = test.transB = test.accumulate = true;
  return test;
}

TEST(CpuSgemm, BothTransposedAndAccumulate) { runGemmCase(bothTransposedAndAccumulateCase()); }

TEST(CpuSgemm, Accumulate) {
  GemmCase test;
  test.accumulate = true;
  runGemmCase(test);
}

GemmCase outerAndInnerBatchesWithBroadcastOperandCase() {
  // Batched expert GEMM shape: A is shared by every inner matrix (stride 0),
  // B differs per (outer, inner).
  GemmCase test;
  test.outer = 2;
  test.inner = 3;
  test.innerStrideA = 0;
  test.outerStrideA = 3 * 5;
  return test;
}

TEST(CpuSgemm, OuterAndInnerBatchesWithBroadcastOperand) { runGemmCase(outerAndInnerBatchesWithBroadcastOperandCase()); }

TEST(CpuSgemm, BroadcastAlongOuter) {
  GemmCase test;
  test.outer = 3;
  test.inner = 2;
  test.transB = true;
  test.outerStrideB = 0; // B [inner] shared by every outer index.
  runGemmCase(test);
}

GemmCase offsetsAndWideLeadingDimensionsCase() {
  GemmCase test;
  test.outer = 2;
  test.inner = 2;
  test.offsetA = 3;
  test.offsetB = 11;
  test.offsetC = 5;
  test.ldA = 8; // > k = 5
  test.ldB = 6; // > n = 4
  test.ldC = 7; // > n = 4: columns 4..6 of C rows must stay untouched
  test.accumulate = true;
  return test;
}

TEST(CpuSgemm, OffsetsAndWideLeadingDimensions) { runGemmCase(offsetsAndWideLeadingDimensionsCase()); }

TEST(CpuSgemm, WideLeadingDimensionsTransposed) {
  GemmCase test;
  test.transA = test.transB = true;
  test.ldA = 9; // A stored k×m = 5×3
  test.ldB = 6; // B stored n×k = 4×5
  test.ldC = 4;
  runGemmCase(test);
}

TEST(CpuSgemm, LargeMatrixSplitIntoRowPanelsAcrossThreads) {
  // Above the parallel threshold (4.6 Mflop) with one matrix: with two or
  // more OpenMP threads the rows are cut into panels of 16-row multiples,
  // the last one short (300 is not a multiple of 16). Transposed A and a
  // wide C check the panel addressing of both.
  GemmCase test;
  test.m = 300;
  test.n = 120;
  test.k = 64;
  test.transA = true;
  test.accumulate = true;
  test.ldC = 125;
  runGemmCase(test);
}

GemmCase manyMatricesAcrossThreadsCase() {
  GemmCase test;
  test.outer = 3;
  test.inner = 4;
  test.m = 40;
  test.n = 96;
  test.k = 64;
  test.transB = true;
  return test;
}

TEST(CpuSgemm, ManyMatricesAcrossThreads) { runGemmCase(manyMatricesAcrossThreadsCase()); }

GemmCase accumulatesABatchIntoOneCAcrossThreadsCase() {
  // dW = sum_b X_b^T dY_b: every matrix of the grid adds into the same C
  // (C strides 0), large enough to run on threads.
  GemmCase test;
  test.outer = 2;
  test.inner = 3;
  test.m = 96;
  test.n = 80;
  test.k = 64;
  test.transA = true;
  test.accumulate = true;
  test.outerStrideC = 0;
  test.innerStrideC = 0;
  return test;
}

TEST(CpuSgemm, AccumulatesABatchIntoOneCAcrossThreads) { runGemmCase(accumulatesABatchIntoOneCAcrossThreadsCase()); }

TEST(CpuSgemm, EmptyInnerDimensionZeroesOrKeepsC) {
  GemmCase test;
  test.k = 0;
  test.ldA = 1;
  runGemmCase(test);
  test.accumulate = true;
  runGemmCase(test);
}

//===--- smxrt_cpu_sgemm_bf16_memref --------------------------------------===//
//
// smxrt_cpu_sgemm's cases with A and B rounded to bfloat16 in the
// reference: the products of bf16 values are exact, so the tolerance stays
// that of f32 sums. Runs on the engine smxrt_cpu_bf16_gemm_engine names
// (oneDNN's bf16 matmul where the CPU has it, else OpenBLAS on rounded
// copies).

GemmCase bf16Case(GemmCase test) {
  test.bf16 = true;
  return test;
}

TEST(CpuSgemmBf16, Plain) { runGemmCase(bf16Case(GemmCase{})); }

TEST(CpuSgemmBf16, BothTransposedAndAccumulate) {
  runGemmCase(bf16Case(bothTransposedAndAccumulateCase()));
}

TEST(CpuSgemmBf16, OuterAndInnerBatchesWithBroadcastOperand) {
  runGemmCase(bf16Case(outerAndInnerBatchesWithBroadcastOperandCase()));
}

TEST(CpuSgemmBf16, OffsetsAndWideLeadingDimensions) {
  runGemmCase(bf16Case(offsetsAndWideLeadingDimensionsCase()));
}

TEST(CpuSgemmBf16, ManyMatrices) {
  runGemmCase(bf16Case(manyMatricesAcrossThreadsCase()));
}

TEST(CpuSgemmBf16, AccumulatesABatchIntoOneC) {
  runGemmCase(bf16Case(accumulatesABatchIntoOneCAcrossThreadsCase()));
}

TEST(CpuSgemmBf16, NamesItsEngine) {
  std::string engine = smxrt_cpu_bf16_gemm_engine();
  EXPECT_TRUE(engine == "onednn" || engine == "openblas") << engine;
}

//===--- smxrt_cpu_route -------------------------------------------------===//

struct RouteResult {
  std::vector<int32_t> indices;
  std::vector<float> weights;
};

RouteResult route(smxrt_routing_policy_t policy, int64_t k,
                  bool batchPrioritized, int64_t groups, int64_t tokensPerGroup,
                  int64_t experts, int64_t capacity,
                  const std::vector<float> &probs,
                  const std::vector<int32_t> &tokenIds = {}) {
  EXPECT_EQ(probs.size(), size_t(groups * tokensPerGroup * experts));
  // Filled with garbage: the kernel must write every slot.
  RouteResult result{std::vector<int32_t>(groups * experts * capacity, 77),
                     std::vector<float>(groups * experts * capacity, 77.0f)};
  smxrt_cpu_route(policy, k, batchPrioritized, groups, tokensPerGroup, experts,
                  capacity, probs.data(),
                  tokenIds.empty() ? nullptr : tokenIds.data(),
                  result.indices.data(), result.weights.data());
  return result;
}

void expectSlots(const RouteResult &result, const std::vector<int32_t> &indices,
                 const std::vector<float> &weights) {
  EXPECT_EQ(result.indices, indices);
  EXPECT_EQ(result.weights, weights);
}

// Two groups of 4 tokens over 3 experts, reused by several policies.
const std::vector<float> threeExpertProbs = {
    // group 0
    0.5f, 0.3f, 0.2f, // t0: choices e0 e1 e2
    0.1f, 0.6f, 0.3f, // t1: e1 e2 e0
    0.7f, 0.2f, 0.1f, // t2: e0 e1 e2
    0.4f, 0.4f, 0.2f, // t3: e0 e1 e2 (tie between e0 and e1 -> e0)
    // group 1
    0.2f, 0.2f, 0.6f, // t0: e2 e0 e1 (tie e0/e1 -> e0)
    0.6f, 0.2f, 0.2f, // t1: e0 e1 e2; top-1 ties t0's -> t0 first
    0.3f, 0.3f, 0.4f, // t2: e2 e0 e1
    0.1f, 0.8f, 0.1f, // t3: e1 e0 e2
};

TEST(CpuRoute, ExpertsChooseTopTokensWithTiesToLowerToken) {
  std::vector<float> probs = {
      // group 0
      0.6f, 0.4f, // t0
      0.3f, 0.7f, // t1
      0.6f, 0.4f, // t2: ties t0 on e0
      0.1f, 0.9f, // t3
      // group 1
      0.2f, 0.8f, // t0
      0.9f, 0.1f, // t1
      0.5f, 0.5f, // t2
      0.5f, 0.5f, // t3: ties t2 on both experts -> dropped by both
  };
  // Group 0: e0 column 0.6 0.3 0.6 0.1 -> t0, t2 (tie: lower token first);
  //          e1 column 0.4 0.7 0.4 0.9 -> t3, t1.
  // Group 1: e0 column 0.2 0.9 0.5 0.5 -> t1, t2; e1 0.8 0.1 0.5 0.5 -> t0,
  //          t2. Token 3 is in no expert.
  RouteResult result =
      route(SMXRT_ROUTING_EXPERTS_CHOOSE, 1, false, 2, 4, 2, 2, probs);
  expectSlots(result, {0, 2, 3, 1, 1, 2, 0, 2},
              {0.6f, 0.6f, 0.9f, 0.7f, 0.9f, 0.5f, 0.8f, 0.5f});
}

TEST(CpuRoute, ExpertsChooseLeavesSlotsBeyondTheTokensEmpty) {
  // Capacity 3 > 2 tokens: e0 takes t1 (0.7), t0 (0.3), then an empty slot.
  RouteResult result =
      route(SMXRT_ROUTING_EXPERTS_CHOOSE, 1, false, 1, 2, 1, 3, {0.3f, 0.7f});
  expectSlots(result, {1, 0, -1}, {0.7f, 0.3f, 0.0f});
}

TEST(CpuRoute, TokensChooseBatchPrioritized) {
  // Capacity 2, k = 2.
  // Group 0 priority by top-1 probability: t2 (0.7), t1 (0.6), t0 (0.5),
  // t3 (0.4).
  //   rank 0: t2->e0 [slot 0], t1->e1 [0], t0->e0 [1, e0 full], t3->e0 drop.
  //   rank 1: t2->e1 [1, e1 full], t1->e2 [0], t0->e1 drop, t3->e1 drop.
  // Group 1 priority: t3 (0.8), t0 (0.6), t1 (0.6, tie -> after t0), t2.
  //   rank 0: t3->e1 [0], t0->e2 [0], t1->e0 [0], t2->e2 [1, e2 full].
  //   rank 1: t3->e0 [1, e0 full], t0->e0 drop, t1->e1 [1], t2->e0 drop.
  RouteResult result =
      route(SMXRT_ROUTING_TOKENS_CHOOSE, 2, true, 2, 4, 3, 2, threeExpertProbs);
  expectSlots(result,
              {2, 0, 1, 2, 1, -1,                  // group 0: e0, e1, e2
               1, 3, 3, 1, 0, 2},                  // group 1
              {0.7f, 0.5f, 0.6f, 0.2f, 0.3f, 0.0f, //
               0.6f, 0.1f, 0.8f, 0.2f, 0.6f, 0.4f});
}

TEST(CpuRoute, TokensChooseInTokenOrder) {
  // Group 0 of the matrix above without batch prioritization: t0..t3.
  //   rank 0: t0->e0 [0], t1->e1 [0], t2->e0 [1, full], t3->e0 drop.
  //   rank 1: t0->e1 [1, full], t1->e2 [0], t2->e1 drop, t3->e1 drop.
  std::vector<float> group0(threeExpertProbs.begin(),
                            threeExpertProbs.begin() + 12);
  RouteResult result =
      route(SMXRT_ROUTING_TOKENS_CHOOSE, 2, false, 1, 4, 3, 2, group0);
  expectSlots(result, {0, 2, 1, 0, 1, -1},
              {0.5f, 0.7f, 0.6f, 0.3f, 0.3f, 0.0f});
}

TEST(CpuRoute, CappedExpertsChooseOneExpertPerToken) {
  // k = 1, capacity 2. Group 0 pairs by probability (ties: lower token, then
  // lower expert): (t2,e0) .7, (t1,e1) .6, (t0,e0) .5, (t3,e0) .4,
  // (t3,e1) .4, (t0,e1) .3, (t1,e2) .3, ...
  //   t2->e0, t1->e1, t0->e0 (e0 full), t3->e0 no room, t3->e1 (e1 full),
  //   every later pair's token already has its one expert: e2 stays empty.
  // Group 1: (t3,e1) .8, (t0,e2) .6, (t1,e0) .6, (t2,e2) .4, then every
  //   token has one expert.
  RouteResult result = route(SMXRT_ROUTING_CAPPED_EXPERTS_CHOOSE, 1, false, 2,
                             4, 3, 2, threeExpertProbs);
  expectSlots(result,
              {2, 0, 1, 3, -1, -1, //
               1, -1, 3, -1, 0, 2},
              {0.7f, 0.5f, 0.6f, 0.4f, 0.0f, 0.0f, //
               0.6f, 0.0f, 0.8f, 0.0f, 0.6f, 0.4f});
}

TEST(CpuRoute, CappedExpertsChooseTwoExpertsPerToken) {
  // k = 2, group 0: as above until (t3,e1) fills e1; then (t0,e1) no room,
  // (t1,e2) -> e2 [0] (t1's second expert), (t0,e2) -> e2 [1]: all full.
  std::vector<float> group0(threeExpertProbs.begin(),
                            threeExpertProbs.begin() + 12);
  RouteResult result =
      route(SMXRT_ROUTING_CAPPED_EXPERTS_CHOOSE, 2, false, 1, 4, 3, 2, group0);
  expectSlots(result, {2, 0, 1, 3, 1, 0}, {0.7f, 0.5f, 0.6f, 0.4f, 0.3f, 0.2f});
}

TEST(CpuRoute, HashByTokenIdModuloExperts) {
  // Capacity 2. Group 0 ids 5 3 8 2 -> experts 2 0 2 2: e2 takes t0, t2 and
  // drops t3. Group 1 ids 4 7 0 1 -> experts 1 1 0 1: e1 takes t0, t1 and
  // drops t3. Weights are the probabilities of the (token, expert) pairs.
  RouteResult result = route(SMXRT_ROUTING_HASH, 1, false, 2, 4, 3, 2,
                             threeExpertProbs, {5, 3, 8, 2, 4, 7, 0, 1});
  expectSlots(result,
              {1, -1, -1, -1, 0, 2, //
               2, -1, 0, 1, -1, -1},
              {0.1f, 0.0f, 0.0f, 0.0f, 0.2f, 0.1f, //
               0.3f, 0.0f, 0.2f, 0.2f, 0.0f, 0.0f});
}

TEST(CpuRoute, KAboveExpertsActsAsAllExperts) {
  std::vector<float> group0(threeExpertProbs.begin(),
                            threeExpertProbs.begin() + 12);
  for (smxrt_routing_policy_t policy :
       {SMXRT_ROUTING_TOKENS_CHOOSE, SMXRT_ROUTING_CAPPED_EXPERTS_CHOOSE}) {
    RouteResult capped = route(policy, 3, true, 1, 4, 3, 4, group0);
    RouteResult beyond = route(policy, 7, true, 1, 4, 3, 4, group0);
    EXPECT_EQ(capped.indices, beyond.indices);
    EXPECT_EQ(capped.weights, beyond.weights);
  }
}

TEST(CpuRoute, NanRanksBelowEveryProbability) {
  // e0 column NaN 0.1 0.2: NaN ranks last, so t2 then t1.
  RouteResult result = route(SMXRT_ROUTING_EXPERTS_CHOOSE, 1, false, 1, 3, 1, 2,
                             {std::nanf(""), 0.1f, 0.2f});
  expectSlots(result, {2, 1}, {0.2f, 0.1f});
}

//===--- smxrt_cpu_route_capped_lp ---------------------------------------===//

RouteResult routeCappedLp(int64_t k, int64_t iterations, double entropy,
                          int64_t groups, int64_t tokensPerGroup,
                          int64_t experts, int64_t capacity,
                          const std::vector<float> &probs) {
  EXPECT_EQ(probs.size(), size_t(groups * tokensPerGroup * experts));
  RouteResult result{std::vector<int32_t>(groups * experts * capacity, 77),
                     std::vector<float>(groups * experts * capacity, 77.0f)};
  smxrt_cpu_route_capped_lp(k, iterations, entropy, groups, tokensPerGroup,
                            experts, capacity, probs.data(),
                            result.indices.data(), result.weights.data());
  return result;
}

TEST(CpuRouteCappedLp, FindsTheAssignmentGreedyMisses) {
  // Two tokens, two experts, one slot each, one expert per token. Greedy
  // takes the most probable pair (t0,e0) .9 and is left with (t1,e1) .1:
  // 1.0 in all. The program's optimum swaps them: (t0,e1) .8 + (t1,e0) .7.
  std::vector<float> probs = {0.9f, 0.8f, //
                              0.7f, 0.1f};
  expectSlots(route(SMXRT_ROUTING_CAPPED_EXPERTS_CHOOSE, 1, false, 1, 2, 2, 1,
                    probs),
              {0, 1}, {0.9f, 0.1f});
  expectSlots(routeCappedLp(1, 50, 0.01, 1, 2, 2, 1, probs), {1, 0},
              {0.7f, 0.8f});
}

/// Softmax rows of Gaussian logits, [tokens, experts].
std::vector<float> randomRouterProbs(int64_t tokens, int64_t experts,
                                     unsigned seed) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> probs(tokens * experts);
  for (int64_t t = 0; t < tokens; ++t) {
    float sum = 0.0f;
    for (int64_t e = 0; e < experts; ++e)
      sum += probs[t * experts + e] = std::exp(normal(generator));
    for (int64_t e = 0; e < experts; ++e)
      probs[t * experts + e] /= sum;
  }
  return probs;
}

TEST(CpuRouteCappedLp, KeepsEveryCapOnRandomGroups) {
  // 3 groups of 64 tokens, 8 experts, 16 slots each (capacity factor 2), at
  // most 2 experts per token.
  const int64_t groups = 3, tokens = 64, experts = 8, capacity = 16, k = 2;
  std::vector<float> probs = randomRouterProbs(groups * tokens, experts, 7);
  RouteResult lp =
      routeCappedLp(k, 50, 0.01, groups, tokens, experts, capacity, probs);
  for (int64_t g = 0; g < groups; ++g) {
    std::vector<int> expertsOfToken(tokens, 0);
    for (int64_t slot = 0; slot < experts * capacity; ++slot) {
      int64_t at = g * experts * capacity + slot;
      int32_t token = lp.indices[at];
      if (token < 0)
        continue;
      ASSERT_LT(token, tokens);
      EXPECT_EQ(lp.weights[at],
                probs[(g * tokens + token) * experts + slot / capacity]);
      ++expertsOfToken[token];
    }
    for (int count : expertsOfToken)
      EXPECT_LE(count, k);
  }
}

TEST(CpuRouteCappedLp, AssignmentKeepsTheProgramsBounds) {
  const int64_t tokens = 48, experts = 6, capacity = 12, k = 2;
  std::vector<float> probs = randomRouterProbs(tokens, experts, 11);
  std::vector<double> assignment(tokens * experts, -1.0);
  smxrt_cpu_solve_capped_assignment(k, 200, 0.01, tokens, experts, capacity,
                                    probs.data(), assignment.data());
  // Bounds hold up to the slack the scalings leave at λ = 0.01 (1%).
  for (int64_t t = 0; t < tokens; ++t) {
    double row = 0.0;
    for (int64_t e = 0; e < experts; ++e) {
      double value = assignment[t * experts + e];
      EXPECT_GE(value, 0.0);
      EXPECT_LE(value, 1.0);
      row += value;
    }
    EXPECT_LE(row, k * 1.01) << "token " << t;
  }
  for (int64_t e = 0; e < experts; ++e) {
    double column = 0.0;
    for (int64_t t = 0; t < tokens; ++t)
      column += assignment[t * experts + e];
    EXPECT_LE(column, capacity * 1.01) << "expert " << e;
    // 72 slots for 96 token places: every expert fills.
    EXPECT_GE(column, capacity * 0.99) << "expert " << e;
  }
}

TEST(CpuRouteCappedLp, NoSlotsLeaveEveryOutputEmpty) {
  std::vector<float> probs = randomRouterProbs(4, 2, 3);
  RouteResult result = routeCappedLp(1, 10, 0.01, 2, 2, 2, 0, probs);
  EXPECT_TRUE(result.indices.empty());
}

// OpenBLAS starts threads when it loads: fork only in the threadsafe style.
TEST(CpuRouteDeathTest, CappedLpRejectsANonPositiveEntropy) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  std::vector<float> probs(4, 0.25f);
  std::vector<int32_t> indices(4);
  std::vector<float> weights(4);
  EXPECT_DEATH(smxrt_cpu_route_capped_lp(1, 10, 0.0, 1, 4, 1, 4, probs.data(),
                                         indices.data(), weights.data()),
               "smxrt_cpu_route_capped_lp: broken precondition .*entropy = 0 "
               "is not a positive number");
}

TEST(CpuRouteDeathTest, UnknownPolicyAbortsWithAMessage) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  std::vector<float> probs(4, 0.25f);
  std::vector<int32_t> indices(4);
  std::vector<float> weights(4);
  EXPECT_DEATH(smxrt_cpu_route(9, 1, 0, 1, 4, 1, 4, probs.data(), nullptr,
                               indices.data(), weights.data()),
               "smxrt_cpu_route: broken precondition .*unknown policy 9");
}

TEST(CpuSgemmDeathTest, ShortLeadingDimensionAbortsWithAMessage) {
  ::testing::FLAGS_gtest_death_test_style = "threadsafe";
  std::vector<float> buffer(64);
  EXPECT_DEATH(smxrt_cpu_sgemm(1, 1, 2, 2, 3, 0, 0, 0, buffer.data(), 0, 2, 0,
                               0, buffer.data(), 0, 2, 0, 0, buffer.data(), 0,
                               2, 0, 0),
               "smxrt_cpu_sgemm: broken precondition .*ld_a = 2 is less than "
               "max\\(1, 3\\)");
}

} // namespace
