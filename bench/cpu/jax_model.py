"""The smx model, its pre-training loss and one AdamW train step in JAX: the
model of the JAX and IREE peers of the CPU benchmark (bench/cpu/jax_peer.py).

A port of the PyTorch reference (test/reference/smx_torch.py, the forward
pass; test/reference/torch_train_step.py, the objective and the optimizer),
written as pure functions of static shapes so that one `jax.jit` traces the
whole model, and the same trace exports to StableHLO for IREE:

- embeddings (word + position + type, layer norm, projection), post-LN
  blocks, mixing kinds linear, attention, fourier, hartley, circulant and
  toeplitz, the dense FFN, the pooler with the sentence-order / classifier
  heads and the MLM head; no dropout, no router jitter (the references have
  none either);
- MoE with router policy experts_choose only, routed in the graph: every
  expert takes the top-C tokens of each group by router probability (one
  `jax.lax.top_k` over the tokens, C = smx_routing.capacity), the combine
  weights are the router probabilities at the chosen slots (not
  renormalized), so gradients flow through the probabilities and not
  through the discrete choices (top_k's derivative gathers the tangents at
  the chosen indices, exactly torch's `probs[rows, experts]`). The other
  policies are sequential greedy fills with no natural one-op form: they
  raise NotImplementedError (the benchmark models use experts_choose or no
  MoE). `top_k` breaks ties by lower index first, as smx_routing does, but
  float32 near-ties may order differently from the float64 reference;
- the pre-training objective of torch_train_step.loss_terms (MLM cross
  entropy on the gathered masked positions, sentence order, spec.z_loss x
  each MoE layer's router z-loss) with the training capacity factor;
- a train step: value_and_grad, global-norm clipping with
  scale = min(1, c / (norm + 1e-6)), smx.adamw_update (beta1 0.9, beta2
  0.999, eps 1e-6, decoupled weight decay 0.01 on the normal-initialized
  parameters only), the linear warm-up / linear decay schedule at the
  0-based step, Adam step t = step + 1. Written out rather than taken from
  optax: optax.clip_by_global_norm scales by c / norm (no 1e-6) and
  optax.adamw decays every parameter its mask selects but would also move
  the parameters the loss does not read (the references leave those and
  their moments untouched), so matching the reference exactly takes as much
  code as the formula itself.

fourier / hartley run as jnp.fft.fft2 (`dft="fft"`, XLA's FFT) or as
products with the cos / sin DFT matrices (`dft="matmul"`: for compilers
without a complex FFT, such as IREE's llvm-cpu); both are checked against
the reference by test_jax_model.py.

The module imports no torch (the peers' start-up time would include it):
the constants and the decay rule of torch_train_step.py are repeated here
and test_jax_model.py checks that they agree.
"""

import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir, "test", "reference"))
if REFERENCE not in sys.path:
    sys.path.insert(0, REFERENCE)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import smx_routing  # noqa: E402
from smx_model import parameter_shapes, pooled_heads  # noqa: E402

MASK_VALUE = -1e30        # attention score of a pad key (as the references)
IGNORE_INDEX = -100       # smx.cross_entropy's default
# smx.adamw_update / torch_train_step defaults.
BETA1 = 0.9
BETA2 = 0.999
EPSILON = 1e-6
WEIGHT_DECAY = 0.01
CLIP_TINY = 1e-6          # clipping scale = min(1, c / (norm + 1e-6))

SUPPORTED_MIXING = ("linear", "attention", "fourier", "hartley", "circulant", "toeplitz")
SUPPORTED_POLICIES = ("experts_choose",)
# The forward's outputs a benchmark reads (those the spec has), in this order.
OUTPUTS = ("sequence_output", "mlm_logits", "pooled_output", "sentence_order_logits",
           "classifier_logits")


def check_spec(spec):
    """Raises for what this port does not implement (before any tracing)."""
    for i, kind in enumerate(spec.mixing):
        if kind not in SUPPORTED_MIXING:
            raise ValueError(f"layer {i}: mixing kind {kind!r} is not implemented in "
                             f"jax_model (supported: {', '.join(SUPPORTED_MIXING)})")
    if any(spec.moe_layers) and spec.router_policy not in SUPPORTED_POLICIES:
        raise NotImplementedError(
            f"router policy {spec.router_policy!r}: jax_model routes experts_choose only "
            "(one top_k per group in the graph); tokens_choose, capped_experts_choose and "
            "hash are sequential greedy fills that are not ported")


