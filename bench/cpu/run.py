"""smx against PyTorch 2 (eager and torch.compile), JAX/XLA, IREE and ONNX Runtime
on this CPU: train-step and inference time per example, peak memory and compile
time of the same models, on the same weights, the same batch and the same
threads, in one run. `bench/cpu/run.sh` sets up the peers' venv and runs this
with its Python; bench/README.md says what is measured and how.

  run.sh [--quick] [--models bert_base,sparse_mixer,...] [--modes infer,train]
         [--peers torch_eager,torch_compile,jax,iree,onnxruntime] [--batch 8]
         [--seq 512] [--steps N] [--threads 2] [--workdir DIR] [--keep]
         [--report-dir DIR] [--no-report]

Per model and mode, every side is a fresh process, timed and measured (peak
RSS from wait4) from the outside:

- smx: `smxc` (compile time and peak RSS); `OUT predict` on the batch
  (inference: the outputs every peer is checked against, and the peak RSS of
  the real command) or `OUT train` for one step on the built-in corpus
  (training: its first-step loss and batch, which every peer then trains on,
  and the peak RSS); `OUT profile --steps N` (one untimed and N timed calls:
  the step time).
- each peer: `torch_peer.py` / `jax_peer.py` (the peer protocol): load, compile
  (or not, for eager), one untimed and N timed calls on the same batch.

A peer whose outputs (inference: relative error of every output, limit
`--rtol`) or first-step loss (training) disagree with smx's is flagged and
the run exits 1: nobody wins by computing something else.
"""

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import benchenv  # noqa: E402
from benchenv import REFERENCE, REPO, log  # noqa: E402
from measured import MeasuredProcess  # noqa: E402

sys.path.insert(0, REFERENCE)

import numpy as np  # noqa: E402

import smx_safetensors  # noqa: E402
from smx_spec import load_spec  # noqa: E402

PEERS = {
    # name: (script, modes, label)
    "torch_eager": ("torch_peer.py", ("infer", "train"), "PyTorch eager"),
    "torch_compile": ("torch_peer.py", ("infer", "train"), "torch.compile"),
    "jax": ("jax_peer.py", ("infer", "train"), "JAX/XLA (jit)"),
    "iree": ("jax_peer.py", ("infer", "train"), "IREE (llvm-cpu)"),
    "onnxruntime": ("torch_peer.py", ("infer",), "ONNX Runtime"),
}
# What each peer imports: --installed-peers-only drops a peer that lacks one.
PEER_MODULES = {
    "torch_eager": ("torch",),
    "torch_compile": ("torch",),
    "jax": ("jax", "optax"),
    "iree": ("jax", "iree.compiler", "iree.runtime"),
    "onnxruntime": ("torch", "onnx", "onnxscript", "onnxruntime"),
}
MODELS = ("bert_base", "sparse_mixer", "fast_sparse_mixer", "tiny_sm")
CORPUS = os.path.join(REPO, "test", "unittests", "application", "data", "small_corpus.txt")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny_sm only, 2 steps, report in the scratch directory "
                             "(the test suite runs this)")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--modes", default="infer,train")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--installed-peers-only", action="store_true",
                        help="leave out (and name in the report) the peers this Python "
                             "cannot import, instead of failing on them")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=512,
                        help="sequence length (at most the spec's max_length)")
    parser.add_argument("--steps", type=int, default=0,
                        help="timed calls per side (default 3 for models above 20 M "
                             "parameters, else 10)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rtol", type=float, default=1e-3,
                        help="limit of the relative error of a peer's outputs and "
                             "first-step loss against smx's")
    parser.add_argument("--max-flipped-tokens", type=float, default=0.001,
                        help="fraction of the batch's tokens whose outputs may differ "
                             "(MoE routing near-ties in float32) when the rest agree")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds one process may take")
    parser.add_argument("--smxc", default=os.path.join(REPO, "build", "bin", "smxc"))
    parser.add_argument("--workdir", default=None,
                        help="scratch directory (default: a fresh one in /tmp, removed "
                             "at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--report-dir", default=None,
                        help="default bench/reports (--quick: the scratch directory)")
    parser.add_argument("--no-report", action="store_true", help="print the report only")
    args = parser.parse_args()
    if args.quick:
        args.models, args.steps = "tiny_sm", args.steps or 2
    args.models = [m for m in args.models.split(",") if m]
    args.modes = [m for m in args.modes.split(",") if m]
    args.peers = [p for p in args.peers.split(",") if p]
    for peer in args.peers:
        if peer not in PEERS:
            parser.error(f"--peers: unknown peer {peer!r} (known: {', '.join(PEERS)})")
    args.missing_peers = []
    if args.installed_peers_only:
        args.missing_peers = [p for p in args.peers if not peer_installed(p)]
        args.peers = [p for p in args.peers if p not in args.missing_peers]
    for mode in args.modes:
        if mode not in ("infer", "train"):
            parser.error(f"--modes: unknown mode {mode!r} (infer, train)")
    return args


