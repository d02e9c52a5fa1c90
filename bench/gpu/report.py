"""Writes the GPU check's report (bench/gpu/check.sh) from its JSON.

  report.py gpu-check.json --out gpu-DATE.md

Tables: smx beside PyTorch eager and torch.compile per model, training and
inference, in ms per example and peak memory; the speed-ups of SM and FSM
over BERT-Base beside the paper's (Lee-Thorp & Ainslie 2022: SM 1.65x
training / 1.61x inference, FSM 1.89x / 1.98x); cuBLASLt's TFLOP/s against
the dense bf16 peak; and each target of the GPU issue marked met, not met or
not measured. Nothing is filled in by hand: a missing figure says why.
"""

import argparse
import json

MODELS = ("bert_base", "sparse_mixer", "fast_sparse_mixer")
NAMES = {"bert_base": "BERT-Base", "sparse_mixer": "SM", "fast_sparse_mixer": "FSM"}
# The paper's speed-ups over BERT-Base (training, inference).
PAPER = {"sparse_mixer": (1.65, 1.61), "fast_sparse_mixer": (1.89, 1.98)}
# Dense bf16 tensor-core peak of an H100/H200 SXM (the H200 has the H100's
# compute and more memory).
BF16_PEAK_TFLOPS = 989.0


def ms(entry):
    if not entry:
        return None
    return entry.get("ms_per_example") if entry.get("status") == "ok" else None


def cell(entry, key="ms_per_example", fmt="{:.3f}"):
    if not entry:
        return "not run"
    if entry.get("status") != "ok":
        return f"{entry.get('status')}: {entry.get('why', '')}".strip(": ")
    value = entry.get(key)
    return fmt.format(value) if value is not None else "not reported"


def gib(entry, key="peak_memory_bytes"):
    if not entry or entry.get("status") != "ok" or entry.get(key) is None:
        return "-"
    return f"{entry[key] / 2**30:.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    with open(args.results) as f:
        r = json.load(f)
    smx, torch = r["smx"], r["torch"]
    lines = [f"# GPU check, {r['date']}", "",
             f"Written by `bench/gpu/check.sh run` (bench/gpu/report.py) on: "
             f"{r['device']}. Batch {r['batch']} x sequence {r['seq']}; smx "
             "compiled with `smxc --target=cuda` (kernels for sm_90, GEMMs on "
             "cuBLASLt with bf16 operands and f32 sums); PyTorch in bf16 "
             "autocast with f32 master weights (bench/gpu/torch_gpu_peer.py).", ""]

    numerics = r["numerics"]
    lines += ["## Numerics", "",
              f"tiny_sm, 30 training steps on the GPU against the CPU path with "
              f"`--precision=bf16`, relative tolerance {numerics.get('tolerance', 3.9e-3)} "
              f"on the loss, its terms and the gradient norm: **{numerics['status']}**.",
              "", "```", numerics.get("output", numerics.get("why", "")), "```", ""]

    for mode, title in (("train", "Training"), ("infer", "Inference")):
        lines += [f"## {title}, ms per example (peak GiB)", "",
                  "| model | smx | PyTorch eager | torch.compile | smx vs torch.compile |",
                  "|---|---|---|---|---|"]
        for model in MODELS:
            s = smx.get(f"{model}/{mode}")
            e = torch.get(f"torch_eager/{model}/{mode}")
            c = torch.get(f"torch_compile/{model}/{mode}")
            ratio = (f"{ms(c) / ms(s):.2f}x" if ms(s) and ms(c) else "-")
            lines.append(f"| {NAMES[model]} | {cell(s)} ({gib(s)}) | {cell(e)} ({gib(e)}) "
                         f"| {cell(c)} ({gib(c)}) | {ratio} |")
        lines.append("")

    lines += ["## Speed-ups over BERT-Base", "",
              "| model | smx training | smx inference | torch.compile training "
              "| torch.compile inference | paper training / inference |",
              "|---|---|---|---|---|---|"]
    targets = []
    for model in ("sparse_mixer", "fast_sparse_mixer"):
        row = [NAMES[model]]
        for source, prefix in ((smx, ""), (torch, "torch_compile/")):
            for index, mode in enumerate(("train", "infer")):
                base = ms(source.get(f"{prefix}bert_base/{mode}"))
                mine = ms(source.get(f"{prefix}{model}/{mode}"))
                speedup = base / mine if base and mine else None
                row.append(f"{speedup:.2f}x" if speedup else "-")
                if source is smx:
                    paper = PAPER[model][index]
                    targets.append((f"{NAMES[model]}/BERT {mode} speed-up at least the "
                                    f"paper's {paper:.2f}x",
                                    None if speedup is None else speedup >= paper,
                                    f"{speedup:.2f}x" if speedup else "not measured"))
        row.append(f"{PAPER[model][0]:.2f}x / {PAPER[model][1]:.2f}x")
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")

    lines += ["## GEMMs", "",
              f"cuBLASLt's throughput over the timed steps, against the dense bf16 "
              f"peak of {BF16_PEAK_TFLOPS:.0f} TFLOP/s:", "",
              "| model | mode | GEMM calls per step | GEMM ms per step | TFLOP/s | of peak |",
              "|---|---|---|---|---|---|"]
    for mode in ("train", "infer"):
        for model in MODELS:
            s = smx.get(f"{model}/{mode}", {})
            if s.get("status") == "ok" and s.get("gemm_tflops") is not None:
                lines.append(f"| {NAMES[model]} | {mode} | {s['gemm_calls_per_step']} | "
                             f"{s['gemm_ms_per_step']:.1f} | {s['gemm_tflops']:.0f} | "
                             f"{s['gemm_tflops'] / BF16_PEAK_TFLOPS:.0%} |")
    lines.append("")

    first = [("tiny_sm tracks the CPU bf16 run within 3.9e-3",
              {"passed": True, "failed": False}.get(numerics["status"]),
              numerics["status"])]
    for mode in ("train", "infer"):
        for model in MODELS:
            s = ms(smx.get(f"{model}/{mode}"))
            c = ms(torch.get(f"torch_compile/{model}/{mode}"))
            first.append((f"{NAMES[model]} {mode} faster than torch.compile",
                          None if not (s and c) else s < c,
                          f"{c / s:.2f}x" if s and c else "not measured"))
    targets = first + targets
    lines += ["## Targets", "", "| target | result | figure |", "|---|---|---|"]
    for name, met, figure in targets:
        verdict = "not measured" if met is None else ("met" if met else "**not met**")
        lines.append(f"| {name} | {verdict} | {figure} |")
    lines.append("")
    with open(args.out, "w") as out:
        out.write("\n".join(lines))


if __name__ == "__main__":
    main()