def resolve_capacity(spec, capacity_factor):
    """'train', 'eval' (the spec's factors) or a number -> float."""
    return spec.capacity_factor(capacity_factor) if isinstance(capacity_factor, str) \
        else float(capacity_factor)


# --------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------

def activation(kind, x):
    if kind == "gelu_tanh":
        return jax.nn.gelu(x, approximate=True)
    if kind == "gelu":
        return jax.nn.gelu(x, approximate=False)
    if kind == "relu":
        return jax.nn.relu(x)
    if kind == "tanh":
        return jnp.tanh(x)
    raise ValueError(f"unknown activation {kind!r}")


def dense(x, weight, bias=None):
    """x [..., in] . weight [in, out] + bias."""
    y = jnp.matmul(x, weight)
    return y if bias is None else y + bias


def layer_norm(x, p, name, eps):
    """(x - mean) / sqrt(var + eps) * scale + bias, biased variance over the last axis."""
    mean = jnp.mean(x, axis=-1, keepdims=True)
    centered = x - mean
    var = jnp.mean(centered * centered, axis=-1, keepdims=True)
    return centered * jax.lax.rsqrt(var + eps) * p[name + ".scale"] + p[name + ".bias"]


def circulant_matrix(v):
    """C(v)[r, c] = v[(r - c) mod N] (a gather with a constant index table)."""
    n = v.shape[0]
    r, c = np.indices((n, n))
    return v[(r - c) % n]


def toeplitz_matrix(t):
    """T(t)[r, c] = t[N - 1 + c - r] for t of length 2N - 1."""
    n = (t.shape[0] + 1) // 2
    r, c = np.indices((n, n))
    return t[n - 1 + c - r]


STRUCTURED = {"circulant": circulant_matrix, "toeplitz": toeplitz_matrix}


def dft_matrices(n, dtype):
    """(cos, sin) [n, n] of the DFT F[j, k] = exp(-2 pi i j k / n) = cos - i sin,
    computed in float64 (j k reduced mod n first) and cast to dtype."""
    jk = np.outer(np.arange(n), np.arange(n)) % n
    angle = 2.0 * np.pi * jk / n
    return jnp.asarray(np.cos(angle), dtype), jnp.asarray(np.sin(angle), dtype)


def mix_dft(kind, h):
    """fourier: Re(F_S X F_d); hartley: Re - Im of the same, by real matrix products.
    With F = C - i S (both symmetric): Re = C_S X C_d - S_S X S_d and
    Im = -(S_S X C_d + C_S X S_d), so Re - Im = C_S X (C_d + S_d) + S_S X (C_d - S_d)."""
    s, d = h.shape[-2], h.shape[-1]
    cs, ss = dft_matrices(s, h.dtype)
    cd, sd = dft_matrices(d, h.dtype)
    left_c = jnp.einsum("st,btd->bsd", cs, h)
    left_s = jnp.einsum("st,btd->bsd", ss, h)
    if kind == "fourier":
        return jnp.matmul(left_c, cd) - jnp.matmul(left_s, sd)
    return jnp.matmul(left_c, cd + sd) + jnp.matmul(left_s, cd - sd)


def mix_fft(kind, h):
    """The same by XLA's FFT (complex)."""
    z = jnp.fft.fft2(h, axes=(-2, -1))
    out = z.real if kind == "fourier" else z.real - z.imag
    return out.astype(h.dtype)


def key_bias(padding_mask, dtype):
    """[B, S] attention score bias: 0 on real keys, MASK_VALUE on pads."""
    return jnp.where(padding_mask, jnp.zeros((), dtype), jnp.full((), MASK_VALUE, dtype))


