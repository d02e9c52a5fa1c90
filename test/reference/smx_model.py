"""Forward pass of an smx model in float64 NumPy (eval semantics).

Written from docs/spec.md, docs/weights.md and the smx/mix/moe dialect docs:
post-LN blocks, no dropout, no router jitter.
"""

import math

import numpy as np

import smx_routing as routing

# A large negative instead of -inf on pad keys: identical results whenever a
# row has at least one real key, and a uniform row (not NaN) when it has none.
MASK_VALUE = -1e30


# --------------------------------------------------------------------------
# Parameters (docs/weights.md)
# --------------------------------------------------------------------------

def parameter_shapes(spec):
    """{name: shape} of every parameter the model has, in a stable order."""
    V, L, Y = spec.vocab_size, spec.max_length, spec.type_vocab_size
    e, d, f, E = spec.d_emb, spec.d_model, spec.d_ff, spec.num_experts
    s = {
        "embeddings.word": (V, e),
        "embeddings.position": (L, e),
        "embeddings.type": (Y, e),
        "embeddings.layer_norm.scale": (e,),
        "embeddings.layer_norm.bias": (e,),
        "embeddings.projection.weight": (e, d),
        "embeddings.projection.bias": (d,),
    }
    for i in range(spec.num_layers):
        p = f"layers.{i}."
        kind = spec.mixing[i]
        if kind == "linear":
            s[p + "mixing.seq_weight"] = (L, L)
            s[p + "mixing.hidden_weight"] = (d, d)
        elif kind == "circulant":
            s[p + "mixing.seq_params"] = (L,)
            s[p + "mixing.hidden_params"] = (d,)
        elif kind == "toeplitz":
            s[p + "mixing.seq_params"] = (2 * L - 1,)
            s[p + "mixing.hidden_params"] = (2 * d - 1,)
        elif kind == "attention":
            for proj in ("query", "key", "value", "output"):
                s[p + f"mixing.{proj}.weight"] = (d, d)
                s[p + f"mixing.{proj}.bias"] = (d,)
        s[p + "mixing_layer_norm.scale"] = (d,)
        s[p + "mixing_layer_norm.bias"] = (d,)
        if spec.moe_layers[i]:
            s[p + "moe.router.weight"] = (d, E)
            s[p + "moe.router.bias"] = (E,)
            s[p + "moe.experts.input.weight"] = (E, d, f)
            s[p + "moe.experts.input.bias"] = (E, f)
            s[p + "moe.experts.output.weight"] = (E, f, d)
            s[p + "moe.experts.output.bias"] = (E, d)
        else:
            s[p + "ffn.input.weight"] = (d, f)
            s[p + "ffn.input.bias"] = (f,)
            s[p + "ffn.output.weight"] = (f, d)
            s[p + "ffn.output.bias"] = (d,)
        s[p + "output_layer_norm.scale"] = (d,)
        s[p + "output_layer_norm.bias"] = (d,)
    if spec.mlm:
        s["heads.mlm.dense.weight"] = (d, e)
        s["heads.mlm.dense.bias"] = (e,)
        s["heads.mlm.layer_norm.scale"] = (e,)
        s["heads.mlm.layer_norm.bias"] = (e,)
        s["heads.mlm.output_bias"] = (V,)
    if spec.needs_pooler:
        s["heads.pooler.weight"] = (d, d)
        s["heads.pooler.bias"] = (d,)
    if spec.sentence_order:
        s["heads.sentence_order.weight"] = (d, 2)
        s["heads.sentence_order.bias"] = (2,)
    if spec.has_classifier:
        c = spec.classifier_outputs
        s["heads.classifier.weight"] = (d, c)
        s["heads.classifier.bias"] = (c,)
    return s


