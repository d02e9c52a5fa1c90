"""MoE routing per the `moe` dialect docs (docs/dialects/MoeDialect.md).

Every policy fills, per group, C slots per expert; the slot index is the fill
order. An empty slot has index -1 and weight 0. Indices are token indices
within the group; weights are router probabilities (never renormalized).
Ties are broken deterministically: lower token index first, then lower
expert index.
"""

import numpy as np

EMPTY = -1


def num_groups(num_tokens, group_size):
    """G = max(T // group_size, 1), raised until it divides T."""
    g = max(num_tokens // group_size, 1)
    while num_tokens % g:
        g += 1
    return g


def capacity(num_tokens, groups, num_experts, capacity_factor):
    """C = min(max(round_half_even(CF * (T/G) / E), 4), T/G)."""
    per_group = num_tokens // groups
    c = round(capacity_factor * per_group / num_experts)  # Python round: half-even
    return min(max(c, 4), per_group)


def _empty(num_experts, cap):
    return (np.full((num_experts, cap), EMPTY, dtype=np.int32),
            np.zeros((num_experts, cap), dtype=np.float64))


class _Slots:
    """One group's [E, C] dispatch table, filled in order: an expert's next free
    slot takes a token (its index and router probability) while the expert has room."""

    def __init__(self, probs, cap):
        self.probs, self.cap = probs, cap
        self.idx, self.w = _empty(probs.shape[1], cap)
        self.fill = np.zeros(probs.shape[1], dtype=np.int64)

    def take(self, t, e):
        """Puts token t in expert e's next slot; False (and no change) when e is full."""
        slot = self.fill[e]
        if slot >= self.cap:
            return False
        self.idx[e, slot] = t
        self.w[e, slot] = self.probs[t, e]
        self.fill[e] = slot + 1
        return True


def expert_choices(probs):
    """[T, E] expert indices per token by descending probability, ties -> lower expert."""
    return np.argsort(-probs, axis=1, kind="stable")


def experts_choose(probs, cap):
    """Each expert takes its top-C tokens (descending prob, ties -> lower token)."""
    tokens, experts = probs.shape
    idx, w = _empty(experts, cap)
    for e in range(experts):
        order = np.argsort(-probs[:, e], kind="stable")[:cap]
        idx[e, :len(order)] = order
        w[e, :len(order)] = probs[order, e]
    return idx, w


def tokens_choose(probs, cap, k, batch_prioritized):
    """Top-k token choice; all rank-r choices are placed before any rank r+1."""
    tokens = probs.shape[0]
    slots = _Slots(probs, cap)
    choices = expert_choices(probs)
    if batch_prioritized:
        priority = np.argsort(-probs[np.arange(tokens), choices[:, 0]], kind="stable")
    else:
        priority = np.arange(tokens)
    for r in range(k):
        for t in priority:
            slots.take(t, choices[t, r])
    return slots.idx, slots.w


def capped_experts_choose(probs, cap, k):
    """Greedy over (token, expert) pairs by descending prob; <= k experts per token."""
    tokens, experts = probs.shape
    slots = _Slots(probs, cap)
    taken = np.zeros(tokens, dtype=np.int64)
    # Row-major flattening + stable sort: ties -> lower token, then lower expert.
    for flat in np.argsort(-probs.reshape(-1), kind="stable"):
        t, e = divmod(int(flat), experts)
        if taken[t] < k and slots.take(t, e):
            taken[t] += 1
    return slots.idx, slots.w


LP_ITERATIONS = 50
LP_ENTROPY = 0.03


def _logsumexp_or_ninf(x, axis):
    """logsumexp along axis, -inf where every value is -inf."""
    top = np.max(x, axis=axis, keepdims=True)
    safe = np.where(np.isneginf(top), 0.0, top)
    total = np.log(np.sum(np.exp(x - safe), axis=axis)) + np.squeeze(safe, axis)
    return np.where(np.isneginf(np.squeeze(top, axis)), -np.inf, total)


def solve_capped_assignment(probs, cap, k, iterations=LP_ITERATIONS, entropy=LP_ENTROPY):
    """log A [T, E] of capped expert choice's entropy-regularized program
    (Zhou et al. 2022, section 4.5): max sum(S*A) + entropy*H(A),
    H(A) = -sum(A log A - A), with each expert's column of A summing to at most
    cap, each token's row to at most k, 0 <= A <= 1. Its dual by block
    coordinate ascent: the columns, rows and entries above their bound scaled
    down onto it in turn, with the entropy weight falling geometrically from 1
    to `entropy` over the first half of the iterations."""
    scores = np.where(np.isnan(probs), -np.inf, probs.astype(np.float64))
    tokens, experts = scores.shape
    alpha, beta = np.zeros(experts), np.zeros(tokens)
    gamma = np.zeros((tokens, experts))
    log_cap, log_k = np.log(float(cap)), np.log(float(k))
    annealing, start = iterations // 2, max(1.0, entropy)
    for it in range(iterations):
        lam = start * (entropy / start) ** (it / annealing) if it < annealing else entropy
        alpha = np.maximum(0.0, lam * (_logsumexp_or_ninf(
            (scores - beta[:, None] - gamma) / lam, axis=0) - log_cap))
        beta = np.maximum(0.0, lam * (_logsumexp_or_ninf(
            (scores - alpha[None, :] - gamma) / lam, axis=1) - log_k))
        gamma = np.maximum(0.0, scores - alpha[None, :] - beta[:, None])
    return (scores - alpha[None, :] - beta[:, None] - gamma) / entropy


def capped_experts_choose_lp(probs, cap, k, iterations=LP_ITERATIONS, entropy=LP_ENTROPY):
    """Greedy over (token, expert) pairs by descending log A of the program above
    (ties, to 1e-9: descending prob, then lower token, then lower expert); <= k
    experts per token."""
    tokens, experts = probs.shape
    slots = _Slots(probs, cap)
    if cap == 0:
        return slots.idx, slots.w
    k = min(k, experts)
    # Ranked by log A in units of 1e-9 (round half to even, as the kernel):
    # values that differ only by rounding tie and fall back to the probability.
    log_a = np.rint(solve_capped_assignment(probs, cap, k, iterations, entropy)
                    .reshape(-1) * 1e9)
    prob = probs.astype(np.float64).reshape(-1)
    # lexsort: last key first; NaN sorts last in both keys.
    order = np.lexsort((np.arange(prob.size), -np.where(np.isnan(prob), -np.inf, prob),
                        -np.where(np.isnan(log_a), -np.inf, log_a)))
    taken = np.zeros(tokens, dtype=np.int64)
    for flat in order:
        t, e = divmod(int(flat), experts)
        if taken[t] < k and slots.take(t, e):
            taken[t] += 1
    return slots.idx, slots.w


def hash_route(probs, token_ids, cap):
    """Expert = token_id mod E; tokens fill slots in index order until full."""
    tokens, experts = probs.shape
    slots = _Slots(probs, cap)
    for t in range(tokens):
        slots.take(t, int(token_ids[t]) % experts)
    return slots.idx, slots.w


def route_group(probs, policy, cap, k=1, batch_prioritized=True, token_ids=None,
                method="greedy", iterations=LP_ITERATIONS, entropy=LP_ENTROPY):
    """Routes one group's probs [Tg, E] -> (indices [E, C] int32, weights [E, C]).
    method, iterations, entropy: capped_experts_choose's."""
    if policy == "experts_choose":
        return experts_choose(probs, cap)
    if policy == "tokens_choose":
        return tokens_choose(probs, cap, k, batch_prioritized)
    if policy == "capped_experts_choose" and method == "lp":
        return capped_experts_choose_lp(probs, cap, k, iterations, entropy)
    if policy == "capped_experts_choose":
        return capped_experts_choose(probs, cap, k)
    if policy == "hash":
        assert token_ids is not None, "hash routing needs token ids"
        return hash_route(probs, token_ids, cap)
    raise AssertionError(f"unknown policy {policy!r}")


def route(probs, policy, capacity_factor, group_size, k=1, batch_prioritized=True,
          token_ids=None, method="greedy", iterations=LP_ITERATIONS, entropy=LP_ENTROPY):
    """moe.route: probs [T, E] -> (dispatch_indices [G, E, C], combine_weights [G, E, C])."""
    t, e = probs.shape
    g = num_groups(t, group_size)
    cap = capacity(t, g, e, capacity_factor)
    tg = t // g
    indices = np.empty((g, e, cap), dtype=np.int32)
    weights = np.empty((g, e, cap), dtype=np.float64)
    for gi in range(g):
        rows = slice(gi * tg, (gi + 1) * tg)
        ids = None if token_ids is None else token_ids[rows]
        indices[gi], weights[gi] = route_group(probs[rows], policy, cap, k,
                                               batch_prioritized, ids, method,
                                               iterations, entropy)
    return indices, weights


def softmax(x, axis=-1):
    z = x - np.max(x, axis=axis, keepdims=True)
    ez = np.exp(z)
    return ez / np.sum(ez, axis=axis, keepdims=True)


def logsumexp(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True)
    return (m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))).squeeze(axis)


def router_z_loss(logits):
    """mean_t(logsumexp_e(logits[t, e])^2)."""
    return float(np.mean(logsumexp(logits, axis=-1) ** 2))


def load_balance_loss(probs, k, groups):
    """Mean over groups of E^2 * mean_e(f_e * P_e); f_e counts top-k before drops."""
    t, e = probs.shape
    tg = t // groups
    losses = []
    for gi in range(groups):
        p = probs[gi * tg:(gi + 1) * tg]
        topk = expert_choices(p)[:, :k]
        f = np.bincount(topk.reshape(-1), minlength=e) / tg
        losses.append(e * e * np.mean(f * p.mean(axis=0)))
    return float(np.mean(losses))


def expert_load(indices, num_tokens):
    """moe.expert_load: (tokens_per_expert [E] int64, dropped_fraction)."""
    g, e, _ = indices.shape
    tokens_per_expert = (indices >= 0).sum(axis=(0, 2)).astype(np.int64)
    tg = num_tokens // g
    taken = np.zeros(num_tokens, dtype=bool)
    for gi in range(g):
        filled = indices[gi][indices[gi] >= 0]
        taken[gi * tg + filled] = True
    return tokens_per_expert, float(np.count_nonzero(~taken) / num_tokens)
