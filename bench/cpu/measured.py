"""A measured process of bench/cpu: wall time, peak RSS (wait4's ru_maxrss),
CPU time and output, pinned to the run's CPUs with the run's thread count."""

import json
import os
import subprocess
import time

from benchenv import REPO, log

GIB = 2 ** 30


class MeasuredProcess:
    """Runs `cmd` to its end (killed after `timeout` seconds) on the first
    `threads` CPUs this run may use, with OMP_NUM_THREADS and
    OPENBLAS_NUM_THREADS = threads; stdout and stderr go to files in
    `workdir`. `ok`, `wall`, `peak_rss` (bytes), `cpu`, `stdout`, `stderr`."""

    def __init__(self, cmd, what, workdir, threads, timeout, extra_env=None):
        self.what = what
        log("$ " + " ".join(os.path.relpath(c, REPO) if c.startswith(REPO) else c
                            for c in cmd))
        out_path = os.path.join(workdir, "stdout.txt")
        err_path = os.path.join(workdir, "stderr.txt")
        env = dict(os.environ, OMP_NUM_THREADS=str(threads),
                   OPENBLAS_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1",
                   **(extra_env or {}))
        cpus = sorted(os.sched_getaffinity(0))[:threads]
        start = time.perf_counter()
        with open(out_path, "w") as out, open(err_path, "w") as err:
            process = subprocess.Popen(cmd, stdout=out, stderr=err, env=env,
                                       preexec_fn=lambda: os.sched_setaffinity(0, cpus))
            deadline = start + timeout
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    process.kill()
                    pid, status, usage = os.wait4(process.pid, 0)
                    break
                time.sleep(0.05)
        self.returncode = os.waitstatus_to_exitcode(status)
        self.wall = time.perf_counter() - start
        self.peak_rss = usage.ru_maxrss * 1024
        self.cpu = usage.ru_utime + usage.ru_stime
        with open(out_path) as f:
            self.stdout = f.read()
        with open(err_path) as f:
            self.stderr = f.read()
        self.ok = self.returncode == 0
        if not self.ok:
            tail = "\n".join(self.stderr.strip().splitlines()[-15:])
            log(f"{what}: FAILED (exit {self.returncode}, {self.wall:.0f} s):\n{tail}")
        else:
            log(f"{what}: {self.wall:.1f} s, peak RSS {self.peak_rss / GIB:.2f} GiB")

    def json(self):
        """The last stdout line, as the peer protocol has it."""
        lines = self.stdout.strip().splitlines()
        return json.loads(lines[-1]) if lines else {}