def init_parameters(spec, seed):
    """N(0, 0.02) weights, zero biases, unit layer-norm scales; f32 arrays."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in parameter_shapes(spec).items():
        if name.endswith(".bias") or name.endswith("output_bias"):
            params[name] = np.zeros(shape, dtype=np.float32)
        elif name.endswith(".scale"):
            params[name] = np.ones(shape, dtype=np.float32)
        else:
            params[name] = rng.normal(0.0, 0.02, size=shape).astype(np.float32)
    return params


# --------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------

_erf = np.frompyfunc(math.erf, 1, 1)


def activation(kind, x):
    if kind == "gelu_tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    if kind == "gelu":
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))
    if kind == "relu":
        return np.maximum(x, 0.0)
    if kind == "tanh":
        return np.tanh(x)
    raise AssertionError(f"unknown activation {kind!r}")


def layer_norm(x, scale, bias, eps):
    """(x - mean) / sqrt(var + eps) * scale + bias, biased variance over the last dim."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * scale + bias


def dense(x, weight, bias=None):
    y = x @ weight
    return y if bias is None else y + bias


def circulant_matrix(v):
    """C(v)[r, c] = v[(r - c) mod N]."""
    n = v.shape[0]
    r, c = np.indices((n, n))
    return v[(r - c) % n]


def toeplitz_matrix(t):
    """T(t)[r, c] = t[N - 1 + c - r] for t of length 2N - 1."""
    n = (t.shape[0] + 1) // 2
    assert t.shape[0] == 2 * n - 1
    r, c = np.indices((n, n))
    return t[n - 1 + c - r]


def mix_linear(x, seq_weight, hidden_weight):
    """Y[b] = W_seq . X[b] . W_hid."""
    return np.matmul(np.matmul(seq_weight, x), hidden_weight)


def mix_fourier(x):
    """Re(F_L X F_d), unnormalized 2-D DFT over [seq, hidden]."""
    return np.fft.fft2(x, axes=(-2, -1)).real


def mix_hartley(x):
    z = np.fft.fft2(x, axes=(-2, -1))
    return z.real - z.imag


def mix_circulant(x, seq_params, hidden_params):
    """Y[b] = C(s) . X[b] . C(h)^T with explicit matrices."""
    return mix_linear(x, circulant_matrix(seq_params), circulant_matrix(hidden_params).T)


def mix_circulant_fft(x, seq_params, hidden_params):
    """The same by the convolution theorem (C(v) x is the circular convolution v * x)."""
    spectrum = np.fft.fft(seq_params)[:, None] * np.fft.fft(hidden_params)[None, :]
    return np.fft.ifft2(np.fft.fft2(x, axes=(-2, -1)) * spectrum, axes=(-2, -1)).real


def mix_toeplitz(x, seq_params, hidden_params):
    """Y[b] = T(s) . X[b] . T(h)^T."""
    return mix_linear(x, toeplitz_matrix(seq_params), toeplitz_matrix(hidden_params).T)


def self_attention(h, params, prefix, num_heads, padding_mask):
    """Multi-head self-attention; pad keys (padding_mask False) get no weight."""
    b, s, d = h.shape
    dh = d // num_heads

    def heads(name):
        y = dense(h, params[prefix + name + ".weight"], params[prefix + name + ".bias"])
        return y.reshape(b, s, num_heads, dh).transpose(0, 2, 1, 3)  # [B, H, S, dh]

    q, k, v = heads("query"), heads("key"), heads("value")
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh)            # [B, H, S, S]
    scores = scores + np.where(padding_mask, 0.0, MASK_VALUE)[:, None, None, :]
    probs = routing.softmax(scores, axis=-1)
    out = (probs @ v).transpose(0, 2, 1, 3).reshape(b, s, d)
    return dense(out, params[prefix + "output.weight"], params[prefix + "output.bias"])


def mixing(kind, h, params, prefix, spec, padding_mask):
    if kind == "linear":
        return mix_linear(h, params[prefix + "seq_weight"], params[prefix + "hidden_weight"])
    if kind == "fourier":
        return mix_fourier(h)
    if kind == "hartley":
        return mix_hartley(h)
    if kind == "circulant":
        return mix_circulant(h, params[prefix + "seq_params"], params[prefix + "hidden_params"])
    if kind == "toeplitz":
        return mix_toeplitz(h, params[prefix + "seq_params"], params[prefix + "hidden_params"])
    if kind == "attention":
        return self_attention(h, params, prefix, spec.num_heads, padding_mask)
    raise AssertionError(f"unknown mixing kind {kind!r}")


