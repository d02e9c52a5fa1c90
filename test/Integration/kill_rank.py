"""Kills one process of a running job and times how the job ends.

Starts COMMAND (an mpirun command line), waits until the job has trained a
step (its metrics file has a line), kills the process whose
OMPI_COMM_WORLD_RANK is RANK with SIGKILL, and waits at most --limit
seconds for the whole job to end. Prints how it ended and the job's last
messages; exits 1 if the job outlived the limit (it is then killed).

Usage: kill_rank.py --metrics M.jsonl --rank 1 [--limit 60] -- COMMAND...
"""
import argparse
import os
import signal
import subprocess
import sys
import time


def processes_of_rank(rank):
    """PIDs of this user's processes launched as rank `rank`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                environment = f.read().split(b"\0")
        except OSError:
            continue
        if f"OMPI_COMM_WORLD_RANK={rank}".encode() in environment and \
                b"SMX_KILL_RANK_TEST=1" in environment:
            found.append(int(entry))
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--rank", type=int, default=1)
    parser.add_argument("--limit", type=float, default=60)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    environment = dict(os.environ, SMX_KILL_RANK_TEST="1")
    job = subprocess.Popen(args.command, env=environment,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           text=True, start_new_session=True)
    deadline = time.monotonic() + args.limit
    while time.monotonic() < deadline and job.poll() is None:
        if os.path.exists(args.metrics) and os.path.getsize(args.metrics) > 0:
            break
        time.sleep(0.05)
    if job.poll() is not None:
        sys.exit(f"the job ended before a step: {job.stderr.read()}")
    victims = processes_of_rank(args.rank)
    if not victims:
        os.killpg(job.pid, signal.SIGKILL)
        sys.exit(f"no process of rank {args.rank} found")
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    try:
        _, errors = job.communicate(timeout=args.limit)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)
        sys.exit(f"the job still ran {args.limit:g} s after rank {args.rank} "
                 "was killed")
    seconds = time.monotonic() - killed
    print(f"the job ended {seconds:.1f} s after rank {args.rank} was killed, "
          f"with exit code {job.returncode}")
    print(errors)


if __name__ == "__main__":
    main()
