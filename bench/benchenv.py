"""What the CPU benchmarks (bench/cpu_infer, bench/cpu_train) report about
the machine and the run: the OpenBLAS that is loaded, the git revision, the
load average, plus small helpers they share. Imported by both runners."""

import ctypes
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
