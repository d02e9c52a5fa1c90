"""Compares two training runs' metrics.jsonl line by line.

Every number (losses, gradient norm, learning rate, expert loads and drop
fractions, held-out results) must agree within a relative tolerance, after
the same steps. Timing fields are skipped. Exits 1 with the first
difference.

With --text, compares two printed reports (`eval`) instead: the lines must
be the same but for their numbers, which must agree within the tolerance.

--fields a,b,... compares those fields of each line only.

Usage: compare_metrics.py A.jsonl B.jsonl [--rtol 1e-5] [--fields F,...]
       compare_metrics.py A.txt B.txt --text [--rtol 1e-5]
"""
import argparse
import json
import re
import sys

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")

TIMING = {"step_time_s", "tokens_per_s"}


def numbers(value):
    if isinstance(value, list):
        for item in value:
            yield from numbers(item)
    elif isinstance(value, dict):
        for key in sorted(value):
            yield from numbers(value[key])
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield float(value)


def relative(p, q):
    return abs(p - q) / max(abs(p), 1e-3)


def compare_text(args):
    with open(args.a) as f:
        a = f.read().splitlines()
    with open(args.b) as f:
        b = f.read().splitlines()
    if len(a) != len(b):
        sys.exit(f"{len(a)} lines vs {len(b)}")
    worst = 0.0
    for x, y in zip(a, b):
        if NUMBER.sub("#", x) != NUMBER.sub("#", y):
            sys.exit(f"different lines: '{x}' vs '{y}'")
        for p, q in zip(NUMBER.findall(x), NUMBER.findall(y)):
            error = relative(float(p), float(q))
            worst = max(worst, error)
            if error > args.rtol:
                sys.exit(f"'{x}' vs '{y}': relative {error:.2e} > {args.rtol:.0e}")
    print(f"{len(a)} lines agree: largest relative difference {worst:.1e}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--rtol", type=float, default=1e-5)
    parser.add_argument("--text", action="store_true")
    parser.add_argument("--fields", default="")
    args = parser.parse_args()
    if args.text:
        return compare_text(args)
    with open(args.a) as f:
        a = [json.loads(line) for line in f]
    with open(args.b) as f:
        b = [json.loads(line) for line in f]
    if [line["step"] for line in a] != [line["step"] for line in b]:
        sys.exit(f"different steps: {[l['step'] for l in a]} vs "
                 f"{[l['step'] for l in b]}")
    worst = 0.0
    for x, y in zip(a, b):
        if set(x) != set(y):
            sys.exit(f"step {x['step']}: different fields {sorted(set(x) ^ set(y))}")
        fields = args.fields.split(",") if args.fields else list(x)
        for key in fields:
            if key in TIMING:
                continue
            if key not in x:
                sys.exit(f"step {x['step']}: no field {key}")
            for p, q in zip(numbers(x[key]), numbers(y[key])):
                error = relative(p, q)
                worst = max(worst, error)
                if error > args.rtol:
                    sys.exit(f"step {x['step']}: {key} differs: {p} vs {q} "
                             f"(relative {error:.2e} > {args.rtol:.0e})")
    print(f"{len(a)} steps agree: largest relative difference {worst:.1e}")


if __name__ == "__main__":
    main()
