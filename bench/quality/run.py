"""The papers' quality comparisons at CPU scale: BERT against Sparse Mixer and
Fast Sparse Mixer, and Sparse Mixer's routers, pre-trained on the default
corpus and fine-tuned on its categories, with smx's figures beside the
papers'.

  bench/quality/run.sh [--quick] [--steps N] [--finetune-steps N]
                       [--seeds 1,2,3] [--lr X] [--finetune-lr X]
                       [--workdir DIR] [--keep] [--report-dir DIR]
                       [--only models|routing]

What runs (every executable is compiled by `smxc` from bench/quality/models,
every run is the model executable's own `train`, `finetune` and `eval`):

1. Models: quality_bert, quality_sm and quality_fsm (bench/quality/models:
   one shape for all three, 6 layers of width 128, with the papers' mixing
   and MoE placement: attention everywhere for BERT; linear mixing with
   attention in the top third and 16-expert MoE in the middle third for SM,
   at capacity factor 1, and for FSM at 0.5) each pre-train --steps steps
   from the same seed on the fortunes corpus
   (masked LM + sentence order, one SentencePiece tokenizer for all), then
   are fine-tuned --finetune-steps steps on the fortunes categories (43
   classes) from each seed of --seeds; held-out accuracy, mean ± standard
   deviation over the seeds.
2. The same wall-clock budget: SM's pre-training time (the sum of its step
   times); BERT and FSM pre-train the number of steps that fits in it at
   their own measured step time, and are fine-tuned again.
3. Routers (the Expert Choice paper's appendix, Table 2) on the SM:
   experts-choose at capacity factor 2, 1 and 0.5 (EC-CF1 is the SM of 1,
   EC-CF0.5 the FSM), experts-choose capped at 2 and 3 experts per token by
   the paper's program (capped_experts_choose, method lp, CF 2), top-2
   tokens-choose with batch-prioritized routing (CF 2), and hash routing
   (CF 2), each pre-trained and fine-tuned as above.

Writes bench/reports/quality-DATE.md with PNG plots beside it (loss against
steps and against seconds per model; accuracy per router with error bars;
they need matplotlib: scripts/setup-bench.sh). --quick: tiny sizes and a few
steps, the report into the scratch directory (the test suite runs it).
"""

import argparse
import copy
import datetime
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import benchenv  # noqa: E402
from benchenv import REPO, log  # noqa: E402

MODELS = [("bert", "BERT"), ("sm", "SM"), ("fsm", "FSM")]

# (key, label, moe.router, capacity factor): the Expert Choice appendix's
# variants on the SM. EC-CF1 and EC-CF0.5 are the SM and the FSM themselves.
ROUTERS = [
    ("ec_cf2", "EC-CF2", {"policy": "experts_choose"}, 2.0),
    ("ec_cf1", "EC-CF1", None, None),
    ("ec_cf05", "EC-CF0.5", None, None),
    ("ec_cap2", "EC-CAP2", {"policy": "capped_experts_choose", "k": 2, "method": "lp"}, 2.0),
    ("ec_cap3", "EC-CAP3", {"policy": "capped_experts_choose", "k": 3, "method": "lp"}, 2.0),
    ("top2", "Top-2", {"policy": "tokens_choose", "k": 2, "batch_prioritized": True}, 2.0),
    ("hash", "Hash", {"policy": "hash"}, 2.0),
]
REUSED_ROUTERS = {"ec_cf1": "sm", "ec_cf05": "fsm"}

