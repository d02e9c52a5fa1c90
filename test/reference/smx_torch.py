"""The smx model in PyTorch: embeddings, the mixing kinds, self-attention, FFN,
MoE (router, routing, dispatch, experts, combine) and heads, post-LN blocks,
no dropout, no router jitter. Written from the same docs as the NumPy
reference (smx_model.py); any float dtype; differentiable.

One implementation, two users:

- `torch_train_step.py` (this directory): the float64 autograd reference of a
  train step. It validates its inputs, routes with the NumPy reference's
  policies (`route_reference`) and adds the MoE metrics and losses.
- `bench/cpu/torch_peer.py`: the PyTorch 2 peers of the CPU benchmark
  (eager, torch.compile, and ONNX Runtime on its export), float32, with
  experts_choose routed in the graph by `torch.topk`.

It lives here, not in bench/, because it is the reference: this directory's
tests check it (forward against `smx_model.forward` within 1e-12, gradients
against finite differences), the benchmarks measure that checked model, and
they already import the spec parser, routing and safetensors from here.
Nothing in test/reference imports from bench/.

`forward` is the benchmark's hot path: it does no input validation and no
NumPy round trips besides the routing callback's; callers check their inputs
(`smx_model.check_inputs`).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

import smx_routing as routing
from smx_model import pooled_heads

MASK_VALUE = -1e30        # attention score of a pad key (as the NumPy reference)


# --------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------

def activation(kind, x):
    if kind == "gelu_tanh":
        return F.gelu(x, approximate="tanh")
    if kind == "gelu":
        return F.gelu(x)
    if kind == "relu":
        return torch.relu(x)
    if kind == "tanh":
        return torch.tanh(x)
    raise ValueError(f"unknown activation {kind!r}")


def dense(x, weight, bias=None):
    """x [..., in] . weight [in, out] + bias, as one GEMM over the flattened rows."""
    rows = x.reshape(-1, x.shape[-1])
    y = torch.mm(rows, weight) if bias is None else torch.addmm(bias, rows, weight)
    return y.reshape(*x.shape[:-1], weight.shape[1])


def layer_norm(x, p, name, eps):
    return F.layer_norm(x, (x.shape[-1],), p[name + ".scale"], p[name + ".bias"], eps)


def circulant_matrix(v):
    """C(v)[r, c] = v[(r - c) mod N]."""
    n = v.shape[0]
    r = torch.arange(n, device=v.device).unsqueeze(1)
    c = torch.arange(n, device=v.device).unsqueeze(0)
    return v[(r - c) % n]


def toeplitz_matrix(t):
    """T(t)[r, c] = t[N - 1 + c - r] for t of length 2N - 1."""
    n = (t.shape[0] + 1) // 2
    r = torch.arange(n, device=t.device).unsqueeze(1)
    c = torch.arange(n, device=t.device).unsqueeze(0)
    return t[n - 1 + c - r]


STRUCTURED = {"circulant": circulant_matrix, "toeplitz": toeplitz_matrix}


def mixing_matrices(kind, p, pre):
    """(M_seq [S, S], M_hid^T [d, d]) of a circulant or toeplitz mixing layer, whose
    output is Y[b] = M_seq . X[b] . M_hid^T. They depend only on the weights."""
    build = STRUCTURED[kind]
    return build(p[pre + "seq_params"]), build(p[pre + "hidden_params"]).t()


def key_bias(padding_mask, dtype):
    """[B, S] attention score bias: 0 on real keys, MASK_VALUE on pads."""
    return torch.zeros(padding_mask.shape, dtype=dtype,
                       device=padding_mask.device).masked_fill_(~padding_mask, MASK_VALUE)


def self_attention(h, p, pre, num_heads, bias):
    """Multi-head self-attention on h [B, S, d]; bias [B, S] from key_bias."""
    b, s, d = h.shape
    dh = d // num_heads

    def heads(name):
        y = dense(h, p[pre + name + ".weight"], p[pre + name + ".bias"])
        return y.view(b, s, num_heads, dh).transpose(1, 2)             # [B, H, S, dh]

    q, k, v = heads("query"), heads("key"), heads("value")
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(dh))
    probs = torch.softmax(scores + bias[:, None, None, :], dim=-1)
    out = torch.matmul(probs, v).transpose(1, 2).reshape(b, s, d)
    return dense(out, p[pre + "output.weight"], p[pre + "output.bias"])


def mixing(kind, h, p, pre, num_heads, bias, matrices=None):
    """Token mixing of h [B, S, d]. matrices: mixing_matrices' result when the caller
    keeps it (circulant, toeplitz), else they are built from p here."""
    if kind == "linear":
        return dense(torch.matmul(p[pre + "seq_weight"], h), p[pre + "hidden_weight"])
    if kind in STRUCTURED:
        seq, hidden_t = mixing_matrices(kind, p, pre) if matrices is None else matrices
        return dense(torch.matmul(seq, h), hidden_t)
    if kind == "fourier":
        return torch.fft.fft2(h, dim=(-2, -1)).real
    if kind == "hartley":
        z = torch.fft.fft2(h, dim=(-2, -1))
        return z.real - z.imag
    if kind == "attention":
        return self_attention(h, p, pre, num_heads, bias)
    raise ValueError(f"unknown mixing kind {kind!r}")


def feed_forward(x, p, pre, act):
    hidden = activation(act, dense(x, p[pre + "input.weight"], p[pre + "input.bias"]))
    return dense(hidden, p[pre + "output.weight"], p[pre + "output.bias"])


# --------------------------------------------------------------------------
# Mixture of experts
# --------------------------------------------------------------------------

def route_reference(probs, spec, capacity_factor, token_ids):
    """The NumPy reference's routing (smx_routing.route: every policy, its tie-breaking)
    on the detached probabilities in float64. Returns (dispatch indices [G, E, C]
    int64, -1 for an empty slot; None: the combine weights are gathered from probs)."""
    indices, _ = routing.route(
        probs.detach().double().numpy(), spec.router_policy, capacity_factor,
        spec.group_size, k=spec.router_k, batch_prioritized=spec.batch_prioritized,
        token_ids=token_ids.numpy(), method=spec.router_method,
        iterations=spec.router_iterations, entropy=spec.router_entropy)
    return torch.from_numpy(indices.astype(np.int64)), None


def mixture_of_experts(x, p, pre, spec, token_ids, capacity_factor, route=route_reference):
    """MoE sublayer on x [B, S, d].

    route(probs [T, E], spec, capacity_factor, token_ids [T]) -> (indices [G, E, C]
    int64 with -1 for an empty slot, weights [G, E, C] or None) decides the dispatch;
    the combine weights are the router probabilities at the chosen slots (not
    renormalized; gathered from probs when route gives None), so gradients flow
    through the gate probabilities, not through the discrete choices. The experts
    run as two batched GEMMs over their [G*C] slots; an empty slot runs token 0 of
    its group with weight 0.

    Returns (y [B, S, d], router logits [T, E], probs [T, E], indices, weights).
    """
    b, s, d = x.shape
    flat = x.reshape(b * s, d)
    logits = dense(flat, p[pre + "router.weight"], p[pre + "router.bias"])
    probs = torch.softmax(logits, dim=-1)
    indices, weights = route(probs, spec, capacity_factor, token_ids)
    g, e, cap = indices.shape
    tg = flat.shape[0] // g
    device = indices.device
    rows = indices.clamp(min=0) + (torch.arange(g, device=device) * tg).view(g, 1, 1)
    if weights is None:
        weights = probs[rows, torch.arange(e, device=device).view(1, e, 1)]
    weights = torch.where(indices >= 0, weights,
                          torch.zeros((), dtype=probs.dtype, device=probs.device))
    rows = rows.permute(1, 0, 2).reshape(e, g * cap)                        # slots by expert
    hidden = torch.baddbmm(p[pre + "experts.input.bias"].unsqueeze(1), flat[rows],
                           p[pre + "experts.input.weight"])
    hidden = activation(spec.activation, hidden)
    expert_out = torch.baddbmm(p[pre + "experts.output.bias"].unsqueeze(1), hidden,
                               p[pre + "experts.output.weight"])           # [E, G*C, d]
    expert_out = expert_out * weights.permute(1, 0, 2).reshape(e, g * cap, 1)
    y = torch.zeros_like(flat).index_add_(0, rows.reshape(-1), expert_out.reshape(-1, d))
    return y.view(b, s, d), logits, probs, indices, weights


# --------------------------------------------------------------------------
# Heads and the forward pass
# --------------------------------------------------------------------------

def mlm_head(h, p, eps):
    """LN(gelu_tanh(h . W + b)) . word^T + output_bias on h [..., d]."""
    m = F.gelu(dense(h, p["heads.mlm.dense.weight"], p["heads.mlm.dense.bias"]),
               approximate="tanh")
    m = layer_norm(m, p, "heads.mlm.layer_norm", eps)
    return torch.matmul(m, p["embeddings.word"].t()) + p["heads.mlm.output_bias"]


def forward(spec, p, input_ids, type_ids, padding_mask, capacity_factor,
            route=route_reference, mlm=False, matrices=None):
    """The forward pass (no noise), unchecked.

    p: {name: tensor}, one float dtype, any may require grad. input_ids, type_ids:
    [B, S] int64 tensors; padding_mask: [B, S] bool tensor (True: real token);
    capacity_factor: a number; route: see mixture_of_experts; mlm: run the MLM head
    on every position; matrices: {layer: mixing_matrices(...)} kept by the caller.

    Returns {name: tensor}: sequence_output; mlm_logits [B, S, V] with mlm;
    pooled_output and the logits of the pooled heads the spec has
    (smx_model.pooled_heads); for every MoE layer i, moe.i.router_logits,
    moe.i.router_probs, moe.i.dispatch_indices (int64) and moe.i.combine_weights.
    """
    s = input_ids.shape[1]
    eps = spec.layer_norm_epsilon
    bias = key_bias(padding_mask, p["embeddings.word"].dtype)
    token_ids = input_ids.reshape(-1)
    out = {}
    emb = (F.embedding(input_ids, p["embeddings.word"])
           + p["embeddings.position"][:s].unsqueeze(0)
           + F.embedding(type_ids, p["embeddings.type"]))
    emb = layer_norm(emb, p, "embeddings.layer_norm", eps)
    h = dense(emb, p["embeddings.projection.weight"], p["embeddings.projection.bias"])
    for i, kind in enumerate(spec.mixing):
        pre = f"layers.{i}."
        mixed = mixing(kind, h, p, pre + "mixing.", spec.num_heads, bias,
                       None if matrices is None else matrices.get(i))
        x = layer_norm(h + mixed, p, pre + "mixing_layer_norm", eps)
        if spec.moe_layers[i]:
            tag = f"moe.{i}."
            (y, out[tag + "router_logits"], out[tag + "router_probs"],
             out[tag + "dispatch_indices"], out[tag + "combine_weights"]) = \
                mixture_of_experts(x, p, pre + "moe.", spec, token_ids, capacity_factor, route)
        else:
            y = feed_forward(x, p, pre + "ffn.", spec.activation)
        h = layer_norm(x + y, p, pre + "output_layer_norm", eps)
    out["sequence_output"] = h
    if mlm:
        out["mlm_logits"] = mlm_head(h, p, eps)
    if spec.needs_pooler:
        pooled = torch.tanh(dense(h[:, 0], p["heads.pooler.weight"], p["heads.pooler.bias"]))
        out["pooled_output"] = pooled
        for pre, name in pooled_heads(spec):
            out[name] = dense(pooled, p[pre + ".weight"], p[pre + ".bias"])
    return out
