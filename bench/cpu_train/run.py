#!/usr/bin/python3
"""CPU training benchmark: train steps of a model compiled by smxc against PyTorch (eager).

For each spec (with dropout set to 0: the PyTorch reference has none): compile it
with `smxc --task=pretrain`, write N(0, 0.02) weights (`smx_reference.py init`),
then run, alternating, --rounds rounds of

  * smx:     `MODEL train --steps W+K --warmup 1 --lr 1e-4 --weights W --data D
             --ckpt DIR` (a fresh process); the per-step `step_time_s` of
             DIR/metrics.jsonl, skipping the first W steps;
  * PyTorch: `torch_train.py` (a fresh process): the same model, objective,
             autograd gradients, clipping and AdamW (test/reference/
             torch_train_step.py's Trainer) in eager float32 on the batch the
             first smx run dumped (`--dump-batch`), reused every step, each step
             timed with time.perf_counter(); the first W steps skipped.

The headline is examples/s = B / median step time on each side and their ratio.
Both sides run under one environment with the same thread count
(OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = torch.set_num_threads = --threads).
The run also checks that both compute the same loss on the first step (within
--loss-rtol), checks the Trainer against torch_train_step.train_step on tiny_sm,
reports the machine, the OpenBLAS core, versions, load average and the CPU time
other processes took, and writes bench/reports/cpu_train-<date>.md.

Usage: /usr/bin/python3 bench/cpu_train/run.py [--models small_sm_fortunes,sm_small]
       [--shape sm_small=8x512] [--steps auto] [--rounds 2] [--threads 2]
       [--wait-idle 0]
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import benchenv  # noqa: E402
from benchenv import REFERENCE, REPO, cpu_seconds, log, spec_path  # noqa: E402
TORCH_TRAIN = os.path.join(HERE, "torch_train.py")
SMX_REFERENCE = os.path.join(REFERENCE, "smx_reference.py")
DEFAULT_DATA = os.path.join(REPO, "test", "unittests", "application", "data",
                            "small_corpus.txt")
# Batch x sequence per model unless --shape says otherwise (else the spec's compile.*).
DEFAULT_SHAPES = {"sm_small": (8, 512)}
BIG_MODEL = 20_000_000       # parameters: --steps auto runs fewer steps per round above it


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="small_sm_fortunes,sm_small",
                        help="comma-separated sample names (samples/NAME.yaml) or spec paths")
    parser.add_argument("--shape", action="append", default=[],
                        help="NAME=BxS: compiled batch and sequence of a model (repeatable; "
                             "default sm_small=8x512, else the spec's compile section)")
    parser.add_argument("--steps", default="auto",
                        help="timed steps per process and round (auto: 2 for models over "
                             "20 M parameters, else 15)")
    parser.add_argument("--warmup-steps", type=int, default=2,
                        help="steps run first in every process and not timed")
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternating smx / PyTorch processes per model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--torch-blas-threads", type=int, default=None,
                        help="OPENBLAS_NUM_THREADS of the PyTorch process only (default "
                             "--threads); smx makes OpenBLAS single-threaded itself")
    parser.add_argument("--lr", type=float, default=1e-4, help="peak learning rate")
    parser.add_argument("--max-grad-norm", type=float, default=1.0,
                        help="global-norm clipping on both sides (smxc's default is 1)")
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help="corpus for smx's batches (small: the tokenizer is trained "
                             "on it at the start of every smx process)")
    parser.add_argument("--keep-dropout", action="store_true",
                        help="keep the spec's dropout in the smx model (the PyTorch "
                             "reference has none; the loss check becomes informational)")
    parser.add_argument("--wait-idle", type=float, default=0.0,
                        help="before each timed process, wait up to this many seconds for "
                             "other processes to use under a quarter of a CPU (default 0: "
                             "don't wait)")
    parser.add_argument("--loss-rtol", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0, help="weights' init seed")
    benchenv.add_common_arguments(parser)
    return parser.parse_args()


ARGS = parse_args()
benchenv.set_threads(ARGS.threads)     # before NumPy / torch load OpenBLAS
import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

import smx_safetensors  # noqa: E402
import torch_train_step  # noqa: E402
from smx_spec import load_spec  # noqa: E402

torch.set_num_threads(ARGS.threads)

# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------

def wait_idle(limit):
    """Waits (in 2 s windows, at most `limit` s) until other processes use under a
    quarter of a CPU; returns the seconds waited."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        busy0, own0 = cpu_seconds()
        time.sleep(2.0)
        busy1, own1 = cpu_seconds()
        if (busy1 - busy0) - (own1 - own0) < 0.5:
            break
    return time.perf_counter() - start


