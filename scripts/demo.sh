#!/usr/bin/env bash
# The main job, as far as the compiler reaches today: verifies and
# round-trips the sample Sparse Mixer block with smx-opt, then runs the
# evaluation-mode pass pipeline on it.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${SMX_BUILD_DIR:-$source_dir/build}
sample=$source_dir/samples/ir/sparse_mixer_block.mlir

echo "== smx-opt: $sample (parsed, verified, printed)"
"$build_dir/bin/smx-opt" "$sample"
echo "== smx-opt: evaluation form (training noise stripped, eval capacity factor 2.0)"
"$build_dir/bin/smx-opt" "$sample" \
  --smx-strip-training-noise --moe-set-capacity-factor=capacity-factor=2.0 \
  --mix-materialize-structured-weights --canonicalize
