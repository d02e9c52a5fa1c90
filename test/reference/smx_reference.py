#!/usr/bin/python3
"""Independent NumPy reference for smx models (module + CLI).

Computes the eval-mode forward pass of a model spec in float64, written from
docs/spec.md, docs/weights.md and the smx/mix/moe dialect docs (not from
smx's C++), so compiled models can be checked against it.

  smx_reference.py init    --spec S --seed N --output W.safetensors
  smx_reference.py shapes  --spec S
  smx_reference.py forward --spec S --weights W.safetensors --input IN.safetensors
                           --output OUT.safetensors [--capacity eval|train|CF] [--debug]
  smx_reference.py compare --expected A.safetensors --actual B.safetensors
                           [--rtol 1e-4] [--atol 0]

Needs only Python 3, NumPy and PyYAML.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import smx_safetensors as safetensors  # noqa: E402
from smx_model import (forward, init_parameters, parameter_shapes,  # noqa: E402
                       mix_circulant_fft)
from smx_routing import capacity, num_groups, route, route_group  # noqa: E402
from smx_spec import Spec, load_spec, parse_spec, placement_layers  # noqa: E402

__all__ = ["Spec", "load_spec", "parse_spec", "placement_layers", "parameter_shapes",
           "init_parameters", "forward", "mix_circulant_fft", "num_groups", "capacity",
           "route", "route_group", "read_safetensors", "write_safetensors", "main"]

read_safetensors = safetensors.load
write_safetensors = safetensors.save

TINY = 1e-30


def outputs_for_file(outputs):
    """Casts forward() outputs to their file dtypes: F32, I32 indices, I64 counts."""
    result = {}
    for name, value in outputs.items():
        a = np.asarray(value)
        if name.endswith(".dispatch_indices"):
            result[name] = a.astype(np.int32)
        elif name.endswith(".tokens_per_expert"):
            result[name] = a.astype(np.int64)
        else:
            result[name] = a.astype(np.float32)
    return result


def compare_tensors(expected, actual, rtol, atol=0.0):
    """Compares one tensor: (ok, max_abs_err, rel_err, note); errors are None for
    integer tensors (compared exactly) and on shape or non-finite mismatches."""
    a, b = np.asarray(expected), np.asarray(actual)
    if a.shape != b.shape:
        return False, None, None, f"shape {list(b.shape)} != {list(a.shape)}"
    if a.dtype.kind in "biu" or b.dtype.kind in "biu":
        ndiff = int(np.count_nonzero(a.astype(np.int64) != b.astype(np.int64)))
        return ndiff == 0, None, None, "exact" if ndiff == 0 else f"{ndiff} elements differ"
    a, b = a.astype(np.float64), b.astype(np.float64)
    finite = np.isfinite(a)
    if not (np.array_equal(finite, np.isfinite(b))
            and np.array_equal(a[~finite], b[~finite], equal_nan=True)):
        return False, None, None, "non-finite values differ"
    err = float(np.max(np.abs(a[finite] - b[finite]), initial=0.0))
    scale = max(float(np.max(np.abs(a[finite]), initial=0.0)), TINY)
    return err <= atol + rtol * scale, err, err / scale, ""


def cmd_compare(args):
    expected = safetensors.load(args.expected)
    actual = safetensors.load(args.actual)
    rows = []
    for name in sorted(expected):
        shape = str(list(expected[name].shape))
        if name not in actual:
            rows.append((name, shape, None, None, "missing from actual", False))
        else:
            ok, err, rel, note = compare_tensors(expected[name], actual[name],
                                                 args.rtol, args.atol)
            rows.append((name, shape, err, rel, note, ok))
    width = max([len(r[0]) for r in rows] + [6])
    print(f"{'tensor':<{width}}  {'shape':<16} {'max|a-e|':>10} {'rel err':>10}  status")
    for name, shape, err, rel, note, ok in rows:
        fmt = lambda v: "" if v is None else f"{v:.3e}"  # noqa: E731
        line = f"{name:<{width}}  {shape:<16} {fmt(err):>10} {fmt(rel):>10}  "
        print(line + ("ok" if ok else "FAIL") + (f"  ({note})" if note else ""))
    extra = sorted(set(actual) - set(expected))
    if extra:
        print(f"not compared (only in actual): {', '.join(extra)}")
    failed = sum(not r[5] for r in rows)
    print(f"{'FAIL' if failed else 'PASS'}: {len(rows) - failed}/{len(rows)} tensors match "
          f"(rtol={args.rtol:g}, atol={args.atol:g})")
    return 1 if failed else 0


def cmd_forward(args):
    spec = load_spec(args.spec)
    weights = safetensors.load(args.weights)
    inputs = safetensors.load(args.input)
    assert "input_ids" in inputs, f"{args.input}: no `input_ids` tensor"
    outputs = forward(spec, weights, inputs["input_ids"], inputs.get("type_ids"),
                      capacity_factor=args.capacity,
                      padding_mask=inputs.get("padding_mask"), debug=args.debug)
    safetensors.save(args.output, outputs_for_file(outputs))
    return 0


def cmd_init(args):
    spec = load_spec(args.spec)
    safetensors.save(args.output, init_parameters(spec, args.seed))
    return 0


def cmd_shapes(args):
    for name, shape in parameter_shapes(load_spec(args.spec)).items():
        print(f"{name} {list(shape)}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("init", help="write N(0, 0.02) initial weights")
    p.add_argument("--spec", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", required=True)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("shapes", help="list parameter names and shapes")
    p.add_argument("--spec", required=True)
    p.set_defaults(func=cmd_shapes)

    p = sub.add_parser("forward", help="run the eval-mode forward pass")
    p.add_argument("--spec", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--input", required=True,
                   help="safetensors with input_ids [B,S] (i32/i64), optional type_ids "
                        "[B,S] (default 0) and padding_mask [B,S] (default input_ids != 0)")
    p.add_argument("--output", required=True)
    p.add_argument("--capacity", default="eval",
                   help="capacity factor: eval, train (from the spec) or a number")
    p.add_argument("--debug", action="store_true",
                   help="also write per-layer hidden states and router logits/probs")
    p.set_defaults(func=cmd_forward)

    p = sub.add_parser(
        "compare", help="compare two output files",
        description="Compares every tensor of EXPECTED that is also in ACTUAL; a tensor "
        "of EXPECTED missing from ACTUAL fails. Integer tensors must match exactly. A "
        "float tensor passes when max|actual - expected| <= atol + rtol * "
        "max(max|expected|, 1e-30): the error is relative to the largest magnitude of "
        "the expected tensor, not element-wise. Exit status 1 on any failure.")
    p.add_argument("--expected", required=True)
    p.add_argument("--actual", required=True)
    p.add_argument("--rtol", type=float, default=1e-4)
    p.add_argument("--atol", type=float, default=0.0)
    p.set_defaults(func=cmd_compare)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