def self_attention(h, p, pre, num_heads, bias):
    """Multi-head self-attention on h [B, S, d]; bias [B, S] from key_bias."""
    b, s, d = h.shape
    dh = d // num_heads

    def heads(name):
        y = dense(h, p[pre + name + ".weight"], p[pre + name + ".bias"])
        return y.reshape(b, s, num_heads, dh).transpose(0, 2, 1, 3)    # [B, H, S, dh]

    q, k, v = heads("query"), heads("key"), heads("value")
    scores = jnp.matmul(q, k.swapaxes(-1, -2)) * (1.0 / math.sqrt(dh))
    probs = jax.nn.softmax(scores + bias[:, None, None, :], axis=-1)
    out = jnp.matmul(probs, v).transpose(0, 2, 1, 3).reshape(b, s, d)
    return dense(out, p[pre + "output.weight"], p[pre + "output.bias"])


def mixing(kind, h, p, pre, num_heads, bias, dft="fft"):
    """Token mixing of h [B, S, d] (S = max_length for the non-attention kinds)."""
    if kind == "linear":
        return dense(jnp.einsum("st,btd->bsd", p[pre + "seq_weight"], h),
                     p[pre + "hidden_weight"])
    if kind in STRUCTURED:
        build = STRUCTURED[kind]
        seq, hidden_t = build(p[pre + "seq_params"]), build(p[pre + "hidden_params"]).T
        return dense(jnp.einsum("st,btd->bsd", seq, h), hidden_t)
    if kind in ("fourier", "hartley"):
        if dft == "fft":
            return mix_fft(kind, h)
        if dft == "matmul":
            return mix_dft(kind, h)
        raise ValueError(f"dft must be 'fft' or 'matmul', not {dft!r}")
    if kind == "attention":
        return self_attention(h, p, pre, num_heads, bias)
    raise ValueError(f"mixing kind {kind!r} is not implemented in jax_model")


def feed_forward(x, p, pre, act):
    hidden = activation(act, dense(x, p[pre + "input.weight"], p[pre + "input.bias"]))
    return dense(hidden, p[pre + "output.weight"], p[pre + "output.bias"])


# --------------------------------------------------------------------------
# Mixture of experts
# --------------------------------------------------------------------------

