"""bf16 GEMMs as a CPU speed mode: smxc --precision=bf16 against f32.

  /usr/bin/python3 bench/cpu/precision.py [--spec sm_small] [--tasks pretrain,inference]
                                          [--rounds 2] [--steps 3] [--out bench/reports]

In one run, under one environment:
  1. the GEMM peak at n = 2048 through the runtime's two memref GEMMs,
     smxrt_cpu_sgemm_memref (OpenBLAS SGEMM) and smxrt_cpu_sgemm_bf16_memref
     (operands rounded to bf16, products summed in f32; its engine is named:
     oneDNN's matmul, with the implementation ONEDNN_VERBOSE reports, or
     OpenBLAS on rounded copies);
  2. the model compiled both ways, each task's executable timed by its
     `profile` command, the two alternating for --rounds rounds (median of
     the rounds' medians).
Writes bench/reports/precision-<date>.{md,json}. The numerics of the mode
are test/Integration/precision-bf16.test's (2u = 3.9e-3 against f32).
"""

import argparse
import ctypes
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import benchenv  # noqa: E402

import numpy as np  # noqa: E402

PROFILE = re.compile(r"profile: \d+ (?:train steps|forward passes) of .*: "
                     r"([\d.]+) ms per step, median ([\d.]+) ms")


class FlatMemref(ctypes.Structure):
    """A one-dimensional memref descriptor; the GEMMs read its base only."""
    _fields_ = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                ("offset", ctypes.c_int64), ("size", ctypes.c_int64),
                ("stride", ctypes.c_int64)]


def memref(array):
    pointer = array.ctypes.data
    return FlatMemref(pointer, pointer, 0, array.size, 1)


def gemm_peak(runtime, n):
    """GFLOP/s of both memref GEMMs on n x n x n, best of five after one."""
    lib = ctypes.CDLL(runtime)
    lib.smxrt_cpu_bf16_gemm_engine.restype = ctypes.c_char_p
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    da, db, dc = memref(a), memref(b), memref(c)
    out = {"bf16 engine": lib.smxrt_cpu_bf16_gemm_engine().decode()}
    for name in ("smxrt_cpu_sgemm_memref", "smxrt_cpu_sgemm_bf16_memref"):
        fn = getattr(lib, name)
        args = [1, 1, n, n, n, 0, 0, 0, 1, ctypes.byref(da), 0, n, 0, 0, 1,
                ctypes.byref(db), 0, n, 0, 0, 1, ctypes.byref(dc), 0, n, 0, 0]
        args = [ctypes.c_int64(x) if isinstance(x, int) else x for x in args]
        fn(*args)
        times = []
        for _ in range(5):
            start = time.perf_counter()
            fn(*args)
            times.append(time.perf_counter() - start)
        out[name] = 2.0 * n ** 3 / min(times) / 1e9
    return out


def onednn_kernels(executable, workdir):
    """The oneDNN implementations one step of `executable` runs, by count."""
    env = dict(os.environ, ONEDNN_VERBOSE="1")
    run = subprocess.run([executable, "profile", "--steps", "1"], capture_output=True,
                         text=True, env=env, cwd=workdir)
    counts = {}
    for line in run.stdout.splitlines():
        fields = line.split(",")
        if line.startswith("onednn_verbose,exec") and len(fields) > 4:
            counts[fields[4]] = counts.get(fields[4], 0) + 1
    return counts


def profile(executable, steps, workdir):
    run = subprocess.run([executable, "profile", "--steps", str(steps)],
                         capture_output=True, text=True, cwd=workdir)
    match = PROFILE.search(run.stdout)
    if run.returncode != 0 or not match:
        sys.exit(f"precision.py: {executable} profile failed:\n{run.stderr}")
    return float(match.group(2))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", default="sm_small")
    parser.add_argument("--tasks", default="pretrain,inference")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--smxc", default=os.path.join(benchenv.REPO, "build", "bin", "smxc"))
    parser.add_argument("--out", default=os.path.join(benchenv.REPO, "bench", "reports"))
    args = parser.parse_args()
    runtime = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.smxc))),
                           "lib", "libsmx_runtime.so")
    workdir = tempfile.mkdtemp(prefix="smx-precision-")
    spec = benchenv.spec_path(args.spec)

    report = {"date": datetime.date.today().isoformat(), "revision": benchenv.git_revision(),
              "machine": benchenv.machine_info(), "environment": benchenv.blas_environment(),
              "load_before": benchenv.loadavg(), "spec": args.spec}
    benchenv.log("GEMM peak at n = 2048")
    report["gemm_gflops"] = gemm_peak(runtime, 2048)
    report["tasks"] = {}
    for task in args.tasks.split(","):
        executables = {}
        for precision in ("f32", "bf16"):
            executables[precision] = os.path.join(workdir, f"{task}-{precision}")
            benchenv.log(f"compiling {args.spec} --task={task} --precision={precision}")
            subprocess.run([args.smxc, spec, f"--task={task}", f"--precision={precision}",
                            "-o", executables[precision]], check=True)
        medians = {"f32": [], "bf16": []}
        for round_index in range(args.rounds):
            for precision in ("f32", "bf16"):
                medians[precision].append(profile(executables[precision], args.steps, workdir))
                benchenv.log(f"{task} {precision} round {round_index + 1}: "
                             f"{medians[precision][-1]:.1f} ms")
        entry = {p: statistics.median(v) for p, v in medians.items()}
        entry["rounds"] = medians
        entry["speedup"] = entry["f32"] / entry["bf16"]
        entry["onednn_kernels"] = onednn_kernels(executables["bf16"], workdir)
        report["tasks"][task] = entry
    report["load_after"] = benchenv.loadavg()

    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"precision-{report['date']}")
    with open(stem + ".json", "w") as out:
        json.dump(report, out, indent=1)
    gemm = report["gemm_gflops"]
    machine = report["machine"]
    lines = [f"# bf16 GEMMs on the CPU, {report['date']}", "",
             f"`/usr/bin/python3 bench/cpu/precision.py --spec {args.spec}` at {report['revision']}"
             f" on {machine['cpu']} ({machine['cpus']} CPUs; {machine['simd']}), load "
             f"{report['load_before']} before, {report['load_after']} after; environment "
             f"{report['environment'] or 'none'}.", "",
             "## GEMM peak, n = 2048, through the runtime's memref GEMMs", "",
             "| GEMM | GFLOP/s |", "|---|---|",
             f"| f32: `smxrt_cpu_sgemm_memref` (OpenBLAS) | {gemm['smxrt_cpu_sgemm_memref']:.0f} |",
             f"| bf16 operands: `smxrt_cpu_sgemm_bf16_memref` ({gemm['bf16 engine']}; "
             f"rounding included) | {gemm['smxrt_cpu_sgemm_bf16_memref']:.0f} |", "",
             f"## {args.spec}, ms per step (median of {args.rounds} alternating rounds of "
             f"`profile --steps {args.steps}`)", "",
             "| task | f32 | bf16 | speed-up | oneDNN kernels in one bf16 step |",
             "|---|---|---|---|---|"]
    for task, entry in report["tasks"].items():
        kernels = ", ".join(f"{k} x{v}" for k, v in sorted(entry["onednn_kernels"].items()))
        lines.append(f"| {task} | {entry['f32']:.1f} | {entry['bf16']:.1f} | "
                     f"{entry['speedup']:.2f}x | {kernels or 'none'} |")
    lines.append("")
    with open(stem + ".md", "w") as out:
        out.write("\n".join(lines))
    print(f"precision.py: wrote {stem}.md")


if __name__ == "__main__":
    main()
