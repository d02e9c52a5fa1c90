"""What the CPU benchmarks' runners (bench/cpu_infer/run.py,
bench/cpu_train/run.py) share: their common options, the thread setup, what
they report about the machine and the run (CPU, memory, the OpenBLAS that is
loaded, BLAS environment, SGEMM GFLOP/s, git revision, load average, the CPU
time other processes take), the scratch directory and the report file
(`Run`), and the GEMM FLOP count of a model.

The PyTorch models themselves are not here: both benchmarks run the PyTorch
reference in test/reference (smx_torch.py, through torch_train_step.py for
training), which that directory's tests check; bench/ imports from
test/reference, never the other way round.

This module imports NumPy and torch only inside the functions that use them:
the runners import it first and call `set_threads` before OpenBLAS loads."""

import ctypes
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(REPO, "test", "reference")
BLAS_ENV = re.compile(r"^(OPENBLAS_|GOTO|OMP_|MKL_|KMP_|BLIS_|GOMP_|LD_PRELOAD$|"
                      r"LD_LIBRARY_PATH$|MALLOC_)")


def add_common_arguments(parser):
    """The options both runners take: the SGEMM reference size, the smxc to
    use, the scratch directory and where the report goes."""
    parser.add_argument("--gemm-size", type=int, default=2048)
    parser.add_argument("--smxc", default=os.path.join(REPO, "build", "bin", "smxc"))
    parser.add_argument("--smxc-arg", action="append", default=[],
                        help="extra smxc option, e.g. --smxc-arg=--cpu=native (repeatable)")
    parser.add_argument("--workdir", default=None,
                        help="scratch directory (default: a fresh one in /dev/shm, else /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--report-dir", default=os.path.join(REPO, "bench", "reports"))
    parser.add_argument("--no-report", action="store_true", help="print the report only")


def set_threads(threads):
    """One thread count for OpenBLAS and OpenMP, set before NumPy / torch load
    OpenBLAS (call it before importing them), and test/reference on sys.path."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[var] = str(threads)
    sys.path.insert(0, REFERENCE)


def log(message):
    print(message, file=sys.stderr, flush=True)


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""


def openblas_info():
    """Core type, config and threads of the OpenBLAS this process (and torch) loaded."""
    info = {"corename": "?", "config": "?", "threads": "?", "library": "?"}
    try:
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        info["corename"] = lib.openblas_get_corename().decode()
        info["config"] = lib.openblas_get_config().decode().strip()
        info["threads"] = str(lib.openblas_get_num_threads())
    except OSError as error:
        info["corename"] = f"unavailable ({error})"
    with open("/proc/self/maps") as maps:
        libs = sorted({line.split()[-1] for line in maps
                       if "openblas" in line and line.split()[-1].startswith("/")})
    info["library"] = ", ".join(os.path.realpath(path) for path in libs) or "?"
    return info


def smx_blas_library():
    runtime = os.path.join(REPO, "build", "lib", "libsmx_runtime.so")
    for line in sh(["ldd", runtime]).splitlines():
        if "blas" in line and "=>" in line:
            return os.path.realpath(line.split("=>")[1].split()[0])
    return "?"


def git_revision():
    rev = sh(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]).strip() or "?"
    dirty = sh(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"]).strip()
    return rev + ("-dirty" if dirty else "")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def spec_path(name):
    if os.path.exists(name):
        return os.path.abspath(name)
    return os.path.join(REPO, "samples", name + ".yaml")


def blas_environment():
    """The BLAS/OpenMP/malloc-related environment variables, sorted (name, value)."""
    return sorted((k, v) for k, v in os.environ.items() if BLAS_ENV.match(k))


def machine_info():
    lscpu = {}
    for line in sh(["lscpu"]).splitlines():
        key, _, value = line.partition(":")
        lscpu[key.strip()] = value.strip()
    flags = set(lscpu.get("Flags", "").split())
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni") if f in flags]
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 2 ** 20:.0f} GiB"
    except OSError:
        pass
    return {
        "cpu": lscpu.get("Model name", platform.processor()),
        "cpus": lscpu.get("CPU(s)", str(os.cpu_count())),
        "threads_per_core": lscpu.get("Thread(s) per core", "?"),
        "l2": lscpu.get("L2 cache", "?"), "l3": lscpu.get("L3 cache", "?"),
        "simd": " ".join(simd), "memory": mem,
        "kernel": platform.release(),
    }


def sgemm_gflops(n, libraries=("numpy", "torch"), repeats=5):
    """{library: (best, median)} SGEMM GFLOP/s at n³ through NumPy and/or torch (the
    OpenBLAS both sides use)."""
    import numpy as np
    import torch
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    products = {"numpy": lambda: a @ b, "torch": lambda: torch.mm(ta, tb)}
    results = {}
    for name in libraries:
        fn = products[name]
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        flops = 2.0 * n ** 3
        results[name] = (flops / min(times) / 1e9, flops / statistics.median(times) / 1e9)
    return results


def cpu_seconds():
    """(busy CPU-seconds of the whole machine, CPU-seconds of this process and its
    waited-for children): their difference over an interval is what other
    processes took."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    busy = sum(fields[:3]) + sum(fields[5:8])      # user nice system, irq softirq steal
    t = os.times()
    own = t.user + t.system + t.children_user + t.children_system
    return busy / os.sysconf("SC_CLK_TCK"), own


def _process_ticks():
    ticks = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                text = f.read()
        except OSError:
            continue
        comm = text[text.find("(") + 1:text.rfind(")")]
        fields = text[text.rfind(")") + 2:].split()
        ticks[pid] = (comm, int(fields[11]) + int(fields[12]))     # utime + stime
    return ticks