def feed_forward(x, params, prefix, act):
    hidden = activation(act, dense(x, params[prefix + "input.weight"],
                                   params[prefix + "input.bias"]))
    return dense(hidden, params[prefix + "output.weight"], params[prefix + "output.bias"])


def mixture_of_experts(x, params, prefix, spec, token_ids, capacity_factor, out, tag):
    """MoE sublayer on x [B, S, d]; writes routing outputs into `out` under `tag`."""
    b, s, d = x.shape
    flat = x.reshape(b * s, d)
    t = flat.shape[0]
    logits = dense(flat, params[prefix + "router.weight"], params[prefix + "router.bias"])
    probs = routing.softmax(logits, axis=-1)
    indices, weights = routing.route(
        probs, spec.router_policy, capacity_factor, spec.group_size, k=spec.router_k,
        batch_prioritized=spec.batch_prioritized, token_ids=token_ids,
        method=spec.router_method, iterations=spec.router_iterations,
        entropy=spec.router_entropy)
    g, num_experts, _ = indices.shape
    tg = t // g
    w_in, b_in = params[prefix + "experts.input.weight"], params[prefix + "experts.input.bias"]
    w_out, b_out = params[prefix + "experts.output.weight"], params[prefix + "experts.output.bias"]
    y = np.zeros_like(flat)
    for gi in range(g):
        for e in range(num_experts):
            filled = indices[gi, e] >= 0  # empty slots contribute nothing (weight 0)
            rows = gi * tg + indices[gi, e][filled]
            hidden = activation(spec.activation, flat[rows] @ w_in[e] + b_in[e])
            expert_out = hidden @ w_out[e] + b_out[e]
            y[rows] += weights[gi, e][filled][:, None] * expert_out  # rows are distinct
    tokens_per_expert, dropped = routing.expert_load(indices, t)
    out[f"{tag}.dispatch_indices"] = indices
    out[f"{tag}.combine_weights"] = weights
    out[f"{tag}.tokens_per_expert"] = tokens_per_expert
    out[f"{tag}.dropped_fraction"] = np.array(dropped)
    out[f"{tag}.router_z_loss"] = np.array(routing.router_z_loss(logits))
    if spec.router_policy == "tokens_choose":
        out[f"{tag}.load_balance_loss"] = np.array(
            routing.load_balance_loss(probs, spec.router_k, g))
    return y.reshape(b, s, d), logits, probs


# --------------------------------------------------------------------------
# Forward
# --------------------------------------------------------------------------

def check_inputs(spec, input_ids, type_ids=None, padding_mask=None):
    """The forward pass's inputs, checked against the spec (also torch_train_step's):
    input_ids and type_ids [B, S] (type_ids default 0) as int64 arrays, padding_mask
    [B, S] as a bool array (True for real tokens; default input_ids != 0, pad id 0)."""
    input_ids = np.asarray(input_ids, dtype=np.int64)
    assert input_ids.ndim == 2, "input_ids must be [B, S]"
    s = input_ids.shape[1]
    assert 1 <= s <= spec.max_length, f"sequence length {s} not in [1, {spec.max_length}]"
    if spec.needs_full_length:
        assert s == spec.max_length, "non-attention mixing needs inputs padded to max_length"
    type_ids = (np.zeros_like(input_ids) if type_ids is None
                else np.asarray(type_ids, dtype=np.int64))
    assert type_ids.shape == input_ids.shape, "type_ids must have the shape of input_ids"
    assert input_ids.min() >= 0 and input_ids.max() < spec.vocab_size, "input id out of range"
    assert type_ids.min() >= 0 and type_ids.max() < spec.type_vocab_size, "type id out of range"
    padding_mask = (input_ids != 0) if padding_mask is None else np.asarray(padding_mask, bool)
    assert padding_mask.shape == input_ids.shape, "padding_mask must have the shape of input_ids"
    return input_ids, type_ids, padding_mask


