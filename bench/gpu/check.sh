#!/usr/bin/env bash
# The GPU checks of the CUDA target (docs/gpu.md), as one script in two
# halves: the GPU machines this project is lent have the driver, the CUDA
# toolkit and PyTorch but neither LLVM 22 nor smx's other build
# dependencies, and no network. So the executables are compiled where smx
# is built and travel, with the shared libraries they load, as one bundle.
#
#   bench/gpu/check.sh prepare [BUNDLE]
#       Where smx is built (build/bin/smxc, the CUDA toolkit): compiles
#       tiny_sm for the GPU and, as its reference, for the CPU with
#       --precision=bf16 (the GPU path's rounding points), trains the CPU
#       one 30 steps; compiles bert_base, sparse_mixer and
#       fast_sparse_mixer at batch 64 x seq 512 for the GPU, a training and
#       an inference executable each (--static-runtime); packs them, the
#       reference's metrics and tokenizer, and every shared library they
#       load beyond the C/C++ runtime into BUNDLE (default
#       build/gpu-bundle.tar.xz). A few minutes on 2 cores.
#
#   bench/gpu/check.sh run [BUNDLE] [--budget-s S] [--out DIR] [--no-torch]
#       On the GPU machine, from the repository root, in under 8 minutes
#       (S, default 420 s, bounds the timed part; what does not fit is
#       reported as skipped): the device; tiny_sm trained 30 steps on the
#       GPU against the CPU reference within 2u = 3.9e-3 (the tolerance of
#       test/Integration/precision-bf16.test); each model's train step and
#       forward pass timed by the executable's `profile` (ms per example,
#       runtime buffer peak, cuBLASLt TFLOP/s); the same models in PyTorch,
#       eager and torch.compile, bf16 autocast (bench/gpu/torch_gpu_peer.py).
#       Writes DIR/gpu-check.json and DIR/gpu-<date>.md (default
#       bench/reports), the report bench/gpu/report.py makes.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODELS=(bert_base sparse_mixer fast_sparse_mixer)
BATCH=64
SEQ=512
CORPUS="$REPO/test/unittests/application/data/small_corpus.txt"
TINY_SPEC="$REPO/test/Integration/Inputs/tiny_sm_grid.yaml"

die() {
  echo "check.sh: $*" >&2
  exit 1
}

prepare() {
  local bundle="${1:-$REPO/build/gpu-bundle.tar.xz}"
  local smxc="$REPO/build/bin/smxc"
  [[ -x "$smxc" ]] || die "no $smxc: build smx first (scripts/build.sh)"
  local stage
  stage="$(mktemp -d)"
  trap 'rm -rf "$stage"' RETURN
  mkdir -p "$stage/bin" "$stage/lib" "$stage/reference"

  echo "== tiny_sm: GPU executable and its CPU bf16 reference"
  "$smxc" "$TINY_SPEC" --task=pretrain --target=cuda --static-runtime \
    -o "$stage/bin/tiny_sm-train"
  "$smxc" "$TINY_SPEC" --task=pretrain --precision=bf16 \
    -o "$stage/tiny_sm-cpu"
  "$stage/tiny_sm-cpu" train --steps 30 --lr 1e-3 --data "$CORPUS" \
    --ckpt "$stage/cpu.ckpt" >/dev/null
  cp "$stage/cpu.ckpt/metrics.jsonl" "$stage/reference/metrics.jsonl"
  cp "$stage/cpu.ckpt/tokenizer.model" "$stage/reference/tokenizer.model"

  for model in "${MODELS[@]}"; do
    echo "== $model at $BATCH x $SEQ: training and inference executables"
    "$smxc" "$REPO/samples/$model.yaml" --task=pretrain --target=cuda \
      --batch "$BATCH" --seq "$SEQ" --static-runtime \
      -o "$stage/bin/$model-train"
    "$smxc" "$REPO/samples/$model.yaml" --task=inference --target=cuda \
      --batch "$BATCH" --seq "$SEQ" --static-runtime \
      -o "$stage/bin/$model-infer"
  done

  echo "== the shared libraries they load"
  # Everything but the C and C++ runtimes, which the GPU machine has (and
  # must keep its own of: they go with its kernel and loader).
  local base='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libstdc\+\+\.|libgcc_s\.)'
  for executable in "$stage"/bin/*; do
    ldd "$executable" | awk '$3 ~ /^\// {print $1, $3}'
  done | sort -u | while read -r name path; do
    [[ "$name" =~ $base ]] || cp -L "$path" "$stage/lib/$name"
  done
  ls "$stage/lib"

  mkdir -p "$(dirname "$bundle")"
  tar -C "$stage" -cJf "$bundle" bin lib reference
  echo "bundle: $bundle ($(du -h "$bundle" | cut -f1))"
}

run() {
  local bundle="$REPO/build/gpu-bundle.tar.xz"
  if [[ $# -gt 0 && "$1" != --* ]]; then
    bundle="$1"
    shift
  fi
  [[ -f "$bundle" ]] || die "no bundle $bundle: run 'check.sh prepare' where smx is built"
  local work
  work="$(mktemp -d)"
  tar -C "$work" -xJf "$bundle"
  # cuBLASLt: the toolkit's, else the one PyTorch's wheels carry.
  local cublas
  cublas="$(find /usr/local/cuda*/lib64 /usr/lib/x86_64-linux-gnu \
    /opt /usr/local/lib -name 'libcublasLt.so.13*' 2>/dev/null | head -1 || true)"
  export LD_LIBRARY_PATH="$work/lib${cublas:+:$(dirname "$cublas")}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  PYTHONUNBUFFERED=1 python3 "$REPO/bench/gpu/check.py" --work "$work" \
    --corpus "$CORPUS" --batch "$BATCH" --seq "$SEQ" "$@"
}

case "${1:-}" in
  prepare) shift; prepare "$@" ;;
  run) shift; run "$@" ;;
  *) die "usage: check.sh prepare [BUNDLE] | run [BUNDLE] [--budget-s S] [--out DIR] [--no-torch]" ;;
esac
