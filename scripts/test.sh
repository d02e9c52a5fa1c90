#!/usr/bin/env bash
# Runs every test. First the runtime's unit tests once more, built on their
# own (the runtime needs no MLIR) with AddressSanitizer and
# UndefinedBehaviorSanitizer; then everything under ctest (lit, the runtime's
# and the application's gtest suites and drivers, the fuzz corpus replays),
# so the last lines are ctest's summary.
#
# Environment: SMX_BUILD_DIR (default build/), SMX_SANITIZER_BUILD_DIR
# (default build-sanitizers/), SMX_JOBS, SMX_SKIP_SANITIZERS=1 to skip the
# first part.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${SMX_BUILD_DIR:-$source_dir/build}
sanitizer_dir=${SMX_SANITIZER_BUILD_DIR:-$source_dir/build-sanitizers}
jobs=${SMX_JOBS:-$(nproc)}

if [ "${SMX_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== the runtime's unit tests under AddressSanitizer and UBSan"
  export CCACHE_BASEDIR=$source_dir
  export CCACHE_NOHASHDIR=1
  flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  cmake -S "$source_dir/runtime" -B "$sanitizer_dir" -G Ninja \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="$flags" \
    -DCMAKE_CXX_FLAGS="$flags" >/dev/null
  ninja -C "$sanitizer_dir" -j "$jobs" >/dev/null
  log=$sanitizer_dir/ctest.log
  # Allocation failures are statuses the tests expect, not aborts.
  if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
      UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir "$sanitizer_dir" --output-on-failure -j "$jobs" \
      >"$log" 2>&1; then
    cat "$log"
    echo "scripts/test.sh: the runtime's unit tests failed under the sanitizers"
    exit 1
  fi
  tail -n 3 "$log"
fi

ctest --test-dir "$build_dir" --output-on-failure -j "$jobs"
