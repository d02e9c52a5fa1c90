#!/usr/bin/env python3
"""A roofline estimate of BERT-Base, Sparse Mixer and Fast Sparse Mixer on an
H100, from the kernels smx compiles.

Each model is compiled by smxc as the CPU executable would be (`--task=
pretrain --profile --emit=mlir`): the manifest's profile sites are its
kernels, each with the model path it computes, its kind (GEMM, elementwise,
reduction, route, copy), the bytes of the buffers it touches, its FLOPs
(GEMMs) and its entry point (`forward`: inference, `train_step`: a training
step). The estimate of a kernel is max(FLOPs / peak, bytes / bandwidth):

  GEMMs: 989 TFLOP/s dense bf16 (tensor cores), operands read as bf16
         (half the f32 bytes the CPU kernel touches);
  other kernels: 67 TFLOP/s f32 is never the bound; bytes in f32;
  bandwidth: 3.35 TB/s HBM3;

summed over the kernels of an entry point, and divided by the batch: ms per
example. It is a bound, not a measurement: no launch overheads, no kernel
below its roofline, the CPU path's fusion (which the GPU path shares). The
paper's figures are V100 measurements (Lee-Thorp & Ainslie 2022, Table 8).

  /usr/bin/python3 bench/gpu/roofline.py [--batch 64] [--seq 512] [-o docs-table.md]
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import benchenv  # noqa: E402

PEAK_BF16 = 989e12
BANDWIDTH = 3.35e12
PAPER = {  # V100, Table 8: GFLOPs/example, inference and training ms/example
    "bert_base": (102, 1.34, 4.75),
    "sparse_mixer": (73, 0.84, 2.87),
    "fast_sparse_mixer": (60, 0.68, 2.51),
}
NAMES = {"bert_base": "BERT-Base", "sparse_mixer": "SM", "fast_sparse_mixer": "FSM"}
GLOBAL = re.compile(r'"(\{\\22abi_version(?:[^"\\]|\\[0-9A-Fa-f]{2}|\\\\|\\")*)"')


def manifest_of(spec, batch, seq):
    """The manifest smxc writes for `spec`, read from its MLIR output."""
    command = [os.path.join(benchenv.REPO, "build", "bin", "smxc"), spec,
               "--task=pretrain", "--profile", f"--batch={batch}", f"--seq={seq}",
               "--emit=mlir", "-o", "-"]
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = GLOBAL.search(text)
    if not match:
        sys.exit(f"no manifest in smxc's output for {spec}")
    raw = re.sub(r"\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), match.group(1))
    return json.loads(raw.rstrip("\0"))


def estimate(sites, entry):
    seconds, flops, gemm_bytes, other_bytes = 0.0, 0, 0, 0
    for site in sites:
        if site.get("entry") != entry:
            continue
        if site["kind"] == "gemm":
            # bf16 operands and an f32 result: about 3/4 of the f32 bytes for
            # square-ish products; count operands at half.
            bytes_ = site["bytes"] * 0.75
            seconds += max(site["flops"] / PEAK_BF16, bytes_ / BANDWIDTH)
            flops += site["flops"]
            gemm_bytes += bytes_
        else:
            seconds += site["bytes"] / BANDWIDTH
            other_bytes += site["bytes"]
    return seconds, flops, gemm_bytes, other_bytes


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("-o", "--output", default="")
    args = parser.parse_args()
    rows = {}
    for name in PAPER:
        manifest = manifest_of(benchenv.spec_path(name), args.batch, args.seq)
        sites = manifest["profile"]
        rows[name] = {entry: estimate(sites, entry) for entry in ("forward", "train_step")}
    lines = [f"| model | GEMM GFLOP per example, forward (paper) | H100 roofline, "
             f"inference ms/example | training ms/example | speed-up vs BERT, "
             f"inference / training | paper (V100): inference / training ms/example | "
             f"paper speed-up |", "|---|---|---|---|---|---|---|"]
    base = rows["bert_base"]
    for name, row in rows.items():
        forward, train = row["forward"], row["train_step"]
        gflops = forward[1] / args.batch / 1e9
        paper = PAPER[name]
        paper_base = PAPER["bert_base"]
        lines.append(
            f"| {NAMES[name]} | {gflops:.0f} ({paper[0]}) | "
            f"{forward[0] / args.batch * 1e3:.3f} | {train[0] / args.batch * 1e3:.3f} | "
            f"{base['forward'][0] / forward[0]:.2f}x / "
            f"{base['train_step'][0] / train[0]:.2f}x | "
            f"{paper[1]} / {paper[2]} | "
            f"{paper_base[1] / paper[1]:.2f}x / {paper_base[2] / paper[2]:.2f}x |")
    lines += ["", "Where the time goes (training, ms per example): "
              + "; ".join(
                  f"{NAMES[name]}: GEMMs at the tensor-core peak "
                  f"{row['train_step'][1] / PEAK_BF16 / args.batch * 1e3:.3f}, "
                  f"memory-bound kernels {row['train_step'][3] / BANDWIDTH / args.batch * 1e3:.3f}"
                  for name, row in rows.items()) + "."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
