#!/usr/bin/env python3
"""Training throughput of one model on process grids, with and without
gradient buckets.

For each grid dp x ep (default 1x1, 2x1, 1x2, 2x2) and each gradient bucket
size (default 25 MiB, what smxc uses, and 0: one all-reduce per gradient),
compiles the spec with `smxc --grid dp=D,ep=E --grad-bucket-mib B`, trains
it with `mpirun -np D·E` for --steps steps on the same data, and reads the
loop's tokens per second from its last line. Runs alternate sides
(--repeats rounds) so that a noisy machine hurts every side alike, and
report the median. The losses of every side must agree with one process's
(they do, within f32 summation order), or the report says so.

  bench/distributed/run.py [--spec samples/tiny_sm.yaml] [--batch B]
                           [--steps 100] [--grids 1x1,2x1,1x2,2x2]
                           [--buckets 25,0] [--overlap] [--repeats 3]
                           [--report-dir bench/reports]

With --overlap, every grid of several processes also runs with each
bucket's sum started as its gradients are computed and waited for before
the norm (`smxc --overlap-grad-sums`).

Writes bench/reports/distributed-DATE.md. On a machine with fewer cores
than processes (CI's 2), processes share cores (mpirun --oversubscribe):
the figures then measure the cost of communication and of the grid, not
a speed-up.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import benchenv  # noqa: E402

DONE = re.compile(r"done: steps \d+\.\.(\d+) of \d+ in \S+ \(([\d.]+) tokens/s\), "
                  r"last loss ([\d.]+)")


def mpirun_command(processes):
    return [shutil.which("mpirun") or "mpirun", "-np", str(processes)]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default=os.path.join(benchenv.REPO, "test", "Integration",
                                                       "Inputs", "tiny_sm_grid.yaml"))
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--grids", default="1x1,2x1,1x2,2x2")
    parser.add_argument("--buckets", default="25,0")
    parser.add_argument("--overlap", action="store_true")
    parser.add_argument("--batch", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", default=os.path.join(
        benchenv.REPO, "test", "unittests", "application", "data", "small_corpus.txt"))
    parser.add_argument("--smxc", default=os.path.join(benchenv.REPO, "build", "bin", "smxc"))
    parser.add_argument("--report-dir", default=os.path.join(benchenv.REPO, "bench", "reports"))
    args = parser.parse_args()

    environment = benchenv.mpi_environment()
    grids = [tuple(int(x) for x in grid.split("x")) for grid in args.grids.split(",")]
    buckets = [float(b) for b in args.buckets.split(",")]
    work = tempfile.mkdtemp(prefix="smx-distributed-")
    sides = []
    for dp, ep in grids:
        variants = [(b, False) for b in buckets] + \
            ([(b, True) for b in buckets] if args.overlap else [])
        for bucket, overlap in variants if dp * ep > 1 else variants[:1]:
            name = f"dp{dp}_ep{ep}_b{bucket:g}" + ("_overlap" if overlap else "")
            exe = os.path.join(work, name)
            command = [args.smxc, args.spec, "--task=pretrain", "-o", exe]
            if args.batch:
                command.append(f"--batch={args.batch}")
            if dp * ep > 1:
                command += [f"--grid=dp={dp},ep={ep}", f"--grad-bucket-mib={bucket:g}"]
                if overlap:
                    command.append("--overlap-grad-sums")
            benchenv.log("compiling " + name)
            subprocess.run(command, check=True, env=environment)
            sides.append({"name": name, "dp": dp, "ep": ep, "bucket": bucket,
                          "overlap": overlap, "exe": exe, "tokens_per_s": [],
                          "exposed_ms": [], "loss": None})
    start_load = benchenv.loadavg()
    for round_ in range(args.repeats):
        for side in sides:
            processes = side["dp"] * side["ep"]
            command = [side["exe"], "train", "--steps", str(args.steps), "--lr", "1e-3",
                       "--data", args.data]
            if processes > 1:
                command = mpirun_command(processes) + command
            result = subprocess.run(command, capture_output=True, text=True, env=environment)
            match = DONE.search(result.stderr + result.stdout)
            if result.returncode != 0 or not match:
                sys.exit(f"{side['name']} failed:\n{result.stderr[-2000:]}")
            side["tokens_per_s"].append(float(match.group(2)))
            side["loss"] = float(match.group(3))
            exposed = re.findall(r"(?:all-reduce|all-to-all) [\d.]+ calls, [\d.]+ KiB, "
                                 r"([\d.]+) ms", result.stdout)
            side["exposed_ms"].append(sum(float(ms) for ms in exposed))
            benchenv.log(f"round {round_ + 1}: {side['name']}: {match.group(2)} tokens/s")

    reference = sides[0]
    date = datetime.date.today().isoformat()
    machine = benchenv.machine_info()
    lines = [f"# Training on process grids ({date})", "",
             f"Spec `{os.path.relpath(args.spec, benchenv.REPO)}`"
             + (f" at batch {args.batch}" if args.batch else "") + f", {args.steps} steps of "
             f"pre-training per run, median of {args.repeats} alternating rounds "
             f"(`bench/distributed/run.py`). Machine: {machine['cpu']}, {machine['cpus']} "
             f"CPUs, {machine['memory']}; Open MPI over shared memory; load average at start "
             f"{start_load}, at end {benchenv.loadavg()}; git {benchenv.git_revision()}.", "",
             "| grid | processes | gradient sums | tokens/s (median) | vs one process "
             "| communication waited for per step | last loss |",
             "|---|---|---|---|---|---|---|"]
    one = statistics.median(reference["tokens_per_s"])
    for side in sides:
        median = statistics.median(side["tokens_per_s"])
        processes = side["dp"] * side["ep"]
        bucket = "—" if processes == 1 else (
            "one all-reduce per gradient" if side["bucket"] == 0
            else f"buckets of {side['bucket']:g} MiB")
        if side["overlap"]:
            bucket += ", overlapped"
        exposed = "—" if processes == 1 else \
            f"{statistics.median(side['exposed_ms']):.2f} ms"
        agree = "" if abs(side["loss"] - reference["loss"]) <= 1e-5 * abs(reference["loss"]) \
            else " (not one process's: routing groups differ when moe.group_size " \
                 "exceeds one process's tokens)"
        lines.append(f"| dp={side['dp']} x ep={side['ep']} | {processes} | {bucket} | "
                     f"{median:,.0f} | {median / one:.2f}x | {exposed} | "
                     f"{side['loss']:.6f}{agree} |")
    cores = int(machine["cpus"]) if machine["cpus"].isdigit() else 0
    lines += ["", "Every side trains the same global batch; the grid splits it. "
              + (f"With {cores} cores, runs of more than {cores} processes share cores: "
                 "their figures are the cost of the grid's communication on an "
                 "oversubscribed machine, not a speed-up." if cores else ""), ""]
    os.makedirs(args.report_dir, exist_ok=True)
    path = os.path.join(args.report_dir, f"distributed-{date}.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    with open(path.replace(".md", ".json"), "w") as f:
        json.dump({"date": date, "machine": machine, "steps": args.steps,
                   "sides": [{k: v for k, v in side.items() if k != "exe"} for side in sides]},
                  f, indent=1)
    print("\n".join(lines))
    print(f"report: {path}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
