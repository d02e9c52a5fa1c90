#!/usr/bin/env bash
# Fuzzes the readers of untrusted input (the spec parser, the safetensors
# reader, the manifest/JSON reader, the corpus/TSV readers) with libFuzzer
# under AddressSanitizer and UndefinedBehaviorSanitizer.
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#   SECONDS  how long each target runs (default 600)
#   TARGET   spec, safetensors, manifest, tsv_task (default: all)
#
# Builds the targets with clang-22 into build-fuzz/ (or $SMX_FUZZ_BUILD_DIR),
# starts each from test/fuzz/corpus/<target>, and leaves its corpus, log and
# any crashing inputs in build-fuzz/fuzz-work/<target>/. Inputs that crash
# are what to fix: add each to test/fuzz/corpus/<target> with the fix, and
# the test suite replays it from then on (fuzz.replay.<target>). Set
# SMX_FUZZ_JOBS to run that many targets at once (default 1).
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${SMX_FUZZ_BUILD_DIR:-$source_dir/build-fuzz}
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(spec safetensors manifest tsv_task)
fi
jobs=${SMX_FUZZ_JOBS:-1}

export CCACHE_BASEDIR=$source_dir
export CCACHE_NOHASHDIR=1
sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cmake -S "$source_dir" -B "$build_dir" -G Ninja \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSMX_FUZZ=ON \
  -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link $sanitizers" \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link $sanitizers" \
  -DCMAKE_EXE_LINKER_FLAGS="$sanitizers" >/dev/null
ninja -C "$build_dir" -j "${SMX_JOBS:-$(nproc)}" \
  $(printf 'smx-fuzz-%s ' "${targets[@]}")

run_target() {
  local target=$1
  local work=$build_dir/fuzz-work/$target
  mkdir -p "$work/corpus" "$work/crashes"
  cp -n "$source_dir/test/fuzz/corpus/$target"/* "$work/corpus/" 2>/dev/null || true
  echo "== $target: fuzzing for ${seconds}s (log: $work/log)"
  local status=0
  "$build_dir/bin/fuzz/smx-fuzz-$target" "$work/corpus" \
    -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
    -artifact_prefix="$work/crashes/" -print_final_stats=1 \
    >"$work/log" 2>&1 || status=$?
  local crashes
  crashes=$(find "$work/crashes" -type f | wc -l)
  local runs
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/log" |
         grep -o '[0-9]*$' || echo "?")
  echo "== $target: $runs inputs run, $(ls "$work/corpus" | wc -l) in the" \
       "corpus, $crashes crashing (exit $status)"
  return 0
}

pids=()
for target in "${targets[@]}"; do
  run_target "$target" &
  pids+=($!)
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
done
wait "${pids[@]}"
crashes=$(find "$build_dir/fuzz-work" -path '*/crashes/*' -type f | wc -l)
echo "fuzzing done: $crashes crashing inputs under $build_dir/fuzz-work"
[ "$crashes" -eq 0 ]
