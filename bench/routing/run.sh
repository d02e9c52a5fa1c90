#!/usr/bin/env bash
# Capped experts-choose, greedy against the paper's program:
# `bench/routing/run.sh [--quick] [capped_lp.py options]` (see capped_lp.py).
# Runs with $SMX_BENCH_PYTHON, else Debian's python3 when it has SciPy
# (scripts/setup-bench.sh), else the peers' venv when it exists
# (bench/cpu/run.sh), else Debian's python3 without the exact optimum.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${SMX_BENCH_PYTHON:-}"
if [[ -z "$python" ]]; then
  python=/usr/bin/python3
  if ! "$python" -c 'import scipy' 2>/dev/null &&
      [[ -x "$repo/build/bench-venv/bin/python" ]]; then
    python="$repo/build/bench-venv/bin/python"
  fi
fi
exec "$python" "$here/capped_lp.py" "$@"