def pooled_heads(spec):
    """(parameter prefix, output name) of the heads on the pooled output that the
    spec has (docs/weights.md), in output order."""
    heads = []
    if spec.sentence_order:
        heads.append(("heads.sentence_order", "sentence_order_logits"))
    if spec.has_classifier:
        heads.append(("heads.classifier", "classifier_logits"))
    return heads


def forward(spec, params, input_ids, type_ids=None, capacity_factor="eval",
            padding_mask=None, debug=False):
    """Eval-mode forward pass in float64.

    input_ids, type_ids: [B, S] integers (type_ids default 0). padding_mask:
    [B, S] bool, True for real tokens; default input_ids != 0 (pad id 0).
    capacity_factor: 'eval', 'train' (the spec's factors) or a number; it only
    changes the MoE capacity (no dropout or jitter either way).
    Returns {name: ndarray}; with debug=True also per-layer hidden states and
    router logits/probs.
    """
    p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    shapes = parameter_shapes(spec)
    for name, shape in shapes.items():
        assert name in p, f"missing parameter {name}"
        assert p[name].shape == tuple(shape), f"{name}: shape {p[name].shape} != {shape}"
    input_ids, type_ids, padding_mask = check_inputs(spec, input_ids, type_ids, padding_mask)
    b, s = input_ids.shape
    cf = spec.capacity_factor(capacity_factor)
    eps = spec.layer_norm_epsilon
    out = {}

    # Embeddings: LN(word + position + type) . W + b.
    emb = p["embeddings.word"][input_ids] + p["embeddings.position"][:s][None] \
        + p["embeddings.type"][type_ids]
    emb = layer_norm(emb, p["embeddings.layer_norm.scale"], p["embeddings.layer_norm.bias"], eps)
    h = dense(emb, p["embeddings.projection.weight"], p["embeddings.projection.bias"])
    if debug:
        out["embeddings.output"] = h

    # Post-LN blocks: x = LN(h + mix(h)); h = LN(x + ffn_or_moe(x)).
    for i in range(spec.num_layers):
        pre = f"layers.{i}."
        mixed = mixing(spec.mixing[i], h, p, pre + "mixing.", spec, padding_mask)
        x = layer_norm(h + mixed, p[pre + "mixing_layer_norm.scale"],
                       p[pre + "mixing_layer_norm.bias"], eps)
        if spec.moe_layers[i]:
            y, logits, probs = mixture_of_experts(
                x, p, pre + "moe.", spec, input_ids.reshape(-1), cf, out, f"moe.{i}")
            if debug:
                out[f"moe.{i}.router_logits"] = logits
                out[f"moe.{i}.router_probs"] = probs
        else:
            y = feed_forward(x, p, pre + "ffn.", spec.activation)
        h = layer_norm(x + y, p[pre + "output_layer_norm.scale"],
                       p[pre + "output_layer_norm.bias"], eps)
        if debug:
            out[f"layers.{i}.output"] = h
    out["sequence_output"] = h

    # Heads.
    if spec.mlm:
        m = activation("gelu_tanh", dense(h, p["heads.mlm.dense.weight"], p["heads.mlm.dense.bias"]))
        m = layer_norm(m, p["heads.mlm.layer_norm.scale"], p["heads.mlm.layer_norm.bias"], eps)
        out["mlm_logits"] = m @ p["embeddings.word"].T + p["heads.mlm.output_bias"]
    if spec.needs_pooler:
        pooled = np.tanh(dense(h[:, 0], p["heads.pooler.weight"], p["heads.pooler.bias"]))
        out["pooled"] = pooled
        for pre, name in pooled_heads(spec):
            out[name] = dense(pooled, p[pre + ".weight"], p[pre + ".bias"])
    return out