class Measured:
    """Runs a command to completion and records its wall time, its own resource
    usage (os.wait4: user and system CPU, minor page faults, peak RSS) and the CPU
    time other processes took meanwhile."""

    def __init__(self, cmd, what, idle_wait=0.0, env=None):
        self.waited = wait_idle(idle_wait) if idle_wait > 0 else 0.0
        log("$ " + " ".join(cmd))
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            busy0, _ = cpu_seconds()
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
            _, status, usage = os.wait4(proc.pid, 0)
            self.wall = time.perf_counter() - start
            busy1, _ = cpu_seconds()
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            self.stdout, self.stderr = out.read(), err.read()
        if proc.returncode != 0:
            sys.exit(f"run.py: {what} failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                     f"{self.stdout[-3000:]}\n{self.stderr[-3000:]}")
        self.user, self.system = usage.ru_utime, usage.ru_stime
        self.faults = usage.ru_minflt
        self.maxrss_gb = usage.ru_maxrss / 2 ** 20          # KiB on Linux
        self.other = max(0.0, (busy1 - busy0) - (self.user + self.system))


# --------------------------------------------------------------------------
# Workload
# --------------------------------------------------------------------------

def shapes_from_args():
    shapes = dict(DEFAULT_SHAPES)
    for item in ARGS.shape:
        m = re.match(r"^([^=]+)=(\d+)x(\d+)$", item)
        if not m:
            sys.exit(f"run.py: --shape {item!r}: expected NAME=BxS")
        shapes[m.group(1)] = (int(m.group(2)), int(m.group(3)))
    return shapes


def write_bench_spec(path, out):
    """The spec with dropout off (hidden, attention, expert): smx's train step keeps
    the spec's training noise, the PyTorch reference has none."""
    with open(path) as f:
        doc = yaml.safe_load(f)
    if not ARGS.keep_dropout:
        doc["dropout"] = {"hidden": 0.0, "attention": 0.0}
        if doc.get("moe"):
            doc["moe"]["expert_dropout"] = 0.0
            if isinstance(doc["moe"].get("router"), dict):
                doc["moe"]["router"]["jitter"] = 0.0
    with open(out, "w") as f:
        f.write(f"# {os.path.relpath(path, REPO)} for bench/cpu_train/run.py"
                + ("" if ARGS.keep_dropout else " (dropout and router jitter off)") + "\n")
        yaml.safe_dump(doc, f, sort_keys=False)


def parameter_count(model):
    text = subprocess.run([model, "info", "--brief"], capture_output=True, text=True,
                          check=True).stdout
    m = re.search(r"parameters:\s+(\d+) elements in (\d+) tensors", text)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def train_flops(spec, b, s, predictions):
    """Multiply-add FLOPs (2 per MAC) of the GEMMs of one train step: 3 × those of the
    training forward (its input and weight gradients are one GEMM each of the same
    size; attention's two products have two input gradients) with the experts at
    their training capacity and the MLM head on the B×P predicted positions."""
    return 3 * benchenv.gemm_flops(spec, b, s, spec.capacity_factor_train,
                                   b * predictions if spec.mlm else 0)


def read_metrics(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-30)


def bench_model(name, workdir, shapes):
    path = spec_path(name)
    base = load_spec(path)
    batch, seq = shapes.get(base.name, shapes.get(name, (base.compile_batch, base.compile_seq)))
    d = os.path.join(workdir, base.name)
    os.makedirs(d, exist_ok=True)
    bench_spec = os.path.join(d, base.name + ".yaml")
    write_bench_spec(path, bench_spec)
    spec = load_spec(bench_spec)
    model = os.path.join(d, "model")
    cmd = [ARGS.smxc, bench_spec, "--task=pretrain", f"--batch={batch}", f"--seq={seq}",
           f"--max-grad-norm={ARGS.max_grad_norm:g}", "-o", model] + ARGS.smxc_arg
    compile_run = Measured(cmd, "smxc")
    params, tensors = parameter_count(model)
    steps = (2 if params > BIG_MODEL else 15) if ARGS.steps == "auto" else int(ARGS.steps)
    total = ARGS.warmup_steps + steps
    weights = os.path.join(d, "weights.safetensors")
    Measured([sys.executable, SMX_REFERENCE, "init", "--spec", bench_spec, "--seed",
              str(ARGS.seed), "--output", weights], "smx_reference.py init")
    batch_file = os.path.join(d, "batch.safetensors")
    log(f"{spec.name}: {params / 1e6:.1f} M parameters, {batch}×{seq}; "
        f"{ARGS.rounds} rounds of {ARGS.warmup_steps} + {steps} steps per side")

    smx_runs, torch_runs = [], []
    tokenizer = None
    for rnd in range(1, ARGS.rounds + 1):
        ckpt = os.path.join(d, f"ckpt{rnd}")
        shutil.rmtree(ckpt, ignore_errors=True)
        cmd = [model, "train", "--steps", str(total), "--warmup", "1", "--lr", f"{ARGS.lr:g}",
               "--weights", weights, "--data", os.path.abspath(ARGS.data), "--ckpt", ckpt,
               "--every", str(total), "--log-every", "1000", "--seed", "0"]
        if tokenizer:
            cmd += ["--tokenizer", tokenizer]
        else:
            cmd += ["--dump-batch", batch_file]
        run = Measured(cmd, "smx train", ARGS.wait_idle)
        metrics = [m for m in read_metrics(os.path.join(ckpt, "metrics.jsonl")) if "step" in m]
        if not tokenizer:
            tokenizer = os.path.join(d, "tokenizer.model")
            shutil.copy(os.path.join(ckpt, "tokenizer.model"), tokenizer)
        run.step_times = [m["step_time_s"] for m in metrics]
        run.first = metrics[0]
        shutil.rmtree(ckpt, ignore_errors=True)        # GBs of checkpoint in tmpfs
        smx_runs.append(run)
        log(f"{spec.name}: round {rnd}: smx steps "
            + " ".join(f"{t:.3f}" for t in run.step_times) + " s")

        cmd = [sys.executable, TORCH_TRAIN, "--spec", bench_spec, "--weights", weights,
               "--batch", batch_file, "--steps", str(total), "--task", "pretrain",
               "--lr", f"{ARGS.lr:g}", "--warmup", "1",
               "--max-grad-norm", f"{ARGS.max_grad_norm:g}", "--threads", str(ARGS.threads)]
        env = dict(os.environ)
        if ARGS.torch_blas_threads:
            env["OPENBLAS_NUM_THREADS"] = str(ARGS.torch_blas_threads)
        run = Measured(cmd, "torch_train.py", ARGS.wait_idle, env)
        result = json.loads(run.stdout.strip().splitlines()[-1])
        run.step_times, run.first, run.load_s = (result["step_times"], result["first"],
                                                 result["load_s"])
        run.untrained = result["untrained"]
        torch_runs.append(run)
        log(f"{spec.name}: round {rnd}: PyTorch steps "
            + " ".join(f"{t:.3f}" for t in run.step_times) + " s")

    skip = ARGS.warmup_steps
    smx_timed = [t for r in smx_runs for t in r.step_times[skip:]]
    torch_timed = [t for r in torch_runs for t in r.step_times[skip:]]
    predictions = smx_safetensors.load(batch_file)["mlm_positions"].shape[1] if spec.mlm else 0
    smx_first, torch_first = smx_runs[0].first, torch_runs[0].first
    checks = {}
    for term in ("loss", "mlm_loss", "sentence_order_loss", "grad_norm"):
        if term in smx_first and term in torch_first:
            checks[term] = (smx_first[term], torch_first[term],
                            rel(smx_first[term], torch_first[term]))
    loss_ok = checks["loss"][2] <= ARGS.loss_rtol
    log(f"{spec.name}: first-step loss smx {checks['loss'][0]:.7g}, PyTorch "
        f"{checks['loss'][1]:.7g}: relative difference {checks['loss'][2]:.1e} "
        + ("ok" if loss_ok else f"MISMATCH (limit {ARGS.loss_rtol:g})"))
    return {
        "name": spec.name, "spec": os.path.relpath(path, REPO), "batch": batch, "seq": seq,
        "predictions": predictions, "params": params, "tensors": tensors, "steps": steps,
        "compile_s": compile_run.wall, "smx_runs": smx_runs, "torch_runs": torch_runs,
        "smx_median": statistics.median(smx_timed), "torch_median": statistics.median(torch_timed),
        "smx_timed": smx_timed, "torch_timed": torch_timed,
        "flops": train_flops(spec, batch, seq, predictions),
        "checks": checks, "loss_ok": loss_ok,
        "smx_first_losses": [r.first["loss"] for r in smx_runs],
        "untrained": torch_runs[0].untrained,
    }


def check_trainer():
    """torch_train_step.Trainer (what the PyTorch side times) against train_step (the
    reference the unit tests and test/Integration/train-step.test check) on tiny_sm,
    3 steps in float64 with clipping: same losses, parameters and moments."""
    import smx_model
    spec = load_spec(os.path.join(REPO, "samples", "tiny_sm.yaml"))
    weights = smx_model.init_parameters(spec, 3)
    rng = np.random.default_rng(1)
    ids = rng.integers(5, spec.vocab_size, size=(4, spec.max_length)).astype(np.int32)
    ids[0, -spec.max_length // 4:] = 0
    batch = {"input_ids": ids, "type_ids": np.zeros_like(ids),
             "mlm_positions": np.sort(rng.integers(1, spec.max_length // 2, size=(4, 6)),
                                      axis=1).astype(np.int32),
             "mlm_labels": rng.integers(5, spec.vocab_size, size=(4, 6)).astype(np.int32),
             "mlm_weights": np.ones((4, 6), dtype=np.float32),
             "order_labels": rng.integers(0, 2, size=4).astype(np.int32)}
    trainer = torch_train_step.Trainer(spec, weights, "pretrain", 1e-3, 1, 3, 0.5,
                                       dtype=torch.float64)
    worst, moments = 0.0, None
    for step in range(3):
        ref = torch_train_step.train_step(spec, weights, batch, "pretrain", step, 1e-3, 1, 3,
                                          0.5, moments, torch.float64)
        got = trainer.step(batch, step)
        worst = max(worst, rel(float(ref["loss"]), got["loss"]))
        for n in trainer.names:
            for kind, store in (("param", trainer.params),
                                ("first_moment", trainer.first_moments),
                                ("second_moment", trainer.second_moments)):
                a, b = ref[f"{kind}.{n}"], store[n].detach()
                scale = max(float(a.abs().max()), 1e-9)   # floor: gradients zero up to rounding
                worst = max(worst, float((a - b).abs().max()) / scale)
        weights = {n: ref[f"param.{n}"].numpy() for n in trainer.names}
        moments = {f"{k}.{n}": ref[f"{k}.{n}"].numpy() for n in trainer.names
                   for k in ("first_moment", "second_moment")}
    return worst


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def fmt_times(times):
    return ", ".join(f"{t:.3f}" for t in times)


def waited(run):
    return f" (after waiting {run.waited:.0f} s for an idle machine)" if run.waited >= 2.5 else ""


def report(ctx, results):
    m, blas = ctx["machine"], ctx["openblas"]
    gemm, gemm_end = ctx["gemm"]["torch"], ctx["gemm_end"]["torch"]
    peak = max(gemm[0], gemm_end[0])
    other_pct = 100 * ctx["other_cpu_s"] / ctx["wall_s"] / max(os.cpu_count(), 1)
    busy = other_pct >= 5
    lines = [
        f"# CPU training benchmark, {ctx['date']}",
        "",
        "Train steps (forward, pre-training loss, gradients, AdamW) of smx-compiled models "
        "against PyTorch (eager, float32, autograd) on the CPU, same model, same batch shape, "
        "both under one environment and one OpenBLAS. Produced by `bench/cpu_train/run.py`.",
        "",
        "## Setup",
        "",
        f"- Machine: {m['cpu']}, {m['cpus']} CPUs ({m['threads_per_core']} thread/core), "
        f"L2 {m['l2']}, L3 {m['l3']}, {m['memory']} RAM; SIMD: {m['simd']}; "
        f"Linux {m['kernel']}.",
        f"- Competing work (the machine is shared): other processes used "
        f"{ctx['other_cpu_s']:.0f} CPU-s during the {ctx['wall_s']:.0f} s run "
        f"({other_pct:.0f}% of the machine; per side and model in the details); load average "
        f"{ctx['load_start']} at the start, {ctx['load_end']} at the end; busiest other "
        f"processes at the start: {ctx['top_start']}; at the end: {ctx['top_end']}."
        + (" **The machine was not idle: the lead engineer may have been compiling "
           "at the same time, so the timings may be pessimistic (see the per-round "
           "figures).**" if busy else ""),
        f"- Threads: {ARGS.threads} on both sides (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, "
        "`torch.set_num_threads`)"
        + (f", except OPENBLAS_NUM_THREADS={ARGS.torch_blas_threads} for PyTorch "
           "(`--torch-blas-threads`)" if ARGS.torch_blas_threads else "")
        + ". PyTorch threads inside OpenBLAS and its own OpenMP pool; "
        "smx runs everything on one LLVM OpenMP pool, with OpenBLAS single-threaded inside "
        "its GEMM panels (docs/runtime.md).",
        "- BLAS/malloc-related environment: "
        + (", ".join(f"`{k}={v}`" for k, v in ctx["env"]) or "none set") + ".",
        f"- OpenBLAS: core **{blas['corename']}**, config `{blas['config']}`; library "
        f"`{blas['library']}` (PyTorch and this process), `{ctx['smx_blas']}` (smx runtime).",
        f"- OpenBLAS SGEMM {ARGS.gemm_size}³ through torch, {ARGS.threads} threads, best "
        f"(median) of 5, before / after the models: {gemm[0]:.0f} ({gemm[1]:.0f})"
        f" / {gemm_end[0]:.0f} ({gemm_end[1]:.0f}) GFLOP/s.",
        f"- Versions: smx {ctx['smx_rev']} (smxc `{ctx['smxc_version']}`, options "
        f"`--task=pretrain --max-grad-norm={ARGS.max_grad_norm:g}"
        f"{' ' + ' '.join(ARGS.smxc_arg) if ARGS.smxc_arg else ''}`), PyTorch "
        f"{torch.__version__}, NumPy {np.__version__}, Python {platform.python_version()}.",
        f"- PyTorch side: `test/reference/torch_train_step.py`'s `Trainer` (checked in this run "
        f"against its `train_step` on tiny_sm, 3 steps in float64 with clipping: largest "
        f"relative difference {ctx['trainer_check']:.1e}).",
        "",
        "## What is timed",
        "",
        "- **smx**: `MODEL train --steps W+K --warmup 1 --lr "
        f"{ARGS.lr:g} --weights W --data D --ckpt DIR` (one fresh process per round); the "
        "`step_time_s` of each step in DIR/metrics.jsonl (batch assembly and the train step; "
        "not the checkpoint at the end, not tokenizer training at the start).",
        "- **PyTorch**: `bench/cpu_train/torch_train.py` (one fresh process per round): the same "
        "model, pre-training objective (MLM on the masked slots + sentence order + MoE router "
        "z-losses), torch autograd, global-norm clipping and AdamW (the reference's formula, in "
        "place), parameters and moments persistent float32 tensors; each step timed with "
        "`time.perf_counter()` around forward + loss + backward + clipping + update.",
        f"- Per process W = {ARGS.warmup_steps} warm-up steps are run and skipped, then K timed "
        f"steps; {ARGS.rounds} rounds alternate smx / PyTorch; the figure is the **median of "
        "all timed steps** of a side. examples/s = B / median step time."
        + (f" Before each process the run waited (at most {ARGS.wait_idle:g} s) for other "
           "processes to use under a quarter of a CPU." if ARGS.wait_idle > 0 else ""),
        "- Same batch shape on both sides: B×S tokens, P masked-LM slots (smx's "
        "`--max-predictions` default: 80, at most S). smx draws a new batch from the corpus "
        "every step; PyTorch reuses the batch of smx's first step (`--dump-batch`). The "
        "arithmetic does not depend on the token values (MoE capacity is fixed).",
        "- Both sides use the spec with dropout off"
        + (" (**not** in this run: `--keep-dropout`)" if ARGS.keep_dropout else
           " (`dropout.hidden`, `dropout.attention`, `moe.expert_dropout` = 0): the "
           "PyTorch reference has no dropout, and the first-step losses can then be compared")
        + f"; gradients clipped to global norm {ARGS.max_grad_norm:g} (smxc's default) on "
        "both sides; learning rate warmup 1 step, then linear decay over the process's steps.",
        f"- Weights: `smx_reference.py init` (N(0, 0.02), seed {ARGS.seed}); corpus "
        f"`{os.path.relpath(os.path.abspath(ARGS.data), REPO)}`. Scratch files in "
        f"`{ctx['workdir_kind']}`.",
        "- GFLOP/s counts the GEMM multiply-adds of a step (2 per MAC): 3 × those of the "
        "training forward (projection, mixing, attention, experts at their training capacity, "
        "MLM head on the B×P slots, pooler), not softmax/LN/routing/AdamW.",
        "",
        "## Results",
        "",
        "| model | B×S | smx step (s) | PyTorch step (s) | smx ex/s | PyTorch ex/s | "
        "smx / PyTorch | smx GFLOP/s | PyTorch GFLOP/s | first-step loss smx / PyTorch |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        sm, tm = r["smx_median"], r["torch_median"]
        gf = r["flops"] / 1e9
        loss = r["checks"]["loss"]
        lines.append(
            f"| {r['name']} | {r['batch']}×{r['seq']} | {sm:.3f} | {tm:.3f} | "
            f"{r['batch'] / sm:.2f} | {r['batch'] / tm:.2f} | **{tm / sm:.2f}×** | "
            f"{gf / sm:.0f} | {gf / tm:.0f} | {loss[0]:.6f} / {loss[1]:.6f} "
            f"({'ok' if r['loss_ok'] else '**MISMATCH**'}, {loss[2]:.1e}) |")
    faster = []
    for r in results:
        ratio = r["torch_median"] / r["smx_median"]
        faster.append(f"{r['name']}: " + (f"smx is faster, {ratio:.2f}× PyTorch's examples/s"
                                          if ratio >= 1 else
                                          f"PyTorch is faster, smx reaches {ratio:.2f}× "
                                          "PyTorch's examples/s"))
    lines += ["", "smx / PyTorch is the ratio of examples/s (> 1: smx is faster). "
              + "; ".join(faster) + ".", "",
              f"OpenBLAS SGEMM peak for comparison: **{peak:.0f} GFLOP/s** "
              f"({ARGS.gemm_size}³, core {blas['corename']}).", "", "### Details", ""]
    for r in results:
        gf = r["flops"] / 1e9
        lines += [
            f"**{r['name']}** (`{r['spec']}`, dropout off): {r['params'] / 1e6:.2f} M parameters "
            f"in {r['tensors']} tensors (the smx pre-training model; the PyTorch reference also "
            f"holds {', '.join(r['untrained']) or 'nothing else'} off the loss path, no "
            f"gradient, no update); B×S {r['batch']}×{r['seq']}, P {r['predictions']}; "
            f"{gf:.1f} GFLOP of GEMMs per step; compile {r['compile_s']:.1f} s; "
            f"{ARGS.rounds} × ({ARGS.warmup_steps} + {r['steps']}) steps per side.",
            "",
        ]
        for i, (s, t) in enumerate(zip(r["smx_runs"], r["torch_runs"]), 1):
            skip = ARGS.warmup_steps
            lines.append(
                f"- round {i}: smx steps (s) [{fmt_times(s.step_times[:skip])}] "
                f"{fmt_times(s.step_times[skip:])}; process {s.wall:.1f} s wall, "
                f"{s.user:.1f} s user + {s.system:.1f} s system CPU, "
                f"{s.faults / 1e6:.2f} M minor page faults, peak RSS {s.maxrss_gb:.2f} GB; "
                "other processes "
                f"{s.other:.1f} CPU-s" + waited(s) + ".")
            lines.append(
                f"- round {i}: PyTorch steps (s) [{fmt_times(t.step_times[:skip])}] "
                f"{fmt_times(t.step_times[skip:])}; process {t.wall:.1f} s wall (import + "
                f"load {t.load_s:.1f} s), {t.user:.1f} s user + {t.system:.1f} s system CPU, "
                f"{t.faults / 1e6:.2f} M minor page faults, peak RSS {t.maxrss_gb:.2f} GB; "
                f"other processes {t.other:.1f} CPU-s" + waited(t) + ".")
        lines.append(f"- Medians: smx {r['smx_median']:.3f} s "
                     f"(min {min(r['smx_timed']):.3f}, max {max(r['smx_timed']):.3f}), PyTorch "
                     f"{r['torch_median']:.3f} s (min {min(r['torch_timed']):.3f}, max "
                     f"{max(r['torch_timed']):.3f}); [bracketed] steps are warm-up, not timed. "
                     f"Fastest step against fastest step: smx / PyTorch "
                     f"{min(r['torch_timed']) / min(r['smx_timed']):.2f}× (less sensitive to "
                     "competing work than the medians).")
        lines.append(f"- GEMM GFLOP/s at the median: smx {gf / r['smx_median']:.0f} "
                     f"({100 * gf / r['smx_median'] / peak:.0f}% of the SGEMM peak), PyTorch "
                     f"{gf / r['torch_median']:.0f} "
                     f"({100 * gf / r['torch_median'] / peak:.0f}%).")
        lines.append("- First step, smx vs PyTorch (same weights and batch; relative "
                     "difference): " + ", ".join(f"{k} {a:.7g} / {b:.7g} ({e:.1e})"
                                                 for k, (a, b, e) in r["checks"].items())
                     + f"; limit {ARGS.loss_rtol:g} on `loss`: "
                     + ("**ok**" if r["loss_ok"] else "**MISMATCH**")
                     + ". smx's first-step loss in each round: "
                     + ", ".join(f"{x:.7g}" for x in r["smx_first_losses"]) + ".")
        lines.append("")
    return "\n".join(lines)


def main():
    if not os.path.exists(ARGS.data):
        sys.exit(f"run.py: corpus {ARGS.data} not found")
    shapes = shapes_from_args()
    with benchenv.Run(ARGS, "cpu_train", gemm_libraries=("torch",), busiest=True) as run:
        run.ctx["trainer_check"] = check_trainer()
        log(f"Trainer vs train_step on tiny_sm: largest relative difference "
            f"{run.ctx['trainer_check']:.1e}")
        if run.ctx["trainer_check"] > 1e-6:
            sys.exit("run.py: torch_train_step.Trainer disagrees with train_step; aborting")
        run.sgemm("gemm")
        results = [bench_model(name.strip(), run.workdir, shapes)
                   for name in ARGS.models.split(",") if name.strip()]
        run.sgemm("gemm_end")
        run.finish()
    run.write_report(report(run.ctx, results))
    return 0 if all(r["loss_ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