# Lee-Thorp & Ainslie 2022, Tables 8 and 9 (V100; GLUE and SuperGLUE
# averages, pre-training ms/batch, training ms/example).
PAPER_MODELS = {
    "BERT": {"glue": 84.7, "superglue": 65.7, "ms_batch": 304, "train_speedup": 1.0},
    "SM": {"glue": 85.0, "superglue": 66.4, "ms_batch": 184, "train_speedup": 1.65},
    "FSM": {"glue": 84.7, "superglue": 65.6, "ms_batch": 161, "train_speedup": 1.89},
}
# Zhou et al. 2022, appendix Table 2: GLUE/SuperGLUE average of 100M/64E
# models, three fine-tuning runs each.
PAPER_ROUTERS = {
    "EC-CF2": (84.0, 0.2), "EC-CF1": (83.0, 0.2), "EC-CF0.5": (83.0, 0.05),
    "EC-CAP2": (83.2, 0.4), "EC-CAP3": (84.0, 0.4), "Top-2": (83.0, 0.3),
    "Hash": (81.3, 1.0),
}

# --quick: the same structure at tiny sizes.
QUICK_SIZES = {"d_model": 32, "d_ff": 64, "num_heads": 2, "num_layers": 3}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes, a few steps, report in the scratch directory")
    parser.add_argument("--steps", type=int, default=None,
                        help="pre-training steps (default 2000; --quick 12)")
    parser.add_argument("--finetune-steps", type=int, default=None,
                        help="fine-tuning steps (default 400; --quick 6)")
    parser.add_argument("--seeds", default="1,2,3", help="fine-tuning seeds")
    parser.add_argument("--lr", type=float, default=1e-3, help="pre-training peak LR")
    parser.add_argument("--finetune-lr", type=float, default=1e-3,
                        help="fine-tuning peak LR")
    parser.add_argument("--only", choices=("models", "routing"), default=None)
    parser.add_argument("--from-json", default=None, metavar="REPORT.json",
                        help="write the report and plots again from a run's JSON "
                             "(beside it), running nothing")
    parser.add_argument("--smxc", default=os.path.join(REPO, "build", "bin", "smxc"))
    parser.add_argument("--data", default=None,
                        help="corpus (default: the executables' built-in, Debian's fortunes)")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--report-dir", default=None,
                        help="default bench/reports (--quick: the scratch directory)")
    args = parser.parse_args()
    args.steps = args.steps or (12 if args.quick else 2000)
    args.finetune_steps = args.finetune_steps or (6 if args.quick else 400)
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    if not args.seeds or args.steps < 1 or args.finetune_steps < 1:
        parser.error("--seeds, --steps and --finetune-steps need positive values")
    return args


ARGS = parse_args()


class RunFailed(Exception):
    pass


