#!/usr/bin/python3
"""PyTorch (eager, float32) forward pass of an smx model, the CPU peer of the
inference benchmark.

The model is the PyTorch reference's (test/reference/smx_torch.py, the one
torch_train_step.py differentiates and test/reference's tests check against
the NumPy reference) in evaluation mode: embeddings, linear / fourier /
hartley / circulant / toeplitz / attention mixing, post-LN blocks, dense FFN,
MoE (experts-choose with torch.topk; the other policies route through the
reference's NumPy code), pooler heads and the MLM head. Weights are read from
the same safetensors file, under the names of docs/weights.md.

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

import smx_routing  # noqa: E402
import smx_safetensors  # noqa: E402
import smx_torch  # noqa: E402
from smx_spec import load_spec  # noqa: E402

T_IMPORTED = time.perf_counter()


# --------------------------------------------------------------------------
# The model: test/reference/smx_torch.py's, float32, no autograd
# --------------------------------------------------------------------------

def route_topk(probs, spec, capacity_factor, token_ids):
    """experts_choose as one torch.topk per group (each expert takes its top-C tokens;
    float32 near-ties may order differently from the reference); the other policies
    route through the reference's NumPy code (smx_torch.route_reference)."""
    if spec.router_policy != "experts_choose":
        return smx_torch.route_reference(probs, spec, capacity_factor, token_ids)
    t, e = probs.shape
    g = smx_routing.num_groups(t, spec.group_size)
    cap = smx_routing.capacity(t, g, e, capacity_factor)
    weights, indices = torch.topk(probs.view(g, t // g, e).transpose(1, 2), cap,
                                  dim=-1, sorted=True)
    return indices, weights


class TorchSmxModel:
    """Eval-mode smx forward pass on float32 tensors: smx_torch.forward with the
    weights converted once, the circulant / toeplitz mixing matrices built once,
    route_topk and the eval capacity."""

    def __init__(self, spec, weights, mlm=None):
        self.spec = spec
        self.mlm = spec.mlm if mlm is None else mlm
        self.p = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
                  for k, v in weights.items()}
        self.mix_matrices = {
            i: tuple(m.contiguous() for m in
                     smx_torch.mixing_matrices(kind, self.p, f"layers.{i}.mixing."))
            for i, kind in enumerate(spec.mixing) if kind in smx_torch.STRUCTURED}

    @torch.no_grad()
    def forward(self, input_ids, type_ids=None, stats=False):
        """input_ids, type_ids: [B, S] int64 tensors. Returns {name: tensor}: the
        outputs, and with stats the MoE layers' moe.i.dispatch_indices (int32) and
        moe.i.combine_weights."""
        if type_ids is None:
            type_ids = torch.zeros_like(input_ids)
        out = smx_torch.forward(self.spec, self.p, input_ids, type_ids, input_ids != 0,
                                self.spec.capacity_factor_eval, route_topk, self.mlm,
                                self.mix_matrices)
        result = {}
        for name, value in out.items():
            if not name.startswith("moe."):
                result[name] = value
            elif stats and name.endswith(".dispatch_indices"):
                result[name] = value.to(torch.int32)
            elif stats and name.endswith(".combine_weights"):
                result[name] = value
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
