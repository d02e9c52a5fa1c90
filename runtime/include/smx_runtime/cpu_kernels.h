/*===- smx_runtime/cpu_kernels.h - Kernels compiled models call ----*- C -*-===*
 *
 * The functions a model object compiled for the CPU calls (docs/abi.md,
 * "Runtime kernels the object calls"). Their arguments come from compiled
 * code, not from users: an argument that breaks a stated precondition is a
 * compiler bug, reported on stderr before the process aborts, since a kernel
 * has no status to return and silently wrong numbers are worse.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SMX_RUNTIME_CPU_KERNELS_H
#define SMX_RUNTIME_CPU_KERNELS_H

#include <stdint.h>

#include "smx_runtime/api.h"
#include "smx_runtime/model_abi.h"

SMXRT_EXTERN_C_BEGIN

/* C[o][i] = op(A[o][i]) · op(B[o][i]) (+ C[o][i] when accumulate), for
 * o < outer, i < inner, where X[o][i] = X + offset_x + o·outer_stride_x +
 * i·inner_stride_x (in elements) is a row-major matrix with leading
 * dimension ld_x; op transposes when trans_x. A is m×k after op, B k×n,
 * C m×n. A stride of 0 broadcasts an operand. Runs on OpenBLAS, one
 * cblas_sgemm per (o, i).
 *
 * Preconditions: sizes and offsets are non-negative, every leading dimension
 * is at least max(1, the stored matrix's width), and every dimension and
 * leading dimension fits in a 32-bit int (OpenBLAS's index type). */
SMXRT_API void smxrt_cpu_sgemm(int64_t outer, int64_t inner, int64_t m,
                               int64_t n, int64_t k, int32_t trans_a,
                               int32_t trans_b, int32_t accumulate,
                               const float *a, int64_t offset_a, int64_t ld_a,
                               int64_t outer_stride_a, int64_t inner_stride_a,
                               const float *b, int64_t offset_b, int64_t ld_b,
                               int64_t outer_stride_b, int64_t inner_stride_b,
                               float *c, int64_t offset_c, int64_t ld_c,
                               int64_t outer_stride_c, int64_t inner_stride_c);

/* Fills the expert slots of every group (moe.route semantics, see
 * docs/dialects/MoeDialect.md and docs/runtime.md, "CPU kernels"). policy is
 * an smxrt_routing_policy_t (model_abi.h); probs is
 * [groups·tokens_per_group, experts] f32;
 * token_ids (hash only, else ignored and may be NULL)
 * [groups·tokens_per_group] i32; dispatch_indices and combine_weights are
 * [groups, experts, capacity]. A slot holds the index of its token within the
 * group and the router probability of the (token, expert) pair, or -1 and 0
 * when empty; each expert's slots fill in order from 0. `k` (tokens_choose,
 * capped_experts_choose) must be at least 1; a k above `experts` acts as
 * `experts`. NaN probabilities rank below every number. */
SMXRT_API void
smxrt_cpu_route(int32_t policy, int64_t k, int32_t batch_prioritized,
                int64_t groups, int64_t tokens_per_group, int64_t experts,
                int64_t capacity, const float *probs, const int32_t *token_ids,
                int32_t *dispatch_indices, float *combine_weights);

/* capped_experts_choose as the Expert Choice paper defines it (its
 * section 4.5 and appendix C): per group, the entropy-regularized program
 *
 *   max_A  sum(S·A) + entropy · H(A),   H(A) = -sum(A·log A - A)
 *   s.t.   each expert's column of A sums to at most `capacity`,
 *          each token's row to at most k, and 0 <= A <= 1,
 *
 * over the group's probabilities S, its dual solved by `iterations` rounds
 * of scaling (block coordinate ascent, closed-form steps); then slots are
 * filled greedily in decreasing order of A (ties: probability, lower token,
 * lower expert), a token joining at most k experts. Arguments, slots and
 * weights as smxrt_cpu_route's. Preconditions: k >= 1, iterations >= 0,
 * entropy > 0 and finite. */
SMXRT_API void smxrt_cpu_route_capped_lp(
    int64_t k, int64_t iterations, double entropy, int64_t groups,
    int64_t tokens_per_group, int64_t experts, int64_t capacity,
    const float *probs, int32_t *dispatch_indices, float *combine_weights);

/* The fractional assignment A [tokens, experts] (f64) of the program above
 * for one group, before slots are filled: for studies of the routing
 * (bench/routing). */
SMXRT_API void smxrt_cpu_solve_capped_assignment(
    int64_t k, int64_t iterations, double entropy, int64_t tokens,
    int64_t experts, int64_t capacity, const float *probs,
    double *assignment);

SMXRT_EXTERN_C_END

#endif /* SMX_RUNTIME_CPU_KERNELS_H */