def peer_installed(peer):
    """Whether this Python has every module the peer imports (and, for
    torch.compile, a PyTorch 2: Debian 12's python3-torch is 1.13)."""
    for module in PEER_MODULES[peer]:
        try:
            if importlib.util.find_spec(module) is None:
                return False
        except ModuleNotFoundError:  # a missing parent package
            return False
    if peer == "torch_compile":
        version = importlib.metadata.version("torch")
        return int(version.split(".")[0]) >= 2
    return True


ARGS = parse_args()


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------

def run_process(cmd, what, workdir, extra_env=None):
    return MeasuredProcess(cmd, what, workdir, ARGS.threads, ARGS.timeout, extra_env)


def median(values):
    return statistics.median(values) if values else None


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def write_inputs(path, batch, seq, vocab, seed):
    """Random ids in [1, V) with padded tails (id 0) from half the length on."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, size=(batch, seq), dtype=np.int32)
    for row in range(batch):
        ids[row, int(rng.integers(seq // 2, seq + 1)):] = 0
    smx_safetensors.save(path, {"input_ids": ids, "type_ids": np.zeros_like(ids)})


def compare_outputs(smx_path, peer_path, batch, seq):
    """{output: (relative error, rows that differ, rows)} over the outputs both
    wrote. A row is a token of a per-token output ([B, S, ...]) or an example
    of a per-example one ([B, ...]); it differs when its own relative error
    (against the output's largest magnitude) is above --rtol."""
    a, b = smx_safetensors.load(smx_path), smx_safetensors.load(peer_path)
    result = {}
    for name in sorted(a):
        if name not in b or a[name].shape != b[name].shape:
            continue
        expected, actual = a[name].astype(np.float64), b[name].astype(np.float64)
        scale = max(np.max(np.abs(expected)), 1e-30)
        rows = batch * seq if expected.shape[:2] == (batch, seq) else batch
        row_error = np.max(np.abs(actual - expected).reshape(rows, -1), axis=1) / scale
        result[name] = (float(row_error.max()), int(np.sum(row_error > ARGS.rtol)), rows)
    return result


def check_outputs(errors, batch, seq):
    """(passed, text). Outputs agree when every one is within --rtol, or when
    they differ only at a few tokens (at most --max-flipped-tokens of the
    batch's): in an MoE layer, a float32 near-tie among the router's
    probabilities can put a token in or out of an expert's top C when the
    sums run in another order, and that token's row (and its example's
    pooled outputs) then differ while every other row agrees."""
    if not errors:
        return False, "no output in common"
    worst = max(e for e, _, _ in errors.values())
    if worst <= ARGS.rtol:
        return True, f"max rel. error {worst:.1e}"
    tokens = batch * seq
    flipped = max((n for e, n, rows in errors.values() if rows == tokens), default=0)
    examples = max((n for e, n, rows in errors.values() if rows == batch), default=0)
    limit = max(1, int(ARGS.max_flipped_tokens * tokens))
    text = (f"max rel. error {worst:.1e}: {flipped} of {tokens} tokens and {examples} of "
            f"{batch} examples differ (the rest within {ARGS.rtol:g})")
    if 0 < flipped <= limit and examples <= flipped:
        return True, text + ": routing near-ties"
    return False, text


def rel(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-30)


# --------------------------------------------------------------------------
# One model
# --------------------------------------------------------------------------

def profile_times(stdout):
    m = re.search(r"^step times \(ms\):([\d. ]+)$", stdout, re.M)
    return [float(t) / 1e3 for t in m.group(1).split()] if m else []


def run_peer(peer, mode, d, spec_file, weights, batch_file, steps):
    script, modes, _ = PEERS[peer]
    if mode not in modes:
        return None
    pdir = os.path.join(d, f"{peer}-{mode}")
    os.makedirs(pdir, exist_ok=True)
    cmd = [sys.executable, os.path.join(HERE, script), "--peer", peer, "--mode", mode,
           "--spec", spec_file, "--weights", weights, "--batch", batch_file,
           "--steps", str(steps), "--threads", str(ARGS.threads), "--workdir", pdir]
    if mode == "infer":
        cmd += ["--output", os.path.join(pdir, "outputs.safetensors")]
    else:
        cmd += ["--lr", "1e-4", "--warmup", "1", "--max-grad-norm", "1"]
    # A fresh compilation cache: compile times are those of a first compile.
    env = {"TORCHINDUCTOR_CACHE_DIR": os.path.join(pdir, "inductor-cache")}
    proc = run_process(cmd, f"{peer} {mode}", pdir, env)
    result = {"peer": peer, "ok": proc.ok, "peak_rss": proc.peak_rss, "wall": proc.wall}
    if not proc.ok:
        result["error"] = proc.stderr.strip().splitlines()[-1:] or ["failed"]
        return result
    report = proc.json()
    result.update(compile_s=report.get("compile_s"), step_times=report.get("step_times", []),
                  versions=report.get("versions", {}), gemm=report.get("gemm", "?"),
                  first=report.get("first"))
    if mode == "infer":
        result["outputs"] = os.path.join(pdir, "outputs.safetensors")
    return result


def bench_mode(name, mode, d, spec, spec_file, weights, batch, seq, steps):
    """smx and every peer on one model in one mode."""
    model = os.path.join(d, mode)
    flags = ([] if mode == "infer" else ["--task=pretrain", "--max-grad-norm=1"])
    smxc = run_process([ARGS.smxc, spec_file, f"--batch={batch}", f"--seq={seq}", "-o", model]
                       + flags, f"smxc {name} {mode}", d)
    if not smxc.ok:
        sys.exit(f"run.py: smxc failed on {spec_file}")
    smx = {"peer": "smx", "ok": True, "compile_s": smxc.wall, "compile_rss": smxc.peak_rss}
    if mode == "infer":
        batch_file = os.path.join(d, "inputs.safetensors")
        write_inputs(batch_file, batch, seq, spec.vocab_size, seed=1)
        smx["outputs"] = os.path.join(d, "smx-outputs.safetensors")
        run = run_process([model, "predict", "--weights", weights, "--input", batch_file,
                           "--output", smx["outputs"]], f"smx {name} predict", d)
    else:
        batch_file = os.path.join(d, "batch.safetensors")
        ckpt = os.path.join(d, "ckpt")
        run = run_process([model, "train", "--steps", "1", "--warmup", "1", "--lr", "1e-4",
                           "--weights", weights, "--data", CORPUS, "--ckpt", ckpt,
                           "--every", "1000000", "--log-every", "1000", "--seed", "0",
                           "--dump-batch", batch_file], f"smx {name} train (1 step)", d)
        if run.ok:
            with open(os.path.join(ckpt, "metrics.jsonl")) as f:
                metrics = [json.loads(line) for line in f if '"step"' in line]
            smx["first"] = metrics[0]
        shutil.rmtree(ckpt, ignore_errors=True)          # parameters and moments: GBs
    if not run.ok:
        sys.exit(f"run.py: smx {mode} failed on {spec_file}")
    smx["peak_rss"] = run.peak_rss
    prof = run_process([model, "profile", "--steps", str(steps), "--seed", "0"],
                       f"smx {name} profile", d)
    smx["step_times"] = profile_times(prof.stdout)
    if not prof.ok or not smx["step_times"]:
        sys.exit(f"run.py: `{model} profile` failed")

    sides = [smx]
    for peer in ARGS.peers:
        result = run_peer(peer, mode, d, spec_file, weights, batch_file, steps)
        if result is None:
            continue
        if result["ok"]:
            if mode == "infer":
                result["errors"] = compare_outputs(smx["outputs"], result["outputs"],
                                                   batch, seq)
                result["checked"], result["check"] = check_outputs(result["errors"], batch,
                                                                   seq)
            else:
                first = result.get("first") or {}
                diff = rel(smx["first"]["loss"], first.get("loss", float("inf")))
                result["check"] = (f"loss {first.get('loss', float('nan')):.6g} "
                                   f"vs {smx['first']['loss']:.6g} ({diff:.1e})")
                result["checked"] = diff <= ARGS.rtol
            log(f"{peer} {mode}: {result['check']}: "
                + ("ok" if result["checked"] else f"MISMATCH (limit {ARGS.rtol:g})"))
        sides.append(result)
    if mode == "train":
        smx["check"] = f"first-step loss {smx['first']['loss']:.6g}"
    else:
        smx["check"] = "reference"
    smx["checked"] = True
    for side in sides:
        side["median"] = median(side.get("step_times") or [])
    return sides


def bench_model(name, workdir):
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    spec_file = os.path.join(d, "spec.yaml")
    source = benchenv.write_noise_free_spec(name, spec_file, "bench/cpu/run.py")
    spec = load_spec(spec_file)
    seq = min(ARGS.seq, spec.max_length)
    if spec.needs_full_length:
        seq = spec.max_length
    weights = os.path.join(d, "weights.safetensors")
    run_process([sys.executable, os.path.join(REFERENCE, "smx_reference.py"), "init",
                 "--spec", spec_file, "--seed", "0", "--output", weights],
                f"weights of {name}", d)
    params = sum(int(np.prod(v.shape)) for v in smx_safetensors.load(weights).values())
    steps = ARGS.steps or (3 if params > 20_000_000 else 10)
    result = {"name": spec.name, "spec": os.path.relpath(source, REPO), "batch": ARGS.batch,
              "seq": seq, "params": params, "steps": steps, "modes": {}}
    for mode in ARGS.modes:
        sides = bench_mode(name, mode, d, spec, spec_file, weights, ARGS.batch, seq, steps)
        if mode == "infer":
            flops = benchenv.gemm_flops(spec, ARGS.batch, seq, spec.capacity_factor_eval,
                                        ARGS.batch * seq if spec.mlm else 0)
        else:
            predictions = smx_safetensors.load(
                os.path.join(d, "batch.safetensors"))["mlm_positions"].shape[1]
            flops = 3 * benchenv.gemm_flops(spec, ARGS.batch, seq, spec.capacity_factor_train,
                                            ARGS.batch * predictions if spec.mlm else 0)
        result["modes"][mode] = {"sides": sides, "flops": flops}
    if not ARGS.keep:
        shutil.rmtree(d, ignore_errors=True)
    return result


# --------------------------------------------------------------------------
# The machine
# --------------------------------------------------------------------------

SGEMM_PROBE = r"""
import ctypes, json, os, sys, time
n, blas = int(sys.argv[1]), sys.argv[2]
def best(fn):
    fn(); times = []
    for _ in range(5):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return 2.0 * n ** 3 / min(times) / 1e9
import numpy as np
a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
c = np.empty((n, n), dtype=np.float32)
out = {}
lib = ctypes.CDLL(blas)
ptr = lambda x: x.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
one, zero = ctypes.c_float(1.0), ctypes.c_float(0.0)
out["smx: " + os.path.basename(blas)] = best(lambda: lib.cblas_sgemm(
    101, 111, 111, n, n, n, one, ptr(a), n, ptr(b), n, zero, ptr(c), n))
try:
    lib.openblas_get_corename.restype = ctypes.c_char_p
    out["smx core"] = lib.openblas_get_corename().decode()
except AttributeError:
    pass
import torch
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
ta, tb = torch.from_numpy(a), torch.from_numpy(b)
out["PyTorch (MKL)"] = best(lambda: torch.mm(ta, tb))
import jax, jax.numpy as jnp
ja, jb = jnp.asarray(a), jnp.asarray(b)
f = jax.jit(jnp.matmul)
out["JAX/XLA"] = best(lambda: f(ja, jb).block_until_ready())
print(json.dumps(out))
"""


def measure_sgemm(workdir, n=2048):
    """SGEMM n³ GFLOP/s through smx's BLAS (the library libsmx_runtime links, through
    its cblas_sgemm), PyTorch and XLA, in a fresh process under the run's threads."""
    blas = benchenv.smx_blas_library(os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(ARGS.smxc))), "lib",
        "libsmx_runtime.so"))
    proc = run_process([sys.executable, "-c", SGEMM_PROBE, str(n), blas], "SGEMM peak", workdir)
    return proc.json() if proc.ok else {}


