#!/usr/bin/env bash
# The main job: compiles a small Sparse Mixer (samples/small_sm_fortunes.yaml)
# into a pre-training and a fine-tuning executable, pre-trains it on the
# default corpus (Debian's fortunes, read in place; a SentencePiece tokenizer
# is trained from it first), fine-tunes it on the fortunes categories
# (predict a quote's file from its text) and reports held-out accuracy
# against the majority-class baseline; in between, it shows what the
# experts took (`analyze --routing` on the held-out fortunes, its decisions
# in build/demo/routing.jsonl). A few minutes on 2 cores.
#
# Environment: SMX_BUILD_DIR (default build/), SMX_DEMO_STEPS (pre-training
# steps, default 1500), SMX_DEMO_EPOCHS (fine-tuning epochs, default 1).
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${SMX_BUILD_DIR:-$source_dir/build}
work_dir=$build_dir/demo
steps=${SMX_DEMO_STEPS:-1500}
epochs=${SMX_DEMO_EPOCHS:-1}
rm -rf "$work_dir"
mkdir -p "$work_dir"

spec=$source_dir/samples/small_sm_fortunes.yaml
smxc=$build_dir/bin/smxc
echo "== smxc: pre-training and fine-tuning executables of $spec"
"$smxc" "$spec" --task=pretrain -o "$work_dir/pretrain"
"$smxc" "$spec" --task=finetune -o "$work_dir/finetune"
"$work_dir/pretrain" info --brief

echo "== pre-training on the fortunes corpus ($steps steps: masked LM + sentence order)"
"$work_dir/pretrain" train --steps "$steps" --lr 1e-3 --log-every 100 \
  --ckpt "$work_dir/pretrain.ckpt"

echo "== the loss curve (mean per tenth of the run)"
/usr/bin/python3 "$source_dir/scripts/loss_curve.py" \
  "$work_dir/pretrain.ckpt/metrics.jsonl"

if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  /usr/bin/python3 "$source_dir/bench/plot/plot_metrics.py" \
    "$work_dir/pretrain.ckpt/metrics.jsonl" -o "$work_dir/pretrain.png"
fi

echo "== what the experts took: routing of the held-out fortunes (analyze --routing)"
"$work_dir/pretrain" analyze --routing --weights "$work_dir/pretrain.ckpt" \
  --top 6 --export "$work_dir/routing.jsonl"
if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  /usr/bin/python3 "$source_dir/bench/plot/plot_expert_load.py" \
    "$work_dir/pretrain.ckpt/metrics.jsonl" -o "$work_dir/expert-load.png"
fi

echo "== fine-tuning on the fortunes categories ($epochs epoch(s))"
"$work_dir/finetune" finetune --init "$work_dir/pretrain.ckpt" \
  --epochs "$epochs" --lr 1e-3 --log-every 200 --ckpt "$work_dir/finetune.ckpt"
