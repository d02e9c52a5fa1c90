"""The largest batch whose pre-training step fits in this machine's memory, for
smx and for PyTorch 2 eager (the leanest peer in bench/cpu's reports), measured
the same way for both.

  bench/cpu/run.sh largest-batch [--models bert_base,sparse_mixer,fast_sparse_mixer]
                                 [--seq 512] [--limit-gib G] [--threads 2]

Per model and side: one train step at batch 8 and at batch 16 gives the peak
RSS of each (smx: `OUT train --steps 1` of a model compiled for that batch;
PyTorch: `torch_peer.py --mode train --steps 0` on smx's dumped batch, its
rows repeated); the line through the two predicts the largest multiple of 8
whose peak stays under the limit (default: 95% of physical memory). A step
at that batch checks it: if it fits, the next multiple of 8 up is tried
until one fails or exceeds the limit; if not, the next one down, until one
fits. The largest batch whose step fit is reported with its peak RSS. Writes
bench/reports/largest-batch-DATE.md (also printed).
"""

import argparse
import datetime
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import benchenv  # noqa: E402
from benchenv import REFERENCE, REPO, log  # noqa: E402
from measured import GIB, MeasuredProcess  # noqa: E402

sys.path.insert(0, REFERENCE)

import numpy as np  # noqa: E402

import smx_safetensors  # noqa: E402

CORPUS = os.path.join(REPO, "test", "unittests", "application", "data", "small_corpus.txt")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="bert_base,sparse_mixer,fast_sparse_mixer")
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("--limit-gib", type=float, default=None,
                        help="default: 95%% of physical memory")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--smxc", default=os.path.join(REPO, "build", "bin", "smxc"))
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--report-dir", default=os.path.join(REPO, "bench", "reports"))
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args()
    if args.limit_gib is None:
        args.limit_gib = 0.95 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    return args


ARGS = parse_args()


def run(cmd, what, workdir):
    return MeasuredProcess(cmd, what, workdir, ARGS.threads, ARGS.timeout)