def check_peer_models(workdir):
    """The JAX model (of the jax and iree peers) against the PyTorch reference
    (bench/cpu/test_jax_model.py); the PyTorch peers run the reference model
    itself. A failure ends the run: its peers would measure another model."""
    if not {"jax", "iree"} & set(ARGS.peers):
        return "no JAX model in this run"
    proc = run_process([sys.executable, "-m", "unittest", "discover", "-q", "-s", HERE,
                        "-p", "test_jax_model.py"],
                       "test_jax_model.py (the JAX model against the PyTorch reference)",
                       workdir)
    if not proc.ok:
        sys.exit("run.py: bench/cpu/jax_model.py disagrees with the PyTorch reference:\n"
                 + proc.stderr[-2000:])
    summary = [line for line in proc.stderr.splitlines() if line.startswith("Ran ")]
    return ("bench/cpu/test_jax_model.py (the JAX model against the PyTorch reference): "
            + (summary[-1] if summary else "") + ", OK")


def peer_versions():
    out = benchenv.sh([sys.executable, "-m", "pip", "list", "--format=json"])
    try:
        packages = {p["name"].lower(): p["version"] for p in json.loads(out)}
    except ValueError:
        return {}
    return {k: packages[k] for k in ("torch", "jax", "jaxlib", "iree-base-compiler",
                                     "iree-base-runtime", "onnxruntime", "onnx", "optax",
                                     "numpy") if k in packages}