def top_processes(interval=1.0, limit=4):
    """The other processes busiest over the next `interval` seconds (from /proc), to
    name competing work (a compiler, ninja, ...)."""
    before = _process_ticks()
    time.sleep(interval)
    after = _process_ticks()
    hz = os.sysconf("SC_CLK_TCK")
    rows = []
    for pid, (comm, t) in after.items():
        if pid in before and before[pid][0] == comm:
            pct = 100.0 * (t - before[pid][1]) / hz / interval
            if pct >= 5.0:
                rows.append((pct, comm))
    rows.sort(reverse=True)
    return ", ".join(f"{comm} {pct:.0f}%" for pct, comm in rows[:limit]) or "none above 5%"


def gemm_flops(spec, batch, seq, capacity_factor, mlm_rows):
    """Multiply-add FLOPs (2 per MAC) of the GEMMs of one forward call on [batch, seq]:
    embedding projection, mixing (linear, circulant, toeplitz: the sequence and hidden
    products; Fourier/Hartley none), attention (four projections, two products),
    experts at their capacity for `capacity_factor`, router, dense FFNs, the MLM head
    on `mlm_rows` rows (dense + tied vocabulary projection), pooler. Not
    softmax/LN/routing."""
    import smx_routing
    b, s, e, d, f = batch, seq, spec.d_emb, spec.d_model, spec.d_ff
    t = b * s
    total = 2 * t * e * d                                           # projection
    for i in range(spec.num_layers):
        kind = spec.mixing[i]
        if kind in ("linear", "circulant", "toeplitz"):
            total += 2 * b * s * s * d + 2 * t * d * d
        elif kind == "attention":
            total += 4 * 2 * t * d * d + 2 * 2 * b * s * s * d
        if spec.moe_layers[i]:
            g = smx_routing.num_groups(t, spec.group_size)
            cap = smx_routing.capacity(t, g, spec.num_experts, capacity_factor)
            slots = g * spec.num_experts * cap
            total += 2 * t * d * spec.num_experts + 2 * 2 * slots * d * f
        else:
            total += 2 * 2 * t * d * f
    total += 2 * mlm_rows * d * e + 2 * mlm_rows * e * spec.vocab_size
    if spec.needs_pooler:
        total += 2 * b * d * d
    return total


class Run:
    """One benchmark run, as a context manager: checks that smxc exists, makes the
    scratch directory (`--workdir`, else a fresh one in /dev/shm, else /tmp; removed
    at the end unless `--keep` or `--workdir`), and gathers in `ctx` what the report
    says about the machine and the environment. `sgemm(key)` measures the SGEMM
    reference into ctx[key]; `finish()` records the wall time, the CPU time other
    processes took, the load average (and the busiest processes) at the end;
    `write_report(text)` prints the report and writes bench/reports/KIND-DATE.md
    unless `--no-report`."""

    def __init__(self, args, kind, gemm_libraries=("numpy", "torch"), busiest=False):
        if not os.path.exists(args.smxc):
            sys.exit(f"run.py: {args.smxc} not found; build smx first (scripts/build.sh)")
        self.args, self.kind = args, kind
        self.gemm_libraries, self.busiest = gemm_libraries, busiest
        if args.workdir:
            self.workdir = os.path.abspath(args.workdir)
            os.makedirs(self.workdir, exist_ok=True)
        else:
            base = "/dev/shm" if os.path.isdir("/dev/shm") else None
            self.workdir = tempfile.mkdtemp(prefix=f"smx-{kind}-", dir=base)
        self.ctx = {
            "date": datetime.date.today().isoformat(),
            "machine": machine_info(),
            "load_start": loadavg(),
            "env": blas_environment(),
            "openblas": openblas_info(),
            "smx_blas": smx_blas_library(),
            "smx_rev": git_revision(),
            "smxc_version": " ".join(sh([args.smxc, "--version"]).split()[:5]),
            "workdir_kind": ("/dev/shm (tmpfs: no disk I/O in the timings)"
                             if self.workdir.startswith("/dev/shm") else self.workdir),
        }
        if busiest:
            self.ctx["top_start"] = top_processes()
        self._wall0, self._cpu0 = time.perf_counter(), cpu_seconds()
        log(f"OpenBLAS core {self.ctx['openblas']['corename']}, threads "
            f"{self.ctx['openblas']['threads']}; load {self.ctx['load_start']}; "
            f"scratch {self.workdir}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if not self.args.keep and not self.args.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return False

    def sgemm(self, key):
        self.ctx[key] = sgemm_gflops(self.args.gemm_size, self.gemm_libraries)
        log(f"SGEMM ({key}): " + ", ".join(f"{k} {v[0]:.0f} GFLOP/s"
                                           for k, v in self.ctx[key].items()))

    def finish(self):
        (busy0, own0), (busy1, own1) = self._cpu0, cpu_seconds()
        self.ctx["wall_s"] = time.perf_counter() - self._wall0
        self.ctx["other_cpu_s"] = max(0.0, (busy1 - busy0) - (own1 - own0))
        self.ctx["load_end"] = loadavg()
        if self.busiest:
            self.ctx["top_end"] = top_processes()

    def write_report(self, text):
        print(text)
        if not self.args.no_report:
            os.makedirs(self.args.report_dir, exist_ok=True)
            path = os.path.join(self.args.report_dir, f"{self.kind}-{self.ctx['date']}.md")
            with open(path, "w") as f:
                f.write(text + "\n")
            log(f"wrote {os.path.relpath(path, REPO)}")
