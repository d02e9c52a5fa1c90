#!/usr/bin/env bash
# smx against PyTorch 2 (eager, torch.compile), JAX/XLA, IREE and ONNX Runtime on
# this CPU, in one run: `bench/cpu/run.sh [--quick] [run.py options]`; the
# largest batch that trains in this machine's memory, smx against PyTorch:
# `bench/cpu/run.sh largest-batch [largest_batch.py options]`.
#
# Sets up its own venv with the peers from PyPI (bench/cpu/requirements.txt;
# $SMX_BENCH_VENV, default build/bench-venv; reinstalled only when the
# requirements change), then runs bench/cpu/run.py with it. smx must be built
# first (scripts/build.sh). The report goes to bench/reports/cpu-DATE.{md,png,json}
# (--quick: tiny_sm only, into the scratch directory). See bench/README.md.
#
# `bench/cpu/run.sh --no-venv ...` installs nothing: it runs with Debian's
# python3 (what scripts/setup.sh installs: numpy, PyYAML, PyTorch 1.13) and
# leaves out, naming them in the report, the peers that Python lacks. The test
# suite runs it so, because the peers' venv is 6.5 GB (PyTorch's wheel brings
# CUDA's libraries), more than a CI machine's disk may hold.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${SMX_BENCH_VENV:-$repo/build/bench-venv}"
requirements="$here/requirements.txt"
stamp="$venv/.smx-requirements"

if [[ "${1:-}" == --no-venv ]]; then
  shift
  exec /usr/bin/python3 "$here/run.py" --installed-peers-only "$@"
fi

if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
  echo "bench/cpu/run.sh: setting up the peers' venv in $venv (PyPI)" >&2
  if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv" || {
      echo "bench/cpu/run.sh: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2
      exit 1
    }
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$requirements"
  cp "$requirements" "$stamp"
fi

if [[ "${1:-}" == largest-batch ]]; then
  shift
  exec "$venv/bin/python" "$here/largest_batch.py" "$@"
fi
exec "$venv/bin/python" "$here/run.py" "$@"
