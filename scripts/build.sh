#!/usr/bin/env bash
# Configures and builds smx into build/ (or $SMX_BUILD_DIR) with ccache.
# Usage: scripts/build.sh [extra cmake args...]
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${SMX_BUILD_DIR:-$source_dir/build}
jobs=${SMX_JOBS:-$(nproc)}

# One ccache for every checkout and build directory of this machine.
export CCACHE_BASEDIR=$source_dir
export CCACHE_NOHASHDIR=1

cmake -S "$source_dir" -B "$build_dir" -G Ninja "$@"
ninja -C "$build_dir" -j "$jobs"
