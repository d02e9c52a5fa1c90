#!/usr/bin/python3
"""CPU inference benchmark: a model compiled by smxc against PyTorch (eager).

For each spec: compile it with `smxc --batch B`, write N(0, 0.02) weights (the
NumPy reference's init) and random input ids with padded tails as
safetensors, then time, alternating, after one warm-up each:

  * smx:     `MODEL predict --weights W --input IN --output OUT` on R rows;
  * smx 1×B: the same on the first B rows (one chunk), to separate the fixed
             cost (process start, weight loading) from the forward pass;
  * PyTorch: `torch_model.py predict` with the same arguments, a subprocess
             that imports torch, loads the weights, runs the same chunks and
             writes the same results; it also reports its own pure forward time.

Both sides run under one environment with the same thread count
(OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = torch.set_num_threads = --threads)
and the same OpenBLAS library. The run also prints the OpenBLAS core type and
measures OpenBLAS's SGEMM GFLOP/s at 2048³, checks the PyTorch model against
the NumPy reference (abort on mismatch) and writes a Markdown report to
bench/reports/cpu_infer-<date>.md.

Usage: /usr/bin/python3 bench/cpu_infer/run.py [--models sm_small,sparse_mixer]
       [--batch 8] [--rows 2B] [--repeats 3] [--threads 2]
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import benchenv  # noqa: E402
from benchenv import REPO, log, spec_path  # noqa: E402
TORCH_MODEL = os.path.join(HERE, "torch_model.py")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="sm_small,sparse_mixer",
                        help="comma-separated sample names (samples/NAME.yaml) or spec paths")
    parser.add_argument("--batch", type=int, default=8, help="compiled batch B")
    parser.add_argument("--seq", type=int, default=512,
                        help="sequence length (must be the spec's max_length for mixers)")
    parser.add_argument("--rows", type=int, default=None, help="rows per run (default 2B)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per side")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    benchenv.add_common_arguments(parser)
    return parser.parse_args()


ARGS = parse_args()
benchenv.set_threads(ARGS.threads)     # before NumPy / torch load OpenBLAS
sys.path.insert(0, HERE)
import numpy as np  # noqa: E402
import torch  # noqa: E402

import smx_model  # noqa: E402
import smx_safetensors  # noqa: E402
import torch_model  # noqa: E402
from smx_spec import load_spec  # noqa: E402

torch.set_num_threads(ARGS.threads)


# --------------------------------------------------------------------------
# Workload
# --------------------------------------------------------------------------

def compile_model(spec, batch, seq, out):
    cmd = [ARGS.smxc, spec, f"--batch={batch}", f"--seq={seq}", "-o", out] + ARGS.smxc_arg
    log("$ " + " ".join(cmd))
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"run.py: smxc failed on {spec}:\n{done.stderr}")
    return seconds


def manifest_parameters(model):
    """{name: shape} from `MODEL info`."""
    text = subprocess.run([model, "info"], capture_output=True, text=True, check=True).stdout
    params = {}
    for line in text.splitlines():
        m = re.match(r"^\s+(\S+)\s+\[([\d, ]*)\]\s+\S+\s+(normal|zeros|ones)\s*$", line)
        if m:
            params[m.group(1)] = tuple(int(x) for x in m.group(2).split(",") if x.strip())
    if not params:
        sys.exit(f"run.py: no parameters in `{model} info`")
    return params


def write_weights(spec, manifest, path, seed):
    """The reference's N(0, 0.02) init, restricted to (and checked against) the manifest."""
    params = smx_model.init_parameters(spec, seed)
    missing = sorted(set(manifest) - set(params))
    if missing:
        sys.exit(f"run.py: the reference has no parameter {missing[0]} of the smx model")
    for name, shape in manifest.items():
        if tuple(params[name].shape) != shape:
            sys.exit(f"run.py: {name}: smx shape {list(shape)}, "
                     f"reference {list(params[name].shape)}")
    smx_safetensors.save(path, {name: params[name] for name in manifest})