def route_experts_choose(probs, spec, capacity_factor):
    """experts_choose in the graph: probs [T, E] -> (indices [G, E, C] token index
    within the group, weights [G, E, C] = probs at those slots, differentiable).

    G = smx_routing.num_groups(T, group_size) groups of consecutive tokens;
    C = smx_routing.capacity(T, G, E, cf) <= T/G, so no slot is ever empty."""
    if spec.router_policy != "experts_choose":
        raise NotImplementedError(f"router policy {spec.router_policy!r} is not "
                                  "implemented in jax_model (experts_choose only)")
    t, e = probs.shape
    g = smx_routing.num_groups(t, spec.group_size)
    cap = smx_routing.capacity(t, g, e, capacity_factor)
    weights, indices = jax.lax.top_k(probs.reshape(g, t // g, e).transpose(0, 2, 1), cap)
    return indices, weights


def mixture_of_experts(x, p, pre, spec, capacity_factor):
    """MoE sublayer on x [B, S, d], as smx_torch.mixture_of_experts: router, routing,
    gather of every expert's G*C slots, two batched GEMMs [E, G*C, .], weighting by
    the combine weights and a scatter-add back to the tokens.

    Returns (y [B, S, d], router logits [T, E], probs [T, E], indices, weights)."""
    b, s, d = x.shape
    flat = x.reshape(b * s, d)
    logits = dense(flat, p[pre + "router.weight"], p[pre + "router.bias"])
    probs = jax.nn.softmax(logits, axis=-1)
    indices, weights = route_experts_choose(probs, spec, capacity_factor)
    g, e, cap = indices.shape
    tg = flat.shape[0] // g
    rows = indices + (jnp.arange(g, dtype=indices.dtype) * tg)[:, None, None]
    rows = rows.transpose(1, 0, 2).reshape(e, g * cap)                # slots by expert
    hidden = jnp.matmul(flat[rows], p[pre + "experts.input.weight"]) \
        + p[pre + "experts.input.bias"][:, None, :]
    hidden = activation(spec.activation, hidden)
    expert_out = jnp.matmul(hidden, p[pre + "experts.output.weight"]) \
        + p[pre + "experts.output.bias"][:, None, :]                   # [E, G*C, d]
    expert_out = expert_out * weights.transpose(1, 0, 2).reshape(e, g * cap, 1)
    y = jnp.zeros_like(flat).at[rows.reshape(-1)].add(expert_out.reshape(-1, d))
    return y.reshape(b, s, d), logits, probs, indices, weights


# --------------------------------------------------------------------------
# Heads and the forward pass
# --------------------------------------------------------------------------

def mlm_head(h, p, eps):
    """LN(gelu_tanh(h . W + b)) . word^T + output_bias on h [..., d]."""
    m = jax.nn.gelu(dense(h, p["heads.mlm.dense.weight"], p["heads.mlm.dense.bias"]),
                    approximate=True)
    m = layer_norm(m, p, "heads.mlm.layer_norm", eps)
    return jnp.matmul(m, p["embeddings.word"].T) + p["heads.mlm.output_bias"]


def forward(spec, p, input_ids, type_ids, padding_mask, capacity_factor, mlm=False,
            dft="fft", heads=None):
    """The forward pass (no noise), as smx_torch.forward.

    p: {name: array} of one float dtype. input_ids, type_ids: [B, S] integer arrays;
    padding_mask: [B, S] bool (True: real token) or numbers (nonzero: real);
    capacity_factor: 'train', 'eval' or a number (static); mlm: run the MLM head on
    every position; dft: 'fft' or 'matmul' for fourier / hartley; heads: names of the
    pooled-head outputs to compute (default: all the spec has).

    Returns {name: array}: sequence_output; mlm_logits [B, S, V] with mlm;
    pooled_output and the pooled heads' logits (sentence_order_logits,
    classifier_logits); for every MoE layer i, moe.i.router_logits,
    moe.i.router_probs, moe.i.dispatch_indices [G, E, C] and moe.i.combine_weights.
    """
    check_spec(spec)
    cf = resolve_capacity(spec, capacity_factor)
    s = input_ids.shape[1]
    eps = spec.layer_norm_epsilon
    dtype = p["embeddings.word"].dtype
    if padding_mask.dtype != jnp.bool_:
        padding_mask = padding_mask != 0
    bias = key_bias(padding_mask, dtype)
    out = {}
    emb = (jnp.take(p["embeddings.word"], input_ids, axis=0)
           + p["embeddings.position"][:s][None]
           + jnp.take(p["embeddings.type"], type_ids, axis=0))
    emb = layer_norm(emb, p, "embeddings.layer_norm", eps)
    h = dense(emb, p["embeddings.projection.weight"], p["embeddings.projection.bias"])
    for i, kind in enumerate(spec.mixing):
        pre = f"layers.{i}."
        mixed = mixing(kind, h, p, pre + "mixing.", spec.num_heads, bias, dft)
        x = layer_norm(h + mixed, p, pre + "mixing_layer_norm", eps)
        if spec.moe_layers[i]:
            tag = f"moe.{i}."
            (y, out[tag + "router_logits"], out[tag + "router_probs"],
             out[tag + "dispatch_indices"], out[tag + "combine_weights"]) = \
                mixture_of_experts(x, p, pre + "moe.", spec, cf)
        else:
            y = feed_forward(x, p, pre + "ffn.", spec.activation)
        h = layer_norm(x + y, p, pre + "output_layer_norm", eps)
    out["sequence_output"] = h
    if mlm:
        out["mlm_logits"] = mlm_head(h, p, eps)
    chosen = [(pre, name) for pre, name in pooled_heads(spec) if heads is None or name in heads]
    if spec.needs_pooler and chosen:
        pooled = jnp.tanh(dense(h[:, 0], p["heads.pooler.weight"], p["heads.pooler.bias"]))
        out["pooled_output"] = pooled
        for pre, name in chosen:
            out[name] = dense(pooled, p[pre + ".weight"], p[pre + ".bias"])
    return out


def infer_outputs(spec, p, input_ids, type_ids, dft="fft"):
    """The benchmark's inference: the forward with the eval capacity factor, the MLM
    head on every position (with heads.mlm) and every pooled head; padding_mask =
    input_ids != 0. Returns {name: array} for the OUTPUTS the spec has."""
    out = forward(spec, p, input_ids, type_ids, input_ids != 0, "eval", mlm=spec.mlm,
                  dft=dft)
    return {name: out[name] for name in OUTPUTS if name in out}


# --------------------------------------------------------------------------
# Pre-training objective
# --------------------------------------------------------------------------

def cross_entropy(logits, labels, weights=None, ignore_index=IGNORE_INDEX):
    """smx.cross_entropy: sum_i w_i * (logsumexp(logits_i) - logits_i[label_i]) /
    max(sum_i w_i, 1), with w_i = 0 where label_i == ignore_index (w_i = 1 without
    weights)."""
    valid = labels != ignore_index
    w = valid.astype(logits.dtype) if weights is None \
        else jnp.where(valid, weights.astype(logits.dtype), jnp.zeros((), logits.dtype))
    safe = jnp.where(valid, labels, 0)
    # logits[..., label] as a masked sum (exact: one term is nonzero), not
    # take_along_axis: its gather / scatter pair with batching dimensions does not
    # compile in iree-compile 3.13 when a batch dimension is 1. The cost is
    # elementwise over [..., V], like the logsumexp's.
    classes = jnp.arange(logits.shape[-1], dtype=safe.dtype)
    picked = jnp.sum(jnp.where(classes == safe[..., None], logits, jnp.zeros((), logits.dtype)),
                     axis=-1)
    nll = jax.nn.logsumexp(logits, axis=-1) - picked
    return jnp.sum(w * nll) / jnp.maximum(jnp.sum(w), 1.0)


def router_z_loss(logits):
    """mean_t(logsumexp_e(logits[t, e])^2) over all tokens, pads included."""
    return jnp.mean(jnp.square(jax.nn.logsumexp(logits, axis=-1)))


def pretrain_loss(spec, p, batch, capacity_factor="train", dft="fft"):
    """torch_train_step.loss_terms + total_loss for task pretrain.

    batch: input_ids, type_ids, padding_mask (bool or numbers) [B, S]; with
    heads.mlm mlm_positions, mlm_labels, mlm_weights [B, P]; with
    heads.sentence_order order_labels [B]. Returns (loss, {part: value}): the parts
    are mlm_loss, sentence_order_loss and moe.i.router_z_loss (unweighted; the loss
    adds spec.z_loss times each)."""
    if not (spec.mlm or spec.sentence_order):
        raise ValueError("pretrain needs heads.mlm or heads.sentence_order in the spec")
    heads = ("sentence_order_logits",) if spec.sentence_order else ()
    out = forward(spec, p, batch["input_ids"], batch["type_ids"], batch["padding_mask"],
                  capacity_factor, mlm=False, dft=dft, heads=heads)
    parts = {}
    if spec.mlm:
        h = out["sequence_output"]
        rows = jnp.arange(h.shape[0])[:, None]
        logits = mlm_head(h[rows, batch["mlm_positions"]], p, spec.layer_norm_epsilon)
        parts["mlm_loss"] = cross_entropy(logits, batch["mlm_labels"], batch["mlm_weights"])
    if spec.sentence_order:
        parts["sentence_order_loss"] = cross_entropy(out["sentence_order_logits"],
                                                     batch["order_labels"])
    total = sum(parts.values())
    for i in range(spec.num_layers):
        if spec.moe_layers[i]:
            z = router_z_loss(out[f"moe.{i}.router_logits"])
            parts[f"moe.{i}.router_z_loss"] = z
            total = total + spec.z_loss * z
    return total, parts


def trained_parameters(spec):
    """Names of the parameters the pre-training loss reads, in parameter_shapes
    order. The others (the classifier head; the pooler without a sentence-order
    head) get no gradient in the reference, which leaves them and their moments
    unchanged (torch_train_step.train_step's `untrained`)."""
    names = []
    for name in parameter_shapes(spec):
        if name.startswith("heads.classifier."):
            continue
        if name.startswith("heads.pooler.") and not spec.sentence_order:
            continue
        names.append(name)
    return names


# --------------------------------------------------------------------------
# Optimizer and the train step
# --------------------------------------------------------------------------

def decays(name):
    """Weight decay on the normal-initialized parameters only: not the biases (names
    ending in `bias`, heads.mlm.output_bias included), not the `.scale`s
    (torch_train_step.decays)."""
    return not (name.endswith("bias") or name.endswith(".scale"))


def lr_schedule(step, peak, warmup, total, dtype=jnp.float32):
    """smx.lr_schedule <linear_warmup_linear_decay> at the 0-based traced `step`:
    peak*(step+1)/warmup while step < warmup, then peak*(total-step)/(total-warmup),
    0 from `total` on (the warm-up branch first)."""
    s = step.astype(dtype)
    warm = peak * (s + 1) / max(warmup, 1)
    decay = peak * (total - s) / max(total - warmup, 1)
    return jnp.where(step < warmup, warm, jnp.where(step >= total, jnp.zeros((), dtype), decay))


def adamw_update(param, grad, m, v, lr, t, weight_decay, beta1=BETA1, beta2=BETA2,
                 epsilon=EPSILON):
    """smx.adamw_update (torch_train_step.adamw_update) at the traced 1-based Adam
    step t; the bias corrections 1 - beta^t as -expm1(t log beta), accurate in f32."""
    m1 = beta1 * m + (1 - beta1) * grad
    v1 = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m1 / -jnp.expm1(t * math.log(beta1))
    v_hat = v1 / -jnp.expm1(t * math.log(beta2))
    p1 = param - lr * (m_hat / (jnp.sqrt(v_hat) + epsilon) + weight_decay * param)
    return p1, m1, v1


def sum_of_squares(x):
    """sum(x^2) in two levels: over the last axis, then over the rest. The same
    number for XLA, but IREE's llvm-cpu 3.13 accumulates a whole-tensor reduction
    in few sequential float32 chains (2.7% low on 16 M squares of one size, in a
    test), which the two levels keep short."""
    squares = jnp.square(x)
    return jnp.sum(jnp.sum(squares, axis=-1)) if x.ndim > 1 else jnp.sum(squares)


def global_norm(grads):
    """sqrt of the sum of every gradient's squares (torch_train_step's grad_norm)."""
    return jnp.sqrt(sum(sum_of_squares(g) for g in jax.tree_util.tree_leaves(grads)))


def make_train_step(spec, peak_lr, warmup, total, max_grad_norm=0.0, capacity_factor="train",
                    dft="fft"):
    """A pure train step for `spec` and these hyper-parameters (static):

      train_step(params, first_moments, second_moments, batch, step)
        -> (params, first_moments, second_moments, scalars)

    params and the moments are {name: array} of every parameter (parameter_shapes),
    one float dtype; batch as pretrain_loss; step a 0-d integer array (0-based).
    scalars: loss, the loss parts, grad_norm (before clipping), learning_rate,
    grad_scale. Computes what torch_train_step.train_step computes with these
    arguments and the previous step's moments; the parameters the loss does not
    read (trained_parameters) keep their values and moments."""
    check_spec(spec)
    trained = set(trained_parameters(spec))

    def loss_fn(params, batch):
        return pretrain_loss(spec, params, batch, capacity_factor, dft)

    def train_step(params, first_moments, second_moments, batch, step):
        (loss, parts), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, batch)
        dtype = loss.dtype
        norm = global_norm(grads)
        if max_grad_norm and max_grad_norm > 0:
            scale = jnp.minimum(1.0, max_grad_norm / (norm + CLIP_TINY)).astype(dtype)
        else:
            scale = jnp.ones((), dtype)
        lr = lr_schedule(step, peak_lr, warmup, total, dtype)
        t = (step + 1).astype(dtype)
        new_p, new_m, new_v = {}, {}, {}
        for name in params:
            if name not in trained:
                new_p[name], new_m[name], new_v[name] = \
                    params[name], first_moments[name], second_moments[name]
                continue
            new_p[name], new_m[name], new_v[name] = adamw_update(
                params[name], grads[name] * scale, first_moments[name],
                second_moments[name], lr, t, WEIGHT_DECAY if decays(name) else 0.0)
        scalars = {"loss": loss, **parts, "grad_norm": norm, "learning_rate": lr,
                   "grad_scale": scale}
        return new_p, new_m, new_v, scalars

    return train_step


def zero_moments(params):
    """({name: zeros}, {name: zeros}) shaped like params."""
    return ({k: jnp.zeros_like(v) for k, v in params.items()},
            {k: jnp.zeros_like(v) for k, v in params.items()})
