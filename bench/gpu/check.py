"""The GPU machine's half of bench/gpu/check.sh (run it through that script).

  check.py --work DIR --corpus FILE [--batch 64] [--seq 512]
           [--budget-s 420] [--out DIR] [--no-torch]

DIR is the unpacked bundle of `check.sh prepare` (bin/, lib/, reference/).
In order, each step inside the budget (what does not fit is recorded as
skipped, never silently dropped):

  1. the device (nvidia-smi);
  2. numerics: bin/tiny_sm-train trained 30 steps on the GPU against the CPU
     bf16 reference (reference/metrics.jsonl), relative 3.9e-3 on the loss,
     its terms and the gradient norm (test/Integration/compare_metrics.py);
  3. smx: `bin/MODEL-train profile` and `bin/MODEL-infer profile` per model:
     ms per step and per example, the runtime buffers' peak, cuBLASLt's
     TFLOP/s;
  4. PyTorch (bench/gpu/torch_gpu_peer.py): eager, then torch.compile, per
     model and mode.

Writes OUT/gpu-check.json and the report OUT/gpu-<date>.md
(bench/gpu/report.py); OUT defaults to bench/reports.
"""

import argparse
import datetime
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, os.pardir, os.pardir))
MODELS = ("bert_base", "sparse_mixer", "fast_sparse_mixer")
TOLERANCE = 3.9e-3
FIELDS = "loss,mlm_loss,sentence_order_loss,grad_norm,learning_rate"

PROFILE_STEP = re.compile(
    r"profile: (\d+) (?:train steps|forward passes) of \S+ \((\d+) x (\d+)\)"
    r".*: ([\d.]+) ms per step, median ([\d.]+) ms")
PROFILE_BUFFERS = re.compile(r"runtime buffers: at most ([\d.]+) MiB of (.+) memory")
PROFILE_GEMMS = re.compile(
    r"GEMMs on cuBLASLt: (\d+) calls per step, ([\d.]+) ms per step, ([\d.]+) TFLOP/s")


class Budget:
    def __init__(self, seconds):
        self.deadline = time.monotonic() + seconds

    def left(self):
        return self.deadline - time.monotonic()


def run(command, timeout, **kwargs):
    """Runs `command`; returns (returncode or 'timeout', stdout, stderr)."""
    print("$ " + " ".join(command), flush=True)
    try:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=max(1, timeout), **kwargs)
    except subprocess.TimeoutExpired as expired:
        return "timeout", expired.stdout or "", expired.stderr or ""
    except OSError as error:
        return 127, "", str(error)
    sys.stdout.write(done.stdout[-2000:])
    sys.stderr.write(done.stderr[-2000:])
    return done.returncode, done.stdout, done.stderr


def device():
    code, out, _ = run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version",
                        "--format=csv,noheader"], 30)
    return out.strip() if code == 0 else "nvidia-smi failed"


def numerics(work, corpus, budget):
    if budget.left() < 60:
        return {"status": "skipped", "why": "out of time"}
    ckpt = os.path.join(work, "gpu.ckpt")
    code, _, err = run([os.path.join(work, "bin", "tiny_sm-train"), "train",
                        "--steps", "30", "--lr", "1e-3", "--data", corpus,
                        "--tokenizer", os.path.join(work, "reference", "tokenizer.model"),
                        "--ckpt", ckpt], min(180, budget.left()))
    if code != 0:
        return {"status": "failed", "why": f"train exited {code}: {err.strip()[-500:]}"}
    code, out, err = run([sys.executable, os.path.join(REPO, "test", "Integration",
                                                       "compare_metrics.py"),
                          os.path.join(work, "reference", "metrics.jsonl"),
                          os.path.join(ckpt, "metrics.jsonl"), "--rtol", str(TOLERANCE),
                          "--fields", FIELDS], 60)
    return {"status": "passed" if code == 0 else "failed",
            "tolerance": TOLERANCE, "output": (out + err).strip()[-1000:]}


def smx_profile(work, model, mode, batch, budget):
    if budget.left() < 30:
        return {"status": "skipped", "why": "out of time"}
    steps = "3" if mode == "train" else "5"
    code, out, err = run([os.path.join(work, "bin", f"{model}-{mode}"), "profile",
                          "--steps", steps, "--seed", "0"], min(240, budget.left()))
    if code != 0:
        return {"status": "failed", "why": f"exited {code}: {err.strip()[-500:]}"}
    result = {"status": "ok"}
    if match := PROFILE_STEP.search(out):
        median = float(match.group(5))
        result.update(median_ms=median, ms_per_example=median / batch)
    if match := PROFILE_BUFFERS.search(out):
        result.update(peak_memory_bytes=int(float(match.group(1)) * (1 << 20)),
                      memory_kind=match.group(2))
    if match := PROFILE_GEMMS.search(out):
        result.update(gemm_calls_per_step=int(match.group(1)),
                      gemm_ms_per_step=float(match.group(2)),
                      gemm_tflops=float(match.group(3)))
    if "median_ms" not in result:
        result = {"status": "failed", "why": "no timing in: " + out[-500:]}
    return result


def torch_run(model, mode, peer, batch, seq, budget):
    if budget.left() < 45:
        return {"status": "skipped", "why": "out of time"}
    code, out, err = run([sys.executable, os.path.join(HERE, "torch_gpu_peer.py"),
                          "--spec", os.path.join(REPO, "samples", f"{model}.yaml"),
                          "--batch", str(batch), "--seq", str(seq), "--mode", mode,
                          "--peer", peer, "--device", "cuda", "--dtype", "bf16",
                          "--steps", "5" if mode == "train" else "10"],
                         min(300, budget.left()))
    lines = [line for line in out.strip().splitlines() if line.startswith("{")]
    if code == "timeout":
        return {"status": "skipped", "why": "timed out"}
    if not lines:
        return {"status": "failed", "why": f"exited {code}: {err.strip()[-500:]}"}
    report = json.loads(lines[-1])
    report["status"] = "ok" if code == 0 else report.get("error", f"exited {code}")
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True)
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("--budget-s", type=float, default=420)
    parser.add_argument("--out", default=os.path.join(REPO, "bench", "reports"))
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    budget = Budget(args.budget_s)

    results = {"date": datetime.date.today().isoformat(), "batch": args.batch,
               "seq": args.seq, "device": device(), "smx": {}, "torch": {}}
    results["numerics"] = numerics(args.work, args.corpus, budget)
    for mode in ("train", "infer"):
        for model in MODELS:
            results["smx"][f"{model}/{mode}"] = smx_profile(
                args.work, model, mode, args.batch, budget)
    # torch.compile first: the targets compare against it.
    for peer in ("torch_compile", "torch_eager"):
        for mode in ("train", "infer"):
            for model in MODELS:
                key = f"{peer}/{model}/{mode}"
                results["torch"][key] = (
                    {"status": "skipped", "why": "--no-torch"} if args.no_torch
                    else torch_run(model, mode, peer, args.batch, args.seq, budget))

    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, "gpu-check.json")
    with open(json_path, "w") as out:
        json.dump(results, out, indent=1)
    report_path = os.path.join(args.out, f"gpu-{results['date']}.md")
    subprocess.run([sys.executable, os.path.join(HERE, "report.py"), json_path,
                    "--out", report_path], check=True)
    print(f"check.py: wrote {json_path} and {report_path}")
    return 0 if results["numerics"].get("status") == "passed" else 1


if __name__ == "__main__":
    sys.exit(main())