def write_inputs(path, rows, seq, vocab, seed):
    """Random ids in [1, V) with padded tails (id 0), like scripts/random_inputs.py."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, size=(rows, seq), dtype=np.int32)
    for row in range(rows):
        ids[row, int(rng.integers(seq // 2, seq + 1)):] = 0
    smx_safetensors.save(path, {"input_ids": ids, "type_ids": np.zeros_like(ids)})


def timed(cmd):
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"run.py: failed: {' '.join(cmd)}\n{done.stderr}")
    return seconds, done.stdout


def relative_error(expected, actual):
    expected, actual = expected.astype(np.float64), actual.astype(np.float64)
    return float(np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-30))


def compare_outputs(smx_out, torch_out):
    a = smx_safetensors.load(smx_out)
    b = smx_safetensors.load(torch_out)
    errors = {}
    for name in ("sequence_output", "pooled_output", "classifier_logits",
                 "sentence_order_logits", "mlm_logits"):
        if name in a and name in b and a[name].shape == b[name].shape:
            errors[name] = relative_error(b[name], a[name])
    return errors


def bench_model(name, workdir):
    path = spec_path(name)
    spec = load_spec(path)
    batch, seq = ARGS.batch, ARGS.seq
    rows = ARGS.rows or 2 * batch
    chunks = -(-rows // batch)
    d = os.path.join(workdir, spec.name)
    os.makedirs(d, exist_ok=True)
    model = os.path.join(d, "model")
    compile_s = compile_model(path, batch, seq, model)
    manifest = manifest_parameters(model)
    mlm = any(n.startswith("heads.mlm.") for n in manifest)
    weights, inputs, inputs_1 = (os.path.join(d, f) for f in
                                 ("weights.safetensors", "input.safetensors",
                                  "input1.safetensors"))
    log(f"{spec.name}: {sum(int(np.prod(s)) for s in manifest.values())} parameters; "
        "writing weights and inputs")
    write_weights(spec, manifest, weights, ARGS.seed)
    write_inputs(inputs, rows, seq, spec.vocab_size, ARGS.seed + 1)
    ids = smx_safetensors.load(inputs)
    smx_safetensors.save(inputs_1, {k: v[:batch] for k, v in ids.items()})

    smx_out, torch_out = os.path.join(d, "smx_out.st"), os.path.join(d, "torch_out.st")
    smx_cmd = [model, "predict", "--weights", weights, "--input", inputs, "--output", smx_out]
    smx1_cmd = [model, "predict", "--weights", weights, "--input", inputs_1,
                "--output", smx_out + ".1"]
    torch_cmd = [sys.executable, TORCH_MODEL, "predict", "--spec", path,
                 f"--batch={batch}", "--weights", weights, "--input", inputs,
                 "--output", torch_out, f"--threads={ARGS.threads}"]
    if not mlm:
        torch_cmd.append("--no-mlm")

    times = {"smx": [], "smx1": [], "torch": []}
    torch_parts = []
    for it in range(ARGS.repeats + 1):        # iteration 0 is the warm-up
        for key, cmd in (("smx", smx_cmd), ("torch", torch_cmd), ("smx1", smx1_cmd)):
            seconds, stdout = timed(cmd)
            label = "warm-up" if it == 0 else f"run {it}"
            log(f"{spec.name}: {label}: {key} {seconds:.2f} s")
            if it:
                times[key].append(seconds)
                if key == "torch":
                    torch_parts.append(json.loads(stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(v) for k, v in times.items()}
    torch_forward = statistics.median(p["forward"] for p in torch_parts)
    torch_fixed = statistics.median(p["total"] - p["forward"] for p in torch_parts)
    flops_chunk = benchenv.gemm_flops(spec, batch, seq, spec.capacity_factor_eval,
                                      batch * seq if mlm else 0)
    # smx's forward time per chunk: the extra chunks' share of the difference.
    smx_chunk = (med["smx"] - med["smx1"]) / (chunks - 1) if chunks > 1 else None
    return {
        "name": spec.name, "spec": os.path.relpath(path, REPO), "batch": batch, "seq": seq,
        "rows": rows, "chunks": chunks, "mlm": mlm, "compile_s": compile_s,
        "params": sum(int(np.prod(s)) for s in manifest.values()),
        "weights_mb": os.path.getsize(weights) / 1e6,
        "times": times, "median": med, "torch_forward": torch_forward,
        "torch_fixed": torch_fixed, "smx_chunk": smx_chunk, "flops_chunk": flops_chunk,
        "errors": compare_outputs(smx_out, torch_out),
    }


def check_tiny(workdir):
    """PyTorch vs the NumPy reference (must pass), and smx vs PyTorch, on tiny_sm."""
    path = os.path.join(REPO, "samples", "tiny_sm.yaml")
    rel, ok = torch_model.check_against_reference(path, seed=ARGS.seed)
    log(f"tiny_sm: PyTorch vs NumPy reference: sequence_output rel err {rel:.3e}")
    if not ok:
        sys.exit(f"run.py: PyTorch model disagrees with the NumPy reference on tiny_sm "
                 f"(relative error {rel:.3e} > 1e-4); aborting")
    spec = load_spec(path)
    d = os.path.join(workdir, "tiny_sm")
    os.makedirs(d, exist_ok=True)
    model = os.path.join(d, "model")
    compile_model(path, spec.compile_batch, spec.compile_seq, model)
    manifest = manifest_parameters(model)
    write_weights(spec, manifest, os.path.join(d, "w.st"), ARGS.seed)
    write_inputs(os.path.join(d, "in.st"), 2 * spec.compile_batch + 1, spec.compile_seq,
                 spec.vocab_size, ARGS.seed + 1)
    timed([model, "predict", "--weights", os.path.join(d, "w.st"), "--input",
           os.path.join(d, "in.st"), "--output", os.path.join(d, "smx.st")])
    cmd = [sys.executable, TORCH_MODEL, "predict", "--spec", path,
           f"--batch={spec.compile_batch}", "--weights", os.path.join(d, "w.st"),
           "--input", os.path.join(d, "in.st"), "--output", os.path.join(d, "torch.st")]
    if not any(n.startswith("heads.mlm.") for n in manifest):
        cmd.append("--no-mlm")
    timed(cmd)
    smx_rel = compare_outputs(os.path.join(d, "smx.st"), os.path.join(d, "torch.st"))
    log(f"tiny_sm: smx vs PyTorch: {smx_rel}")
    return rel, smx_rel


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------

def report(ctx, results):
    m, blas = ctx["machine"], ctx["openblas"]
    peak = max(best for gemm in (ctx["gemm"], ctx["gemm_end"]) for best, _ in gemm.values())
    lines = [
        f"# CPU inference benchmark, {ctx['date']}",
        "",
        "smx-compiled models against PyTorch (eager, float32, `torch.no_grad()`) on the CPU,",
        "both under one environment and one OpenBLAS. Produced by `bench/cpu_infer/run.py`.",
        "",
        "## Setup",
        "",
        f"- Machine: {m['cpu']}, {m['cpus']} CPUs ({m['threads_per_core']} thread/core), "
        f"L2 {m['l2']}, L3 {m['l3']}; SIMD: {m['simd']}; Linux {m['kernel']}.",
        f"- Competing work (the machine is shared): other processes used "
        f"{ctx['other_cpu_s']:.0f} CPU-s during the {ctx['wall_s']:.0f} s run "
        f"({100 * ctx['other_cpu_s'] / ctx['wall_s'] / max(os.cpu_count(), 1):.0f}% of "
        f"the machine); load average at start {ctx['load_start']}.",
        f"- Threads: {ARGS.threads} on both sides (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, "
        "`torch.set_num_threads`). PyTorch threads inside OpenBLAS and its own OpenMP pool; "
        "smx runs everything on one LLVM OpenMP pool, with OpenBLAS single-threaded inside "
        "its GEMM panels (docs/rationale.md).",
        "- BLAS/malloc-related environment: " + (", ".join(f"`{k}={v}`" for k, v in ctx["env"])
                                          or "none set") + ".",
        f"- OpenBLAS: core **{blas['corename']}**, config `{blas['config']}`; library "
        f"`{blas['library']}` (PyTorch and this process), `{ctx['smx_blas']}` (smx runtime).",
        f"- OpenBLAS SGEMM {ARGS.gemm_size}³, {ARGS.threads} threads, best (median) of 5, "
        "before / after the models: "
        + ", ".join(f"{k} {best:.0f} ({median:.0f}) / {ctx['gemm_end'][k][0]:.0f} "
                    f"({ctx['gemm_end'][k][1]:.0f}) GFLOP/s"
                    for k, (best, median) in ctx["gemm"].items()) + ".",
        f"- Versions: smx {ctx['smx_rev']} (smxc `{ctx['smxc_version']}`, options "
        f"`{' '.join(ARGS.smxc_arg) or 'default'}`), PyTorch {torch.__version__}, "
        f"NumPy {np.__version__}, Python {platform.python_version()}.",
        f"- Correctness: PyTorch vs the NumPy reference on tiny_sm, `sequence_output` "
        f"relative error {ctx['tiny_rel']:.1e} (limit 1e-4, checked every run); smx vs "
        "PyTorch on tiny_sm: " + ", ".join(f"{k} {v:.1e}" for k, v in ctx["tiny_smx"].items())
        + ".",
        "",
        "## What is timed",
        "",
        "- **End to end** (the headline): wall time of one process that starts, loads the "
        "weights from safetensors, runs every row in chunks of the compiled batch B and writes "
        "the results as safetensors: `MODEL predict --weights W --input IN --output OUT` for "
        "smx, `torch_model.py predict` (same arguments, same outputs) for PyTorch. "
        f"One warm-up each, then {ARGS.repeats} runs alternating smx / PyTorch; medians.",
        "- **Forward per chunk**: PyTorch's own timer around the forward passes; for smx, "
        "(time for R rows − time for B rows) / (chunks − 1), which removes process start "
        "and weight loading.",
        "- GFLOP/s counts the GEMM multiply-adds of the model (2 per MAC: projections, "
        "mixing, attention, experts at their capacity slots, heads), not softmax/LN/routing.",
        f"- Files live in `{ctx['workdir_kind']}`; inputs are random ids with padded tails; "
        "weights are the reference's N(0, 0.02) init.",
        "",
        "## Results",
        "",
        "| model | B×S | rows | compile (s) | smx ex/s | PyTorch ex/s | smx / PyTorch | "
        "smx fwd/chunk (s) | PyTorch fwd/chunk (s) | smx fwd GFLOP/s | PyTorch fwd GFLOP/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        med = r["median"]
        smx_eps, torch_eps = r["rows"] / med["smx"], r["rows"] / med["torch"]
        tchunk = r["torch_forward"] / r["chunks"]
        sc = r["smx_chunk"]
        gf = r["flops_chunk"] / 1e9
        lines.append(
            f"| {r['name']} | {r['batch']}×{r['seq']} | {r['rows']} | {r['compile_s']:.1f} | "
            f"{smx_eps:.2f} | {torch_eps:.2f} | **{smx_eps / torch_eps:.2f}×** | "
            + (f"{sc:.2f}" if sc else "n/a") + f" | {tchunk:.2f} | "
            + (f"{gf / sc:.0f}" if sc and sc > 0 else "n/a") + f" | {gf / tchunk:.0f} |")
    lines += ["", f"OpenBLAS SGEMM peak for comparison: **{peak:.0f} GFLOP/s** "
              f"({ARGS.gemm_size}³, core {blas['corename']}).", "", "### Details", ""]
    for r in results:
        med = r["median"]
        gf = r["flops_chunk"] / 1e9
        sc = r["smx_chunk"]
        lines += [
            f"**{r['name']}** (`{r['spec']}`): {r['params'] / 1e6:.1f} M parameters "
            f"({r['weights_mb']:.0f} MB of weights), MLM head {'on' if r['mlm'] else 'absent in the smx model, so off in PyTorch too'}; "
            f"{gf:.1f} GFLOP per chunk of {r['batch']}; {r['chunks']} chunks.",
            "",
            f"- smx end to end ({r['rows']} rows): median {med['smx']:.2f} s "
            f"(runs {', '.join(f'{t:.2f}' for t in r['times']['smx'])}); "
            f"1 chunk ({r['batch']} rows): {med['smx1']:.2f} s "
            f"(runs {', '.join(f'{t:.2f}' for t in r['times']['smx1'])}).",
            f"- PyTorch end to end: median {med['torch']:.2f} s "
            f"(runs {', '.join(f'{t:.2f}' for t in r['times']['torch'])}); of which forward "
            f"{r['torch_forward']:.2f} s, import + load + write {r['torch_fixed']:.2f} s.",
        ]
        if sc:
            fixed = med["smx1"] - sc
            lines.append(f"- smx: forward ≈ {sc:.2f} s per chunk "
                         f"({gf / sc:.0f} GFLOP/s, {100 * gf / sc / peak:.0f}% of the OpenBLAS "
                         f"peak); fixed cost ≈ {fixed:.2f} s (start, weight loading, writing).")
        lines.append(f"- PyTorch forward: {gf * r['chunks'] / r['torch_forward']:.0f} GFLOP/s "
                     f"({100 * gf * r['chunks'] / r['torch_forward'] / peak:.0f}% of peak).")
        lines.append("- smx vs PyTorch outputs (relative error, informational: float32 "
                     "routing near-ties may differ): "
                     + (", ".join(f"{k} {v:.1e}" for k, v in r["errors"].items()) or "none")
                     + ".")
        lines.append("")
    return "\n".join(lines)


def main():
    with benchenv.Run(ARGS, "cpu_infer") as run:
        run.ctx["tiny_rel"], run.ctx["tiny_smx"] = check_tiny(run.workdir)
        run.sgemm("gemm")
        results = [bench_model(name.strip(), run.workdir)
                   for name in ARGS.models.split(",") if name.strip()]
        run.sgemm("gemm_end")
        run.finish()
    run.write_report(report(run.ctx, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
