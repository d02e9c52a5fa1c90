#!/usr/bin/env python3
"""Expert load over a training run, as a heatmap per MoE layer: the share of
each expert in the tokens its layer routed (`moe.<i>.tokens_per_expert` of
MODEL train/finetune's metrics.jsonl, docs/runtime.md), in bins of steps.
A balanced layer is a flat colour; an expert that starves or hoards shows as
a dark or bright row.

    bench/plot/plot_expert_load.py CKPT/metrics.jsonl -o load.png [--bins 100]

Needs python3-matplotlib (scripts/setup-bench.sh installs it).
"""

import argparse
import re
import sys

from plot_metrics import import_pyplot, read_steps


def load_shares(rows, layer, bins):
    """[experts, bins] shares of the layer's tokens, and the bins' last steps."""
    key = f"moe.{layer}.tokens_per_expert"
    per_bin = max(1, -(-len(rows) // bins))
    shares, last_steps = [], []
    for start in range(0, len(rows), per_bin):
        chunk = rows[start:start + per_bin]
        totals = [sum(row[key][e] for row in chunk) for e in range(len(chunk[0][key]))]
        routed = sum(totals) or 1
        shares.append([t / routed for t in totals])
        last_steps.append(chunk[-1]["step"])
    return [list(column) for column in zip(*shares)], last_steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("metrics")
    parser.add_argument("-o", "--output", required=True, help="PNG to write")
    parser.add_argument("--bins", type=int, default=100, help="columns (bins of steps)")
    args = parser.parse_args()
    plt = import_pyplot("plot_expert_load.py")
    if plt is None:
        return 1
    rows = read_steps(args.metrics)
    layers = sorted({int(m.group(1)) for k in rows[0]
                     for m in [re.match(r"moe\.(\d+)\.tokens_per_expert$", k)] if m})
    if not layers:
        print(f"plot_expert_load.py: error: {args.metrics}: no moe.<i>.tokens_per_expert "
              "(the model has no MoE layers)", file=sys.stderr)
        return 1
    figure, axes = plt.subplots(len(layers), 1, figsize=(10, 2.2 + 0.25 * len(
        rows[0][f"moe.{layers[0]}.tokens_per_expert"]) * len(layers)), squeeze=False)
    for ax, layer in zip(axes[:, 0], layers):
        shares, last_steps = load_shares(rows, layer, args.bins)
        experts = len(shares)
        image = ax.imshow(shares, aspect="auto", interpolation="nearest", cmap="viridis",
                          vmin=0, vmax=max(2.0 / experts, max(map(max, shares))),
                          extent=(rows[0]["step"] - 0.5, last_steps[-1] + 0.5,
                                  experts - 0.5, -0.5))
        ax.set_ylabel(f"layer {layer}\nexpert")
        ax.set_yticks(range(experts))
        figure.colorbar(image, ax=ax, label="share of routed tokens")
    axes[-1, 0].set_xlabel("step")
    axes[0, 0].set_title(f"{args.metrics}: expert load (balanced: {1 / experts:.3f} each)")
    figure.tight_layout()
    figure.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