class Side:
    """How one side runs a train step at batch B in `d`; returns the process."""

    def __init__(self, name, d, spec_file, weights):
        self.name, self.d, self.spec_file, self.weights = name, d, spec_file, weights
        # smx's first batch, which smx's step at batch 8 dumps and PyTorch's
        # steps repeat: both sides train on the same tokens.
        self.batch8 = os.path.join(d, "batch8.safetensors")

    def step(self, batch):
        d = os.path.join(self.d, f"{self.name}-{batch}")
        os.makedirs(d, exist_ok=True)
        try:
            if self.name == "smx":
                model = os.path.join(d, "model")
                compiled = run([ARGS.smxc, self.spec_file, "--task=pretrain", f"--batch={batch}",
                                f"--seq={ARGS.seq}", "--max-grad-norm=1", "-o", model],
                               f"smxc at batch {batch}", d)
                if not compiled.ok:
                    return compiled
                cmd = [model, "train", "--steps", "1", "--warmup", "1", "--weights",
                       self.weights, "--data", CORPUS, "--ckpt", os.path.join(d, "ckpt"),
                       "--every", "1000000", "--log-every", "1000", "--seed", "0"]
                if batch == 8:
                    cmd += ["--dump-batch", self.batch8]
                return run(cmd, f"smx train step at batch {batch}", d)
            rows = {k: np.concatenate([v] * (batch // v.shape[0]))
                    for k, v in smx_safetensors.load(self.batch8).items()}
            batch_file = os.path.join(d, "batch.safetensors")
            smx_safetensors.save(batch_file, rows)
            return run([sys.executable, os.path.join(HERE, "torch_peer.py"), "--peer",
                        "torch_eager", "--mode", "train", "--spec", self.spec_file,
                        "--weights", self.weights, "--batch", batch_file, "--steps", "0",
                        "--threads", str(ARGS.threads), "--workdir", d],
                       f"PyTorch eager train step at batch {batch}", d)
        finally:
            shutil.rmtree(os.path.join(d, "ckpt"), ignore_errors=True)
            if os.path.exists(os.path.join(d, "model")):
                os.remove(os.path.join(d, "model"))


def largest(side):
    """(batch, peak RSS, [(batch, peak RSS or None)]) for one side."""
    tried = []
    points = []
    for batch in (8, 16):
        proc = side.step(batch)
        tried.append((batch, proc.peak_rss if proc.ok else None))
        if not proc.ok:
            return None, None, tried
        points.append((batch, proc.peak_rss))
    (b0, r0), (b1, r1) = points
    per_example = (r1 - r0) / (b1 - b0)
    limit = ARGS.limit_gib * GIB
    guess = int((limit - (r0 - per_example * b0)) / per_example) // 8 * 8
    log(f"{side.name}: {r0 / GIB:.2f} GiB at 8, {r1 / GIB:.2f} GiB at 16: "
        f"{per_example / GIB:.3f} GiB per example; predicted largest batch {guess}")
    best = (16, r1)

    def fits(batch):
        proc = side.step(batch)
        tried.append((batch, proc.peak_rss if proc.ok else None))
        return proc.ok and proc.peak_rss <= limit, proc.peak_rss

    # From the prediction, up while steps fit (the line may overestimate
    # what an example costs), else down until one fits.
    batch = max(guess, 24)
    ok, rss = fits(batch)
    if ok:
        best = (batch, rss)
        while True:
            ok, rss = fits(batch + 8)
            if not ok:
                break
            batch += 8
            best = (batch, rss)
    else:
        batch -= 8
        while batch > 16:
            ok, rss = fits(batch)
            if ok:
                best = (batch, rss)
                break
            batch -= 8
    return best[0], best[1], tried


def main():
    workdir = ARGS.workdir or tempfile.mkdtemp(prefix="smx-largest-batch-")
    rows = []
    for name in [m for m in ARGS.models.split(",") if m]:
        d = os.path.join(workdir, name)
        os.makedirs(d, exist_ok=True)
        spec_file = os.path.join(d, "spec.yaml")
        benchenv.write_noise_free_spec(name, spec_file, "bench/cpu/largest_batch.py")
        weights = os.path.join(d, "weights.safetensors")
        run([sys.executable, os.path.join(REFERENCE, "smx_reference.py"), "init", "--spec",
             spec_file, "--seed", "0", "--output", weights], f"weights of {name}", d)
        smx = Side("smx", d, spec_file, weights)
        torch = Side("torch", d, spec_file, weights)
        smx_batch, smx_rss, smx_tried = largest(smx)
        torch_batch, torch_rss, torch_tried = largest(torch)
        rows.append((name, smx_batch, smx_rss, smx_tried, torch_batch, torch_rss, torch_tried))
        shutil.rmtree(d, ignore_errors=True)

    def tried(points):
        return ", ".join(f"{b}: {r / GIB:.2f} GiB" if r else f"{b}: failed" for b, r in points)

    machine = benchenv.machine_info()
    lines = [f"# Largest pre-training batch at sequence {ARGS.seq} in {ARGS.limit_gib:.1f} GiB "
             f"({datetime.date.today().isoformat()})", "",
             "Produced by `bench/cpu/run.sh largest-batch` (bench/cpu/largest_batch.py "
             "says how). Machine: "
             f"{machine['cpu']}, {machine['cpus']} CPUs, {machine['memory']}; smx "
             f"{benchenv.git_revision()}; {ARGS.threads} threads. A batch counts when one "
             "train step (forward, loss, backward, clipping, AdamW) ran at it with its peak "
             "RSS under the limit. smx compiles with its default, `--recompute=none`, like "
             "PyTorch eager keeps every activation; `smxc --memory-limit` (or "
             "`--recompute=layers`) would trade compute for larger batches, not measured "
             "here.", "",
             "| model | smx largest batch | its peak RSS | PyTorch eager largest batch | "
             "its peak RSS | smx / PyTorch |", "|---|---|---|---|---|---|"]
    for name, sb, sr, _, tb, tr, _ in rows:
        ratio = f"{sb / tb:.2f}x" if sb and tb else "-"
        lines.append(f"| {name} | {sb or '-'} | {sr / GIB if sr else 0:.2f} GiB | {tb or '-'} | "
                     f"{tr / GIB if tr else 0:.2f} GiB | {ratio} |")
    lines += ["", "Steps run (batch: peak RSS):", ""]
    for name, _, _, st, _, _, tt in rows:
        lines += [f"- {name}: smx {tried(st)}; PyTorch eager {tried(tt)}."]
    text = "\n".join(lines)
    print(text)
    if not ARGS.no_report:
        os.makedirs(ARGS.report_dir, exist_ok=True)
        path = os.path.join(ARGS.report_dir,
                            f"largest-batch-{datetime.date.today().isoformat()}.md")
        with open(path, "w") as f:
            f.write(text + "\n")
        log(f"wrote {path}")
    if not ARGS.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
