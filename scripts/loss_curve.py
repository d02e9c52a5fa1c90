#!/usr/bin/env python3
"""Prints the loss curve of a training run from its metrics.jsonl: the mean
of each loss term over each tenth of the steps (docs/runtime.md, metrics)."""

import argparse
import json
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("metrics", help="metrics.jsonl of a train run")
    parser.add_argument("--parts", type=int, default=10)
    args = parser.parse_args()
    try:
        with open(args.metrics, encoding="utf-8") as stream:
            rows = [json.loads(line) for line in stream if line.strip()]
    except (OSError, json.JSONDecodeError) as error:
        print(f"loss_curve.py: error: {args.metrics}: {error}", file=sys.stderr)
        return 1
    rows = [row for row in rows if "step" in row and "loss" in row
            and "epoch" not in row]
    if not rows:
        print(f"loss_curve.py: error: {args.metrics}: no training steps",
              file=sys.stderr)
        return 1
    terms = ["loss"] + sorted(name for name in rows[0]
                              if name.endswith("_loss") and name != "loss"
                              and isinstance(rows[0][name], (int, float)))
    print("steps".ljust(14) + "".join(term.rjust(22) for term in terms))
    size = max(1, len(rows) // args.parts)
    for start in range(0, len(rows), size):
        chunk = rows[start:start + size]
        means = [sum(row[term] for row in chunk) / len(chunk) for term in terms]
        label = f"{chunk[0]['step']}-{chunk[-1]['step']}"
        print(label.ljust(14) + "".join(f"{mean:22.4f}" for mean in means))
    return 0


if __name__ == "__main__":
    sys.exit(main())