def run(cmd, what, cwd):
    """Runs one command; its output goes to a log in cwd. Returns stdout."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", what)
    log_path = os.path.join(cwd, name + ".log")
    with open(log_path, "w") as f:
        f.write("$ " + " ".join(cmd) + "\n" + proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RunFailed(f"{what} failed (exit {proc.returncode}; the whole output is in "
                        f"{log_path}):\n{proc.stderr[-3000:]}")
    log(f"quality: {what} ({time.perf_counter() - start:.0f} s)")
    return proc.stdout


# --------------------------------------------------------------------------
# Specs and executables
# --------------------------------------------------------------------------

def base_spec(key):
    with open(os.path.join(HERE, "models", f"{key}.yaml")) as f:
        spec = yaml.safe_load(f)
    if ARGS.quick:
        spec["model"].update(QUICK_SIZES, vocab_size=600, max_length=32)
        spec["compile"] = {"batch": 8, "seq": 32}
        if "moe" in spec:
            spec["moe"]["num_experts"] = 4
            spec["moe"]["layers"] = {"placement": "MIDDLE", "count": 1}
            spec["mixing"]["attention"] = {"placement": "TOP", "count": 1}
    return spec


def router_spec(router, capacity_factor):
    spec = base_spec("sm")
    spec["moe"]["router"] = dict(router)
    spec["moe"]["capacity_factor"] = {"train": capacity_factor, "eval": capacity_factor}
    return spec


class Model:
    """One spec, compiled to a pre-training and a fine-tuning executable."""

    def __init__(self, key, label, spec, workdir):
        self.key, self.label, self.spec = key, label, spec
        self.dir = os.path.join(workdir, key)
        os.makedirs(self.dir, exist_ok=True)
        spec["model"]["name"] = f"quality_{key}"
        self.spec_path = os.path.join(self.dir, f"{key}.yaml")
        with open(self.spec_path, "w") as f:
            yaml.safe_dump(spec, f, sort_keys=False)
        self.pretrain = os.path.join(self.dir, "pretrain")
        self.finetune = os.path.join(self.dir, "finetune")

    def compile(self):
        for task, out in (("pretrain", self.pretrain), ("finetune", self.finetune)):
            run([ARGS.smxc, self.spec_path, f"--task={task}", "-o", out],
                f"smxc {self.key} {task}", self.dir)

    @property
    def batch_tokens(self):
        return self.spec["compile"]["batch"] * self.spec["compile"]["seq"]


def data_options():
    return ["--data", ARGS.data] if ARGS.data else []


def read_metrics(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def pretrain(model, steps, tokenizer, tag):
    """Pre-trains `steps` steps from seed 0; returns the run's record."""
    ckpt = os.path.join(model.dir, f"pretrain-{tag}.ckpt")
    shutil.rmtree(ckpt, ignore_errors=True)
    run([model.pretrain, "train", "--steps", str(steps), "--lr", str(ARGS.lr),
         "--seed", "0", "--ckpt", ckpt, "--tokenizer", tokenizer, "--keep", "1",
         "--log-every", str(max(1, steps // 5))] + data_options(),
        f"{model.key} pretrain {tag} ({steps} steps)", model.dir)
    lines = [line for line in read_metrics(os.path.join(ckpt, "metrics.jsonl"))
             if "loss" in line and "step_time_s" in line]
    held_out = run([model.pretrain, "eval", "--weights", ckpt],
                   f"{model.key} eval pretrain {tag}", model.dir)
    terms = dict(re.findall(r"^(mlm_loss|sentence_order_loss): (\S+)", held_out, re.M))
    step_times = [line["step_time_s"] for line in lines]
    return {
        "model": model.key, "label": model.label, "tag": tag, "ckpt": ckpt,
        "steps": steps, "loss": [line["loss"] for line in lines],
        "step_time_s": step_times, "seconds": sum(step_times),
        "median_step_s": statistics.median(step_times),
        "held_out": {k: float(v) for k, v in terms.items()},
    }


def finetune(model, record, seed, tokenizer):
    ckpt = os.path.join(model.dir, f"finetune-{record['tag']}-seed{seed}.ckpt")
    shutil.rmtree(ckpt, ignore_errors=True)
    run([model.finetune, "finetune", "--init", record["ckpt"], "--steps",
         str(ARGS.finetune_steps), "--lr", str(ARGS.finetune_lr), "--seed", str(seed),
         "--ckpt", ckpt, "--tokenizer", tokenizer, "--keep", "1",
         "--log-every", str(max(1, ARGS.finetune_steps // 2))] + data_options(),
        f"{model.key} finetune {record['tag']} seed {seed}", model.dir)
    evals = [line for line in read_metrics(os.path.join(ckpt, "metrics.jsonl"))
             if "eval" in line]
    if not evals or "accuracy" not in evals[-1]["eval"]:
        raise RunFailed(f"{ckpt}: no held-out accuracy in its metrics")
    if not ARGS.keep:
        shutil.rmtree(ckpt, ignore_errors=True)
    return evals[-1]["eval"]["accuracy"]


def finetune_all(model, record, tokenizer):
    accuracies = [finetune(model, record, seed, tokenizer) for seed in ARGS.seeds]
    record["accuracy"] = accuracies
    record["accuracy_mean"] = statistics.mean(accuracies)
    record["accuracy_std"] = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    return record


def majority_baseline(model, tokenizer):
    """The fine-tuning report's majority baseline of the held-out examples."""
    log_path = os.path.join(model.dir, f"{model.key}_finetune_same-steps_seed_"
                            f"{ARGS.seeds[0]}.log")
    if os.path.exists(log_path):
        with open(log_path) as f:
            found = re.search(r"majority baseline: (\S+) \(class '([^']*)', (\d+) of (\d+)\)",
                              f.read())
        if found:
            return float(found.group(1)), found.group(2), int(found.group(4))
    return None


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def pct(value):
    return f"{100 * value:.1f}"


def mean_std(record):
    return f"{pct(record['accuracy_mean'])} ± {pct(record['accuracy_std'])}"


def render(ctx, same, budget, routers):
    lines = [
        f"# Quality at CPU scale: BERT, Sparse Mixer and Fast Sparse Mixer, and "
        f"SM's routers ({ctx['date']}{', --quick' if ARGS.quick else ''})",
        "",
        "Produced by `bench/quality/run.sh` (bench/quality/run.py says what runs). Every "
        "model is compiled by smxc and trained by its own executable on this machine: "
        f"pre-training on {ctx['corpus']} (masked LM + sentence order, one SentencePiece "
        f"tokenizer for all), {ARGS.steps} steps at peak LR {ARGS.lr:g} from seed 0, then "
        f"fine-tuning on the fortunes categories ({ctx['classes']} classes: which file a "
        f"quote comes from) for {ARGS.finetune_steps} steps at peak LR "
        f"{ARGS.finetune_lr:g}, from each of the seeds {', '.join(map(str, ARGS.seeds))} "
        "(the classifier's init and the batch order); accuracy on the "
        f"{ctx['held_out_rows']} held-out examples, mean ± standard deviation over the "
        "seeds.",
        "",
        f"- Machine: {ctx['machine']['cpu']}, {ctx['machine']['cpus']} CPUs; smx "
        f"{ctx['rev']}; the whole run took {ctx['wall_s'] / 60:.1f} minutes.",
        "- Models (bench/quality/models): one shape for all three, "
        f"{ctx['shape']['num_layers']} layers of width "
        f"{ctx['shape']['d_model']}, so that mixing and MoE are the only "
        "differences: BERT attends in every layer with dense feed-forward sublayers; "
        "SM mixes linearly with attention in the top third and "
        f"{ctx['shape']['num_experts']}-expert MoE in the middle third "
        "(capacity factor 1), FSM the same at capacity factor 0.5; batch "
        f"{ctx['batch']} × sequence {ctx['seq']}. The papers' models are far larger "
        "(BERT-Base 768 wide and 12 deep, SM 512 × 14) and train on C4 for far longer; "
        "their figures are GLUE and SuperGLUE averages, not this task's accuracy, so "
        "the columns compare orderings and gaps, not values.",
    ]
    if ctx.get("baseline"):
        value, name, rows = ctx["baseline"]
        lines.append(f"- Majority class of the held-out examples: '{name}', "
                     f"{pct(value)}% accuracy.")
    if same:
        lines += [
            "",
            "## BERT, SM and FSM: the same number of pre-training steps",
            "",
            "| model | step ms | speed-up vs BERT (paper) | held-out MLM loss | "
            "sentence-order loss | accuracy % | paper GLUE / SuperGLUE |",
            "|---|---|---|---|---|---|---|",
        ]
        bert_step = same["bert"]["median_step_s"]
        for key, label in MODELS:
            r, paper = same[key], PAPER_MODELS[label]
            lines.append(
                f"| {label} | {1e3 * r['median_step_s']:.0f} | "
                f"{bert_step / r['median_step_s']:.2f}x ({paper['train_speedup']:.2f}x) | "
                f"{r['held_out'].get('mlm_loss', float('nan')):.3f} | "
                f"{r['held_out'].get('sentence_order_loss', float('nan')):.3f} | "
                f"{mean_std(r)} | {paper['glue']} / {paper['superglue']} |")
    if budget:
        lines += [
            "",
            f"## The same wall-clock budget: {budget['seconds']:.0f} s of pre-training "
            "(SM's)",
            "",
            "| model | steps in the budget | held-out MLM loss | accuracy % |",
            "|---|---|---|---|",
        ]
        for key, label in MODELS:
            r = budget["runs"][key]
            lines.append(f"| {label} | {r['steps']} | "
                         f"{r['held_out'].get('mlm_loss', float('nan')):.3f} | "
                         f"{mean_std(r)} |")
    if routers:
        lines += [
            "",
            "## SM's routers (the Expert Choice paper's appendix, Table 2)",
            "",
            "| router | smx's policy | step ms | held-out MLM loss | accuracy % | "
            "paper GLUE/SuperGLUE avg. |",
            "|---|---|---|---|---|---|",
        ]
        for key, label, router, cf in ROUTERS:
            r = routers[key]
            policy = describe_router(key, router, cf, r)
            paper = PAPER_ROUTERS[label]
            lines.append(f"| {label} | {policy} | {1e3 * r['median_step_s']:.0f} | "
                         f"{r['held_out'].get('mlm_loss', float('nan')):.3f} | "
                         f"{mean_std(r)} | {paper[0]} ± {paper[1]} |")
    lines += ["", "## What it says", ""] + findings(same, budget, routers)
    lines += ["", "Plots: " + (", ".join(f"`{os.path.basename(p)}`" for p in ctx["plots"])
                               if ctx["plots"] else
                               "none (matplotlib is missing: scripts/setup-bench.sh)") + "."]
    return "\n".join(lines)


def describe_router(key, router, cf, record):
    if key in REUSED_ROUTERS:
        return ("experts_choose, CF 1 (the SM above)" if key == "ec_cf1" else
                "experts_choose, CF 0.5 (the FSM above)")
    text = router["policy"]
    if "k" in router:
        text += f", k {router['k']}"
    if router.get("method"):
        text += f", {router['method']}"
    if router.get("batch_prioritized"):
        text += ", batch-prioritized"
    return text + f", CF {cf:g}"


def spread_overlaps(a, b):
    return abs(a["accuracy_mean"] - b["accuracy_mean"]) <= a["accuracy_std"] + b["accuracy_std"]


def findings(same, budget, routers):
    out = []
    if same:
        bert, sm, fsm = same["bert"], same["sm"], same["fsm"]
        sm_speed = bert["median_step_s"] / sm["median_step_s"]
        fsm_speed = bert["median_step_s"] / fsm["median_step_s"]
        out.append(
            f"- **Speed.** SM's pre-training steps are {sm_speed:.2f}x as fast as BERT's "
            f"and FSM's {fsm_speed:.2f}x (the paper: 1.65x and 1.89x on a V100, where SM "
            "is also narrower than BERT; here the shapes are equal, so the gain is "
            "mixing and MoE alone). "
            + ("The ordering agrees." if fsm_speed >= sm_speed > 1 else
               "The ordering differs from the paper's."))
        order = sorted((same[k]["accuracy_mean"], label) for k, label in MODELS)
        gap = sm["accuracy_mean"] - bert["accuracy_mean"]
        out.append(
            f"- **Quality at equal steps.** SM's accuracy is {100 * gap:+.1f} points from "
            f"BERT's, FSM's {100 * (fsm['accuracy_mean'] - bert['accuracy_mean']):+.1f} "
            f"(best: {order[-1][1]}). The paper has SM +0.3 and FSM 0.0 GLUE points "
            "from BERT. "
            + ("SM and BERT are within their seeds' spread, as the paper's 0.3 points "
               "would predict." if spread_overlaps(sm, bert) else
               "The gap is wider than the seeds' spread: at this scale and length the "
               "models do not end equal, unlike the paper's."))
        chance = [label for key, label in MODELS
                  if same[key]["held_out"].get("sentence_order_loss", 0) > 0.68]
        if chance:
            out.append(
                "- **Sentence order.** " + " and ".join(chance)
                + (" ends" if len(chance) == 1 else " end")
                + " pre-training with a sentence-order loss at chance (ln 2 = 0.693): "
                "the pooled [CLS] representation, which the classifier reads, learned "
                "nothing from that head, which may explain most of a lower fine-tuning "
                "accuracy.")
        out.append(
            f"- **Upstream.** Held-out MLM loss: BERT "
            f"{bert['held_out'].get('mlm_loss', float('nan')):.3f}, SM "
            f"{sm['held_out'].get('mlm_loss', float('nan')):.3f}, FSM "
            f"{fsm['held_out'].get('mlm_loss', float('nan')):.3f} (lower is better).")
    if budget:
        runs = budget["runs"]
        best = max(MODELS, key=lambda m: runs[m[0]]["accuracy_mean"])[1]
        out.append(
            f"- **At equal time** BERT fits {runs['bert']['steps']} steps in SM's "
            f"{budget['seconds']:.0f} s and FSM {runs['fsm']['steps']}; the best accuracy "
            f"is {best}'s. "
            + ("That is the paper's argument: at a fixed budget the faster model sees "
               "more data." if best != "BERT" else
               "The paper's argument, that at a fixed budget the faster model sees more "
               "data and wins, does not show here."))
    if routers:
        ranked = sorted(((routers[k]["accuracy_mean"], label) for k, label, _, _ in ROUTERS),
                        reverse=True)
        paper_ranked = sorted(((v[0], k) for k, v in PAPER_ROUTERS.items()), reverse=True)
        hash_last = ranked[-1][1] == "Hash"
        out.append(
            "- **Routers.** smx's order: " + ", ".join(f"{label} {pct(v)}"
                                                      for v, label in ranked)
            + ". The paper's: " + ", ".join(f"{label} {v}" for v, label in paper_ranked)
            + ". " + ("Hash routing is last here too." if hash_last else
                      "Hash routing is not last here, unlike the paper's."))
        spreads = [routers[k]["accuracy_std"] for k, _, _, _ in ROUTERS]
        span = ranked[0][0] - ranked[-1][0]
        out.append(
            f"- The routers span {100 * span:.1f} points, against seeds' standard "
            f"deviations of {100 * min(spreads):.1f}–{100 * max(spreads):.1f}: "
            + ("most differences are within the noise of three fine-tuning runs, as the "
               "paper's own ±0.2–0.4 are for EC's variants." if span < 2 * max(spreads)
               else "the ordering is clearer than the seeds' noise."))
    out.append(
        "- **Why small-scale results may differ.** These models are "
        + ("tiny (--quick)" if ARGS.quick else "a few percent of the papers' size, "
           "and share one shape where the paper's SM is narrower and deeper than BERT")
        + ", and pre-train for minutes on a few MB of text, not days on C4; "
        "the task is one 43-class classification of short quotes, not GLUE's eight; and "
        "experts see few tokens each, which the paper found hurts as experts multiply. "
        "Speed ratios on 2 CPU cores weigh GEMMs and memory-bound kernels differently "
        "from a V100.")
    return out


def plot(ctx, records, routers, stem):
    """loss against steps and seconds per model; accuracy per router."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    paths = []
    if records:
        fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(12, 4.5))
        for r in records:
            block = r.get("curve_block", 1)
            steps = [block * (i + 1) for i in range(len(r["loss"]))]
            seconds, total = [], 0.0
            for t in r["step_time_s"]:
                total += t
                seconds.append(total)
            label = f"{r['label']} ({r['tag']}, {r['steps']} steps)"
            by_step.plot(steps, r["loss"], label=label, linewidth=0.8)
            by_time.plot(seconds, r["loss"], label=label, linewidth=0.8)
        by_step.set_xlabel("step")
        by_time.set_xlabel("seconds of training steps")
        for ax in (by_step, by_time):
            ax.set_ylabel("pre-training loss")
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
        fig.tight_layout()
        path = stem + "-loss.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    if routers:
        fig, ax = plt.subplots(figsize=(8, 4))
        labels = [label for _, label, _, _ in ROUTERS]
        means = [100 * routers[k]["accuracy_mean"] for k, _, _, _ in ROUTERS]
        stds = [100 * routers[k]["accuracy_std"] for k, _, _, _ in ROUTERS]
        ax.bar(labels, means, yerr=stds, capsize=4, color="#4c72b0")
        ax.set_ylabel("held-out accuracy %")
        ax.set_title(f"SM's routers, {len(ARGS.seeds)} fine-tuning seeds each")
        low = min(m - s for m, s in zip(means, stds))
        ax.set_ylim(max(0.0, low - 5), max(m + s for m, s in zip(means, stds)) + 2)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path = stem + "-routers.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def rounded(value):
    """`value` with every float to 6 significant digits (the JSON's size)."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


CURVE_BLOCK = 10  # steps per point of the loss curves the JSON keeps


def thinned(record):
    """A run's record with its per-step curves as blocks of CURVE_BLOCK
    steps: the mean loss and the summed step time of each."""
    if not record or record.get("curve_block", 1) != 1:
        return record
    out = dict(record)
    out["curve_block"] = CURVE_BLOCK
    out["loss"] = [statistics.mean(record["loss"][i:i + CURVE_BLOCK])
                   for i in range(0, len(record["loss"]), CURVE_BLOCK)]
    out["step_time_s"] = [sum(record["step_time_s"][i:i + CURVE_BLOCK])
                          for i in range(0, len(record["step_time_s"]), CURVE_BLOCK)]
    return out


def write_report(stem, ctx, same, budget, routers):
    """STEM.md, STEM.json and the plots beside them."""
    if not ctx.get("models_compared", True):
        same = None
    records = []
    if same:
        records = [same[key] for key, _ in MODELS] + [
            budget["runs"][key] for key, _ in MODELS
            if budget["runs"][key]["tag"] == "same-time"]
    ctx["plots"] = plot(ctx, records, routers, stem)
    text = render(ctx, same, budget, routers)
    print(text)
    with open(stem + ".md", "w") as f:
        f.write(text + "\n")
    with open(stem + ".json", "w") as f:
        thin = lambda runs: runs and {k: thinned(r) for k, r in runs.items()}  # noqa: E731
        json.dump(rounded({"context": ctx, "same_steps": thin(same),
                           "budget": budget and dict(budget, runs=thin(budget["runs"])),
                           "routers": thin(routers)}), f, indent=1, default=str)
    log(f"quality: wrote {stem}.md, .json"
        + "".join(f", {os.path.basename(p)}" for p in ctx["plots"]))


def rewrite_from_json(path):
    with open(path) as f:
        saved = json.load(f)
    ctx = saved["context"]
    if "same" in ctx:  # a run from before models_compared
        ctx["models_compared"] = True
        del ctx["same"]
    settings = ctx.get("settings", {})
    for key, value in settings.items():
        setattr(ARGS, key, value)
    if "shape" not in ctx:  # a run from before the context held it
        spec = base_spec("sm")
        ctx["shape"] = {"num_layers": spec["model"]["num_layers"],
                        "d_model": spec["model"]["d_model"],
                        "num_experts": spec["moe"]["num_experts"]}
    stem = path[:-len(".json")] if path.endswith(".json") else path
    write_report(stem, ctx, saved["same_steps"], saved["budget"], saved["routers"])
    return 0


def main():
    if ARGS.from_json:
        return rewrite_from_json(ARGS.from_json)
    if not os.path.exists(ARGS.smxc):
        sys.exit(f"run.py: {ARGS.smxc} not found; build smx first (scripts/build.sh)")
    workdir = ARGS.workdir or tempfile.mkdtemp(prefix="smx-quality-")
    os.makedirs(workdir, exist_ok=True)
    wall0 = time.perf_counter()
    tokenizer = os.path.join(workdir, "tokenizer.model")
    if os.path.exists(tokenizer):
        os.remove(tokenizer)

    models = {key: Model(key, label, base_spec(key), workdir) for key, label in MODELS}
    router_models = {}
    if ARGS.only != "models":
        for key, label, router, cf in ROUTERS:
            if key not in REUSED_ROUTERS:
                router_models[key] = Model(key, label, router_spec(router, cf), workdir)
    needed = dict(models) if ARGS.only != "routing" else {
        k: models[k] for k in set(REUSED_ROUTERS.values())}
    for model in list(needed.values()) + list(router_models.values()):
        model.compile()

    ctx = {"date": datetime.date.today().isoformat(), "machine": benchenv.machine_info(),
           "rev": benchenv.git_revision(), "plots": [],
           "corpus": ARGS.data or "Debian's fortunes (the executables' default corpus)",
           "batch": models["sm"].spec["compile"]["batch"],
           "seq": models["sm"].spec["compile"]["seq"],
           "shape": {"num_layers": models["sm"].spec["model"]["num_layers"],
                     "d_model": models["sm"].spec["model"]["d_model"],
                     "num_experts": models["sm"].spec["moe"]["num_experts"]},
           "settings": {"steps": ARGS.steps, "finetune_steps": ARGS.finetune_steps,
                        "seeds": ARGS.seeds, "lr": ARGS.lr,
                        "finetune_lr": ARGS.finetune_lr}}

    same = {key: pretrain(model, ARGS.steps, tokenizer, "same-steps")
            for key, model in needed.items()}
    for key, record in same.items():
        finetune_all(needed[key], record, tokenizer)
    ctx["baseline"] = majority_baseline(needed["sm"], tokenizer)
    probe = os.path.join(needed["sm"].dir,
                         f"sm_finetune_same-steps_seed_{ARGS.seeds[0]}.log")
    with open(probe) as f:
        text = f.read()
    found = re.search(r"(\d+) training and (\d+) held-out examples, (\d+) classes", text)
    ctx["held_out_rows"] = int(found.group(2)) if found else "?"
    ctx["classes"] = int(found.group(3)) if found else "?"

    budget = None
    ctx["models_compared"] = ARGS.only != "routing"
    if ctx["models_compared"]:
        seconds = same["sm"]["seconds"]
        budget = {"seconds": seconds, "runs": {"sm": same["sm"]}}
        for key in ("bert", "fsm"):
            steps = max(1, int(seconds / same[key]["median_step_s"]))
            if abs(steps - ARGS.steps) <= max(1, ARGS.steps // 50):
                budget["runs"][key] = same[key]
                continue
            record = pretrain(models[key], steps, tokenizer, "same-time")
            budget["runs"][key] = finetune_all(models[key], record, tokenizer)

    routers = None
    if ARGS.only != "models":
        routers = {}
        for key, label, router, cf in ROUTERS:
            if key in REUSED_ROUTERS:
                routers[key] = same[REUSED_ROUTERS[key]]
                continue
            record = pretrain(router_models[key], ARGS.steps, tokenizer, "same-steps")
            routers[key] = finetune_all(router_models[key], record, tokenizer)

    ctx["wall_s"] = time.perf_counter() - wall0
    report_dir = ARGS.report_dir or (workdir if ARGS.quick
                                     else os.path.join(REPO, "bench", "reports"))
    os.makedirs(report_dir, exist_ok=True)
    stem = os.path.join(report_dir, f"quality-{ctx['date']}")
    write_report(stem, ctx, same, budget, routers)
    if not ARGS.workdir and not ARGS.keep and not ARGS.quick:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RunFailed as failure:
        sys.exit(f"run.py: {failure}")
