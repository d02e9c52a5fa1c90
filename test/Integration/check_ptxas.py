#!/usr/bin/env python3
"""Checks the resources of compiled GPU kernels, as ptxas reports them.

Runs `ptxas -v` on a PTX file (smxc --target=cuda --emit=ptx) for one
architecture and holds every kernel to the budget the CUDA target was
designed for (docs/gpu.md): no register spills, at most --max-registers
registers per thread (blocks of 256 threads at 64 registers keep 4 blocks,
1024 threads, resident per SM), at most --max-shared bytes of static shared
memory and --max-stack bytes of per-thread stack. Prints one summary line;
exits 1 naming each kernel over budget.
"""

import argparse
import re
import subprocess
import sys

FUNCTION = re.compile(r"Compiling entry function '([^']+)' for '(sm_\d+)'")
USAGE = re.compile(r"Used (\d+) registers")
SHARED = re.compile(r"(\d+) bytes smem")
SPILLS = re.compile(
    r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("ptx")
    parser.add_argument("--ptxas", default="ptxas")
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--max-registers", type=int, default=64)
    parser.add_argument("--max-shared", type=int, default=0)
    parser.add_argument("--max-stack", type=int, default=None,
                        help="bytes of per-thread stack (local memory)")
    args = parser.parse_args()

    result = subprocess.run(
        [args.ptxas, f"-arch={args.arch}", "-v", args.ptx, "-o", "/dev/null"],
        capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"ptxas failed on {args.ptx}:\n{result.stderr}")

    kernels = {}
    current = None
    for line in result.stderr.splitlines():
        if match := FUNCTION.search(line):
            current = kernels.setdefault(match.group(1), {"arch": match.group(2)})
        elif current is None:
            continue
        if match := SPILLS.search(line):
            current["stack"] = int(match.group(1))
            current["spills"] = int(match.group(2)) + int(match.group(3))
        if match := USAGE.search(line):
            current["registers"] = int(match.group(1))
        if match := SHARED.search(line):
            current["shared"] = int(match.group(1))
    if not kernels:
        sys.exit(f"ptxas reported no kernels for {args.ptx}")

    problems = []
    for name, info in sorted(kernels.items()):
        if info.get("arch") != args.arch:
            problems.append(f"{name}: compiled for {info.get('arch')}")
        if info.get("spills", 0):
            problems.append(f"{name}: {info['spills']} bytes of spills")
        if info.get("registers", 0) > args.max_registers:
            problems.append(f"{name}: {info['registers']} registers "
                            f"(budget {args.max_registers})")
        if args.max_stack is not None and info.get("stack", 0) > args.max_stack:
            problems.append(f"{name}: {info['stack']} bytes of stack "
                            f"(budget {args.max_stack})")
        if info.get("shared", 0) > args.max_shared:
            problems.append(f"{name}: {info['shared']} bytes of shared memory "
                            f"(budget {args.max_shared})")
    registers = max(info.get("registers", 0) for info in kernels.values())
    stack = max(info.get("stack", 0) for info in kernels.values())
    shared = max(info.get("shared", 0) for info in kernels.values())
    print(f"{len(kernels)} kernels for {args.arch}: "
          f"{'no spills' if not any(k.get('spills') for k in kernels.values()) else 'SPILLS'}, "
          f"at most {registers} registers (budget {args.max_registers}), "
          f"{shared} bytes of shared memory (budget {args.max_shared}), "
          f"at most {stack} bytes of stack"
          + (f" (budget {args.max_stack})" if args.max_stack is not None else ""))
    if problems:
        print("over budget:\n  " + "\n  ".join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
