#!/usr/bin/env bash
# The papers' quality comparisons at CPU scale (bench/quality/run.py says
# what runs): `bench/quality/run.sh [--quick] [run.py options]`. smx must be
# built first (scripts/build.sh); the plots need matplotlib
# (scripts/setup-bench.sh). Runs with Debian's python3 (PyYAML).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec /usr/bin/python3 "$here/run.py" "$@"
