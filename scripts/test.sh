#!/usr/bin/env bash
# Runs every test: lit (check-smx) and the runtime's gtest suites, all under
# ctest, so the last lines are ctest's summary.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${SMX_BUILD_DIR:-$source_dir/build}
ctest --test-dir "$build_dir" --output-on-failure -j "${SMX_JOBS:-$(nproc)}"
