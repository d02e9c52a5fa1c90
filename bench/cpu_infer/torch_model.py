#!/usr/bin/python3
"""PyTorch (eager, float32) forward pass of an smx model, the CPU peer of the
inference benchmark.

Mirrors the NumPy reference (test/reference/smx_model.py) in evaluation mode:
embeddings, linear / fourier / hartley / circulant / toeplitz / attention
mixing, post-LN blocks, dense FFN, MoE (experts-choose with torch.topk; the
other policies route through the reference's NumPy code), pooler heads and
the MLM head. Weights are read from the same safetensors file, under the
names of docs/weights.md.

Like a compiled smx model's `predict`, it runs the rows of the input in
chunks of the compiled batch B (the last chunk padded with rows of id 0), so
MoE groups and capacities are those of the smx model.

  torch_model.py predict --spec S --batch B --weights W --input IN --output OUT
                         [--threads N] [--no-mlm]
  torch_model.py check   --spec S [--seed K]     (against the NumPy reference)

`predict` prints one JSON line of timings (seconds): import, load, forward,
write, total (from process start).
"""

import argparse
import json
import math
import os
import struct
import sys
import time

T_START = time.perf_counter()

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, os.pardir, os.pardir, "test", "reference")
sys.path.insert(0, REFERENCE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import smx_routing  # noqa: E402
import smx_safetensors  # noqa: E402
from smx_spec import load_spec  # noqa: E402

T_IMPORTED = time.perf_counter()

MASK_VALUE = -1e30


# --------------------------------------------------------------------------
# The model
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


def circulant_matrix(v):
    n = v.shape[0]
    r = torch.arange(n).unsqueeze(1)
    c = torch.arange(n).unsqueeze(0)
    return v[(r - c) % n]


def toeplitz_matrix(t):
    n = (t.shape[0] + 1) // 2
    r = torch.arange(n).unsqueeze(1)
    c = torch.arange(n).unsqueeze(0)
    return t[n - 1 + c - r]


class TorchSmxModel:
    """Eval-mode smx forward pass on float32 tensors."""

    def __init__(self, spec, weights, mlm=None):
        self.spec = spec
        self.mlm = spec.mlm if mlm is None else mlm
        self.p = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
                  for k, v in weights.items()}
        self.eps = spec.layer_norm_epsilon
        # Circulant / toeplitz mixing matrices depend only on the weights.
        self.mix_matrices = {}
        for i, kind in enumerate(spec.mixing):
            pre = f"layers.{i}.mixing."
            if kind in ("circulant", "toeplitz"):
                build = circulant_matrix if kind == "circulant" else toeplitz_matrix
                self.mix_matrices[i] = (
                    build(self.p[pre + "seq_params"]).contiguous(),
                    build(self.p[pre + "hidden_params"]).t().contiguous())

    def ln(self, x, name):
        return F.layer_norm(x, (x.shape[-1],), self.p[name + ".scale"],
                            self.p[name + ".bias"], self.eps)

    def attention(self, h, pre, key_mask):
        b, s, d = h.shape
        nh = self.spec.num_heads
        dh = d // nh
        p = self.p

        def heads(name):
            y = dense(h, p[pre + name + ".weight"], p[pre + name + ".bias"])
            return y.view(b, s, nh, dh).transpose(1, 2)               # [B, H, S, dh]

        q, k, v = heads("query"), heads("key"), heads("value")
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(dh))
        scores = scores + key_mask[:, None, None, :]
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, s, d)
        return dense(out, p[pre + "output.weight"], p[pre + "output.bias"])

    def mixing(self, i, h, key_mask):
        kind = self.spec.mixing[i]
        pre = f"layers.{i}.mixing."
        if kind == "linear":
            y = torch.matmul(self.p[pre + "seq_weight"], h)            # W_seq . X[b]
            return dense(y, self.p[pre + "hidden_weight"])            # . W_hid
        if kind in ("circulant", "toeplitz"):
            seq_m, hid_mt = self.mix_matrices[i]
            return dense(torch.matmul(seq_m, h), hid_mt)
        if kind == "fourier":
            return torch.fft.fft2(h, dim=(-2, -1)).real
        if kind == "hartley":
            z = torch.fft.fft2(h, dim=(-2, -1))
            return z.real - z.imag
        if kind == "attention":
            return self.attention(h, pre, key_mask)
        raise ValueError(f"unknown mixing kind {kind!r}")

    def route(self, probs, token_ids):
        """probs [T, E] -> (indices [G, E, C] int64, weights [G, E, C])."""
        spec = self.spec
        t, e = probs.shape
        g = smx_routing.num_groups(t, spec.group_size)
        cap = smx_routing.capacity(t, g, e, spec.capacity_factor_eval)
        if spec.router_policy == "experts_choose":
            # Each expert takes its top-C tokens of the group.
            weights, indices = torch.topk(probs.view(g, t // g, e).transpose(1, 2), cap,
                                          dim=-1, sorted=True)
            return indices, weights
        # Sequential policies: the reference's routing on the float32 probs.
        idx, w = smx_routing.route(probs.double().numpy(), spec.router_policy,
                                   spec.capacity_factor_eval, spec.group_size,
                                   k=spec.router_k, batch_prioritized=spec.batch_prioritized,
                                   token_ids=token_ids.numpy())
        return torch.from_numpy(idx.astype(np.int64)), torch.from_numpy(w.astype(np.float32))

    def moe(self, i, x, token_ids, out):
        spec, p = self.spec, self.p
        pre = f"layers.{i}.moe."
        b, s, d = x.shape
        flat = x.reshape(b * s, d)
        logits = dense(flat, p[pre + "router.weight"], p[pre + "router.bias"])
        probs = torch.softmax(logits, dim=-1)
        indices, weights = self.route(probs, token_ids)
        g, e, cap = indices.shape
        tg = flat.shape[0] // g
        # Empty slots (index -1) take token 0 with weight 0.
        weights = torch.where(indices >= 0, weights, torch.zeros_like(weights))
        rows = (indices.clamp(min=0)
                + (torch.arange(g) * tg).view(g, 1, 1)).permute(1, 0, 2).reshape(e, g * cap)
        dispatched = flat[rows]                                        # [E, G*C, d]
        hidden = torch.baddbmm(p[pre + "experts.input.bias"].unsqueeze(1), dispatched,
                               p[pre + "experts.input.weight"])
        hidden = activation(spec.activation, hidden)
        expert_out = torch.baddbmm(p[pre + "experts.output.bias"].unsqueeze(1), hidden,
                                   p[pre + "experts.output.weight"])   # [E, G*C, d]
        expert_out = expert_out * weights.permute(1, 0, 2).reshape(e, g * cap, 1)
        y = torch.zeros_like(flat).index_add_(0, rows.reshape(-1),
                                              expert_out.reshape(-1, d))
        if out is not None:
            out[f"moe.{i}.dispatch_indices"] = indices.to(torch.int32)
            out[f"moe.{i}.combine_weights"] = weights
        return y.view(b, s, d)

    @torch.no_grad()
    def forward(self, input_ids, type_ids=None, stats=False):
        """input_ids, type_ids: [B, S] int64 tensors. Returns {name: tensor}."""
        spec, p = self.spec, self.p
        b, s = input_ids.shape
        if type_ids is None:
            type_ids = torch.zeros_like(input_ids)
        key_mask = torch.where(input_ids != 0, 0.0, MASK_VALUE).to(torch.float32)
        out = {} if stats else None
        emb = (F.embedding(input_ids, p["embeddings.word"])
               + p["embeddings.position"][:s].unsqueeze(0)
               + F.embedding(type_ids, p["embeddings.type"]))
        emb = self.ln(emb, "embeddings.layer_norm")
        h = dense(emb, p["embeddings.projection.weight"], p["embeddings.projection.bias"])
        token_ids = input_ids.reshape(-1)
        for i in range(spec.num_layers):
            pre = f"layers.{i}."
            x = self.ln(h + self.mixing(i, h, key_mask), pre + "mixing_layer_norm")
            if spec.moe_layers[i]:
                y = self.moe(i, x, token_ids, out)
            else:
                hidden = activation(spec.activation, dense(
                    x, p[pre + "ffn.input.weight"], p[pre + "ffn.input.bias"]))
                y = dense(hidden, p[pre + "ffn.output.weight"], p[pre + "ffn.output.bias"])
            h = self.ln(x + y, pre + "output_layer_norm")
        result = {} if out is None else out
        result["sequence_output"] = h
        if self.mlm:
            m = F.gelu(dense(h, p["heads.mlm.dense.weight"], p["heads.mlm.dense.bias"]),
                       approximate="tanh")
            m = self.ln(m, "heads.mlm.layer_norm")
            logits = torch.matmul(m.reshape(b * s, -1), p["embeddings.word"].t())
            result["mlm_logits"] = (logits + p["heads.mlm.output_bias"]).view(b, s, -1)
        if spec.needs_pooler:
            pooled = torch.tanh(dense(h[:, 0], p["heads.pooler.weight"],
                                      p["heads.pooler.bias"]))
            result["pooled_output"] = pooled
            if spec.sentence_order:
                result["sentence_order_logits"] = dense(
                    pooled, p["heads.sentence_order.weight"], p["heads.sentence_order.bias"])
            if spec.has_classifier:
                result["classifier_logits"] = dense(
                    pooled, p["heads.classifier.weight"], p["heads.classifier.bias"])
        return result

    def predict(self, input_ids, type_ids, batch):
        """Runs every row in chunks of `batch` (last chunk padded with id 0) like smx's
        `predict`: batch-major results concatenated and trimmed, MoE statistics stacked."""
        n, s = input_ids.shape
        chunks = -(-n // batch)
        pieces = {}
        for c in range(chunks):
            ids = torch.zeros((batch, s), dtype=torch.int64)
            types = torch.zeros((batch, s), dtype=torch.int64)
            rows = slice(c * batch, min((c + 1) * batch, n))
            ids[:rows.stop - rows.start] = input_ids[rows]
            types[:rows.stop - rows.start] = type_ids[rows]
            for name, value in self.forward(ids, types, stats=True).items():
                pieces.setdefault(name, []).append(value)
        result = {}
        for name, values in pieces.items():
            if name.startswith("moe."):
                result[name] = torch.stack(values)
            else:
                result[name] = torch.cat(values)[:n]
        return result


def model_flops(spec, batch, seq, mlm):
    """Multiply-add FLOPs (2 per MAC) of the GEMMs in one forward call of [batch, seq]."""
    b, s, e, d, f = batch, seq, spec.d_emb, spec.d_model, spec.d_ff
    t = b * s
    total = 2 * t * e * d                                           # projection
    for i in range(spec.num_layers):
        kind = spec.mixing[i]
        if kind in ("linear", "circulant", "toeplitz"):
            total += 2 * b * s * s * d + 2 * t * d * d
        elif kind == "attention":
            total += 4 * 2 * t * d * d + 2 * 2 * b * s * s * d
        if spec.moe_layers[i]:
            g = smx_routing.num_groups(t, spec.group_size)
            cap = smx_routing.capacity(t, g, spec.num_experts, spec.capacity_factor_eval)
            slots = g * spec.num_experts * cap
            total += 2 * t * d * spec.num_experts + 2 * 2 * slots * d * f
        else:
            total += 2 * 2 * t * d * f
    if mlm:
        total += 2 * t * d * e + 2 * t * e * spec.vocab_size
    if spec.needs_pooler:
        total += 2 * b * d * d
    return total


# --------------------------------------------------------------------------
# Safetensors I/O without extra copies
# --------------------------------------------------------------------------

def load_safetensors(path):
    """{name: ndarray}: one read of the data into one buffer, tensors are views of it
    (as a PyTorch user would with safetensors' own loader)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        header.pop("__metadata__", None)
        blob = np.empty(os.fstat(f.fileno()).st_size - 8 - n, dtype=np.uint8)
        f.readinto(memoryview(blob))
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = smx_safetensors._DTYPES[info["dtype"]]
        tensors[name] = blob[begin:end].view(dtype).reshape(info["shape"])
    return tensors


def save_safetensors(path, tensors, metadata=None):
    header, arrays, offset = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name].numpy())
        header[name] = {"dtype": smx_safetensors.dtype_name(a), "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        arrays.append(a)
        offset += a.nbytes
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for a in arrays:
            f.write(memoryview(a.reshape(-1)).cast("B"))


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------

def cmd_predict(args):
    torch.set_num_threads(args.threads)
    spec = load_spec(args.spec)
    weights = load_safetensors(args.weights)
    model = TorchSmxModel(spec, weights, mlm=not args.no_mlm)
    inputs = load_safetensors(args.input)
    ids = torch.from_numpy(inputs["input_ids"].astype(np.int64))
    types = (torch.from_numpy(inputs["type_ids"].astype(np.int64)) if "type_ids" in inputs
             else torch.zeros_like(ids))
    t_loaded = time.perf_counter()
    result = model.predict(ids, types, args.batch)
    t_forward = time.perf_counter()
    save_safetensors(args.output, result, {"model": spec.name, "batch": args.batch,
                                           "rows": ids.shape[0]})
    t_written = time.perf_counter()
    print(json.dumps({"import": T_IMPORTED - T_START, "load": t_loaded - T_IMPORTED,
                      "forward": t_forward - t_loaded, "write": t_written - t_forward,
                      "total": t_written - T_START}))
    return 0


def check_against_reference(spec_path, seed=0, batch=None, rtol=1e-4):
    """Runs the NumPy reference and this model on random weights and inputs of a
    (small) spec; returns (relative error of sequence_output, ok)."""
    import smx_model
    spec = load_spec(spec_path)
    batch = batch or spec.compile_batch
    seq = spec.compile_seq
    weights = smx_model.init_parameters(spec, seed)
    rng = np.random.default_rng(seed + 1)
    ids = rng.integers(1, spec.vocab_size, size=(batch, seq))
    for row in range(batch):
        ids[row, int(rng.integers(seq // 2, seq + 1)):] = 0
    types = rng.integers(0, spec.type_vocab_size, size=(batch, seq))
    expected = smx_model.forward(spec, weights, ids, types)["sequence_output"]
    model = TorchSmxModel(spec, weights)
    actual = model.forward(torch.from_numpy(ids), torch.from_numpy(types))
    actual = actual["sequence_output"].double().numpy()
    rel = float(np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-30))
    return rel, rel <= rtol


def cmd_check(args):
    torch.set_num_threads(args.threads)
    rel, ok = check_against_reference(args.spec, args.seed, args.batch, args.rtol)
    print(f"{args.spec}: sequence_output relative error {rel:.3e} "
          f"({'ok' if ok else 'MISMATCH'}, rtol {args.rtol:g})")
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    pr = sub.add_parser("predict", help="run every row of an input file")
    pr.add_argument("--spec", required=True)
    pr.add_argument("--batch", type=int, required=True)
    pr.add_argument("--weights", required=True)
    pr.add_argument("--input", required=True)
    pr.add_argument("--output", required=True)
    pr.add_argument("--threads", type=int, default=2)
    pr.add_argument("--no-mlm", action="store_true", help="skip the MLM head")
    ck = sub.add_parser("check", help="compare with the NumPy reference")
    ck.add_argument("--spec", required=True)
    ck.add_argument("--seed", type=int, default=0)
    ck.add_argument("--batch", type=int, default=None)
    ck.add_argument("--rtol", type=float, default=1e-4)
    ck.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    return cmd_predict(args) if args.command == "predict" else cmd_check(args)


if __name__ == "__main__":
    sys.exit(main())
