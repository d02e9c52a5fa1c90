#!/usr/bin/env python3
"""Runs a compiled smx model and the NumPy reference on the same weights and
inputs, and compares every output both produce.

Floats: max|actual - expected| <= rtol * max|expected| per tensor (the
reference runs in float64). Integers (routing decisions, expert loads):
exactly equal. Exit status 1 on any mismatch.
"""
import argparse
import os
import subprocess
import sys

import numpy as np

REFERENCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             os.pardir, "reference")
sys.path.insert(0, REFERENCE_DIR)
import smx_reference  # noqa: E402
import smx_safetensors  # noqa: E402

# The reference names its pooled output "pooled"; the compiled model
# "pooled_output" (docs/abi.md).
RENAMED = {"pooled": "pooled_output"}


def make_inputs(spec, rows, sequence, seed):
    """Token ids with padding tails of varied length, and mixed type ids."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, spec.vocab_size, size=(rows, sequence)).astype(np.int32)
    for row in range(rows):
        length = int(rng.integers(max(1, sequence // 4), sequence + 1))
        ids[row, length:] = 0
    types = rng.integers(0, spec.type_vocab_size, size=(rows, sequence))
    return {"input_ids": ids, "type_ids": types.astype(np.int32)}


def load(path):
    tensors = smx_safetensors.load(path)
    return tensors[0] if isinstance(tensors, tuple) else tensors


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--model", required=True, help="compiled executable")
    parser.add_argument("--work", required=True, help="scratch directory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rtol", type=float, default=1e-4)
    args = parser.parse_args()

    os.makedirs(args.work, exist_ok=True)
    weights = os.path.join(args.work, "weights.safetensors")
    inputs = os.path.join(args.work, "inputs.safetensors")
    actual_path = os.path.join(args.work, "actual.safetensors")
    expected_path = os.path.join(args.work, "expected.safetensors")

    spec = smx_reference.load_spec(args.spec)
    params = smx_reference.init_parameters(spec, args.seed)
    smx_safetensors.save(weights, params)
    # Exactly one compiled batch, so per-batch statistics compare directly.
    batch, sequence = spec.compile_batch, spec.compile_seq
    smx_safetensors.save(inputs, make_inputs(spec, batch, sequence, args.seed))

    subprocess.run([args.model, "predict", "--weights", weights, "--input",
                    inputs, "--output", actual_path], check=True)
    subprocess.run([sys.executable, os.path.join(REFERENCE_DIR,
                                                 "smx_reference.py"),
                    "forward", "--spec", args.spec, "--weights", weights,
                    "--input", inputs, "--output", expected_path,
                    "--capacity", "eval"], check=True)

    actual, expected = load(actual_path), load(expected_path)
    failures = 0
    compared = 0
    for name in sorted(expected):
        actual_name = RENAMED.get(name, name)
        if actual_name not in actual:
            continue  # heads the forward function does not compute (MLM)
        got, want = actual[actual_name], expected[name]
        if name.startswith("moe."):
            got = got[0]  # per-batch statistics are stacked over batches
        compared += 1
        if got.shape != want.shape:
            print(f"{name}: shape {list(got.shape)} != {list(want.shape)}")
            failures += 1
        elif want.dtype.kind in "iu":
            ok = np.array_equal(got, want)
            print(f"{name}: {'identical' if ok else 'DIFFERENT'}")
            failures += not ok
        else:
            scale = max(float(np.max(np.abs(want))) if want.size else 0.0, 1e-30)
            error = float(np.max(np.abs(got - want))) / scale if want.size else 0.0
            ok = error <= args.rtol
            print(f"{name}: relative error {error:.3e} {'ok' if ok else 'FAIL'}")
            failures += not ok
    print(f"{compared - failures} passed, {failures} failed")
    return 1 if failures or compared == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
