#!/usr/bin/env python3
"""Turns the metrics of a training run (MODEL train/finetune, metrics.jsonl:
docs/runtime.md) into a PNG: the loss terms over the steps (a moving mean
over --window steps on top of the raw values), the learning rate and the
gradient norm, and per MoE layer the fraction of tokens no expert took and
the spread of tokens per expert (min/max over experts).

    bench/plot/plot_metrics.py CKPT/metrics.jsonl -o run.png

Needs python3-matplotlib (scripts/setup-bench.sh installs it).
"""

import argparse
import json
import re
import sys


def read_steps(path):
    rows = []
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise SystemExit(f"plot_metrics.py: error: {path}:{number}: {error}")
            if "step" in row and "loss" in row and "eval" not in row:
                rows.append(row)
    if not rows:
        raise SystemExit(f"plot_metrics.py: error: {path}: no training steps")
    return rows


def import_pyplot(tool):
    """matplotlib.pyplot on the Agg backend, or None after one error line."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"{tool}: error: needs python3-matplotlib (scripts/setup-bench.sh)",
              file=sys.stderr)
        return None
    return plt


def moving_mean(values, window):
    out, total = [], 0.0
    for index, value in enumerate(values):
        total += value
        if index >= window:
            total -= values[index - window]
        out.append(total / min(index + 1, window))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("metrics")
    parser.add_argument("-o", "--output", required=True, help="PNG to write")
    parser.add_argument("--window", type=int, default=50)
    args = parser.parse_args()
    plt = import_pyplot("plot_metrics.py")
    if plt is None:
        return 1
    rows = read_steps(args.metrics)
    steps = [row["step"] for row in rows]
    terms = ["loss"] + sorted(k for k, v in rows[0].items()
                              if k.endswith("_loss") and k != "loss"
                              and not k.startswith("moe.")
                              and isinstance(v, (int, float)))
    layers = sorted({int(m.group(1)) for k in rows[0]
                     for m in [re.match(r"moe\.(\d+)\.", k)] if m})

    panels = 2 + (1 if layers else 0)
    figure, axes = plt.subplots(panels, 1, figsize=(9, 3.2 * panels),
                                sharex=True)
    for term in terms:
        values = [row[term] for row in rows]
        line, = axes[0].plot(steps, values, alpha=0.2, linewidth=0.8)
        axes[0].plot(steps, moving_mean(values, args.window),
                     color=line.get_color(), label=term)
    axes[0].set_ylabel("loss")
    axes[0].legend(loc="upper right")
    axes[0].set_title(args.metrics)

    axes[1].plot(steps, [row["learning_rate"] for row in rows],
                 label="learning rate", color="tab:green")
    axes[1].set_ylabel("learning rate")
    norm_axis = axes[1].twinx()
    norm_axis.plot(steps, moving_mean([row["grad_norm"] for row in rows],
                                      args.window),
                   label="gradient norm", color="tab:red")
    norm_axis.set_ylabel("gradient norm")

    if layers:
        axis = axes[2]
        for layer in layers:
            dropped = [row.get(f"moe.{layer}.dropped_fraction", 0.0)
                       for row in rows]
            axis.plot(steps, moving_mean(dropped, args.window),
                      label=f"layer {layer}: dropped tokens")
            loads = [row.get(f"moe.{layer}.tokens_per_expert") for row in rows]
            if all(isinstance(load, list) and load for load in loads):
                total = [sum(load) or 1 for load in loads]
                axis.fill_between(
                    steps, [min(l) / t for l, t in zip(loads, total)],
                    [max(l) / t for l, t in zip(loads, total)], alpha=0.2,
                    label=f"layer {layer}: expert share (min–max)")
        axis.set_ylabel("fraction")
        axis.legend(loc="upper right", fontsize="small")
    axes[-1].set_xlabel("step")
    figure.tight_layout()
    figure.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
