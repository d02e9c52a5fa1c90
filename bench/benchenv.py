"""What bench/'s runners share: what they report about the machine and the
run (CPU, memory, BLAS environment, the BLAS smx links, git revision, load
average, the CPU time other processes take) and the GEMM FLOP count of a
model.

The peers' models are not here: bench/cpu runs the PyTorch reference of
test/reference (smx_torch.py, which that directory's tests check) and its own
JAX port; bench/ imports from test/reference, never the other way round."""

import os
import platform
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(REPO, "test", "reference")
BLAS_ENV = re.compile(r"^(OPENBLAS_|GOTO|OMP_|MKL_|KMP_|BLIS_|GOMP_|LD_PRELOAD$|"
                      r"LD_LIBRARY_PATH$|MALLOC_)")


def log(message):
    print(message, file=sys.stderr, flush=True)


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    except OSError:
        return ""


def smx_blas_library(runtime=None):
    """The BLAS that libsmx_runtime.so (default: build/lib's) links."""
    runtime = runtime or os.path.join(REPO, "build", "lib", "libsmx_runtime.so")
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


def mpi_environment():
    """This environment, letting Open MPI's mpirun start processes as root
    and more of them than cores (2-core machines)."""
    return dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1",
                OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                OMPI_MCA_rmaps_base_oversubscribe="1")


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
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16")
            if f in flags]
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


def write_noise_free_spec(name, out, tool):
    """The spec `name` (a sample name or a path) with its training noise off
    (dropout, expert dropout, router jitter), written to `out` with a comment
    naming `tool`: the peers have no noise, and first-step losses are
    compared. Returns the source spec's path."""
    import yaml
    path = spec_path(name)
    with open(path) as f:
        doc = yaml.safe_load(f)
    doc["dropout"] = {"hidden": 0.0, "attention": 0.0}
    if doc.get("moe"):
        doc["moe"]["expert_dropout"] = 0.0
        if isinstance(doc["moe"].get("router"), dict):
            doc["moe"]["router"]["jitter"] = 0.0
    with open(out, "w") as f:
        f.write(f"# {os.path.relpath(path, REPO)} for {tool} (training noise off)\n")
        yaml.safe_dump(doc, f, sort_keys=False)
    return path