def main():
    if not os.path.exists(ARGS.smxc):
        sys.exit(f"run.py: {ARGS.smxc} not found; build smx first (scripts/build.sh)")
    workdir = ARGS.workdir or tempfile.mkdtemp(prefix="smx-bench-cpu-")
    os.makedirs(workdir, exist_ok=True)
    ctx = {"date": datetime.date.today().isoformat(), "machine": benchenv.machine_info(),
           "load_start": benchenv.loadavg(), "env": benchenv.blas_environment(),
           "smx_rev": benchenv.git_revision(), "versions": peer_versions(),
           "python": sys.version.split()[0], "threads": ARGS.threads, "quick": ARGS.quick,
           "missing_peers": [PEERS[p][2] for p in ARGS.missing_peers]}
    wall0, cpu0 = time.perf_counter(), benchenv.cpu_seconds()
    ctx["model_check"] = check_peer_models(workdir)
    ctx["sgemm_before"] = measure_sgemm(workdir)
    results = [bench_model(name, workdir) for name in ARGS.models]
    ctx["sgemm_after"] = measure_sgemm(workdir)
    (busy0, own0), (busy1, own1) = cpu0, benchenv.cpu_seconds()
    ctx["wall_s"] = time.perf_counter() - wall0
    ctx["other_cpu_s"] = max(0.0, (busy1 - busy0) - (own1 - own0))
    ctx["load_end"] = benchenv.loadavg()

    import report
    text = report.render(ctx, results, ARGS)
    print(text)
    report_dir = ARGS.report_dir or (workdir if ARGS.quick
                                     else os.path.join(REPO, "bench", "reports"))
    if not ARGS.no_report:
        os.makedirs(report_dir, exist_ok=True)
        stem = os.path.join(report_dir, f"cpu-{ctx['date']}")
        with open(stem + ".md", "w") as f:
            f.write(text + "\n")
        with open(stem + ".json", "w") as f:
            json.dump({"context": ctx, "results": results}, f, indent=1, default=str)
        charted = report.chart(results, stem + ".png")
        log(f"wrote {stem}.md, .json" + (", .png" if charted else
                                         " (no chart: this Python lacks matplotlib)"))
    if not ARGS.workdir and not ARGS.keep and not ARGS.quick:
        shutil.rmtree(workdir, ignore_errors=True)
    failed = [(r["name"], mode, s["peer"]) for r in results for mode, m in r["modes"].items()
              for s in m["sides"] if not s["ok"] or not s.get("checked", False)]
    for name, mode, peer in failed:
        log(f"run.py: {name} {mode}: {peer} failed or disagrees with smx")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
