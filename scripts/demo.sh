#!/usr/bin/env bash
# The main job, as far as smx reaches today: compiles the sample Sparse
# Mixer spec (SM-Base) into a native executable and runs its forward pass on
# random tokens with freshly initialized weights, printing the model and the
# expert load of every MoE layer. (Training comes with the training issue.)
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${SMX_BUILD_DIR:-$source_dir/build}
work_dir=$build_dir/demo
mkdir -p "$work_dir"

spec=$source_dir/samples/sparse_mixer.yaml
model=$work_dir/sparse_mixer
echo "== smxc $spec (batch 2 x 512)"
time "$build_dir/bin/smxc" "$spec" --batch 2 -o "$model"
"$model" info --brief

echo "== forward pass on 4 random sequences, N(0, 0.02) weights"
/usr/bin/python3 "$source_dir/scripts/random_inputs.py" "$work_dir/inputs.safetensors" \
  --rows 4 --seq 512 --vocab 32000
time "$model" eval --input "$work_dir/inputs.safetensors" --seed 1
"$model" predict --input "$work_dir/inputs.safetensors" --seed 1 \
  --output "$work_dir/outputs.safetensors"
