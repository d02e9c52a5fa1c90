#!/usr/bin/env python3
"""Runs one train step of a compiled training executable and compares it
with the independent PyTorch reference (test/reference/torch_train_step.py)
on the same weights and batch: the loss, every gradient (recovered from
Adam's first moment after one step from zero moments: m = (1 - beta1) g),
the updated parameters and the second moments. Prints one line per
compared tensor and `N passed, M failed`; exits 1 on any failure.

Each tensor is compared relative to its largest magnitude (limit 1e-4), as
the forward outputs are in compare_with_reference, with a floor of 1/1000
of the largest magnitude among all tensors of its kind: some gradients are
zero up to rounding (attention is invariant to a bias shared by all keys,
so the key bias's gradient is), and f32 rounding noise is then all there
is to compare.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "..", "reference")
sys.path.insert(0, REFERENCE)

import smx_safetensors  # noqa: E402

BETA1 = 0.9


def run(command):
    result = subprocess.run(command, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.stdout.write(result.stdout)
        raise SystemExit(f"command failed: {' '.join(command)}")
    return result.stdout


def largest(tensor):
    tensor = np.asarray(tensor, dtype=np.float64)
    return float(np.max(np.abs(tensor))) if tensor.size else 0.0


def relative_error(actual, expected, floor=0.0):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(largest(expected), floor, 1e-30)
    return float(np.max(np.abs(actual - expected))) / scale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--model", required=True,
                        help="executable compiled with --task=pretrain "
                             "--max-grad-norm=0")
    parser.add_argument("--data", required=True, help="corpus for the batch")
    parser.add_argument("--work", required=True)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    python = sys.executable
    weights = os.path.join(args.work, "weights.safetensors")
    batch = os.path.join(args.work, "batch.safetensors")
    checkpoints = os.path.join(args.work, "ckpt")
    reference = os.path.join(args.work, "reference.safetensors")

    run([python, os.path.join(REFERENCE, "smx_reference.py"), "init",
         "--spec", args.spec, "--seed", "3", "--output", weights])
    run([args.model, "train", "--steps", "1", "--warmup", "1", "--lr",
         str(args.lr), "--weights", weights, "--data", args.data, "--ckpt",
         checkpoints, "--dump-batch", batch])
    run([python, os.path.join(REFERENCE, "torch_train_step.py"), "--spec",
         args.spec, "--weights", weights, "--batch", batch, "--task",
         "pretrain", "--step", "0", "--peak-lr", str(args.lr), "--warmup",
         "1", "--total", "1", "--max-grad-norm", "0", "--output", reference])

    step = os.path.join(checkpoints, "step-000001")
    smx_params = smx_safetensors.load(os.path.join(step, "weights.safetensors"))
    smx_moments = smx_safetensors.load(
        os.path.join(step, "optimizer.safetensors"))
    expected = smx_safetensors.load(reference)
    with open(os.path.join(checkpoints, "metrics.jsonl"),
              encoding="utf-8") as stream:
        metrics = [json.loads(line) for line in stream if line.strip()]

    passed = failed = 0

    def report(name, error):
        nonlocal passed, failed
        ok = error <= args.tolerance
        passed += ok
        failed += not ok
        print(f"{name}: relative error {error:.2e} {'ok' if ok else 'FAIL'}")

    first = metrics[0]
    for term in ["loss", "mlm_loss", "sentence_order_loss"]:
        report(term, relative_error(first[term], expected[term]))
    floors = {
        kind: 1e-3 * max(largest(expected[kind + "." + name])
                         for name in smx_params)
        for kind in ("grad", "param", "second_moment")
    }
    for name, value in sorted(smx_params.items()):
        gradient = smx_moments["first_moment." + name] / (1.0 - BETA1)
        actual = {"grad": gradient, "param": value,
                  "second_moment": smx_moments["second_moment." + name]}
        for kind in ("grad", "param", "second_moment"):
            report(f"{kind}.{name}",
                   relative_error(actual[kind], expected[f"{kind}.{name}"],
                                  floors[kind]))
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
