"""The report of bench/cpu/run.py: Markdown (figures per model and mode, smx's
ratio to the best peer, model FLOP utilization, the issue's targets met or
missed) and a PNG chart of time per example and peak memory."""

import os

GIB = 2 ** 30
LABELS = {"smx": "smx", "torch_eager": "PyTorch eager", "torch_compile": "torch.compile",
          "jax": "JAX/XLA", "iree": "IREE", "onnxruntime": "ONNX Runtime"}
MODE_NAMES = {"infer": "inference", "train": "train step"}


def ms_per_example(side, batch):
    return side["median"] * 1e3 / batch if side.get("median") else None


def peak_gflops(ctx):
    values = [v for key in ("sgemm_before", "sgemm_after")
              for v in ctx.get(key, {}).values() if isinstance(v, float)]
    return max(values) if values else None


def fmt(value, pattern=None, missing="-"):
    """`value` in `pattern`, or with about three significant digits."""
    if value is None:
        return missing
    if pattern:
        return pattern.format(value)
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def valid_peers(sides):
    """The peers that ran and computed what smx computed."""
    return [s for s in sides[1:] if s["ok"] and s.get("checked") and s.get("median")]


def best(peers, key):
    values = [(key(s), s) for s in peers if key(s) is not None]
    return min(values, key=lambda v: v[0]) if values else (None, None)


def mode_table(result, mode, peak):
    m = result["modes"][mode]
    b = result["batch"]
    rows = ["| side | ms/example | examples/s | peak RSS (GiB) | compile (s) | GFLOP/s | "
            "MFU | check |", "|---|---|---|---|---|---|---|---|"]
    for side in m["sides"]:
        if not side["ok"]:
            rows.append(f"| {LABELS[side['peer']]} | failed: "
                        f"{' '.join(side.get('error', []))[:120]} | | "
                        f"{side['peak_rss'] / GIB:.2f} | | | | |")
            continue
        ms = ms_per_example(side, b)
        gflops = m["flops"] / side["median"] / 1e9 if side.get("median") else None
        mfu = 100 * gflops / peak if gflops and peak else None
        check = side.get("check", "")
        if not side.get("checked", False):
            check = f"**MISMATCH**: {check}"
        rows.append(f"| {LABELS[side['peer']]} | {fmt(ms)} | {fmt(1e3 / ms if ms else None)} | "
                    f"{fmt(side['peak_rss'] / GIB)} | {fmt(side.get('compile_s'))} | "
                    f"{fmt(gflops, '{:.0f}')} | {fmt(mfu, '{:.0f}%')} | {check} |")
    return "\n".join(rows)


def summary_rows(results):
    rows = ["| model | mode | smx ms/ex | best peer ms/ex | speed-up | smx peak RSS | "
            "best peer peak RSS | memory ratio | smx compile | fastest peer compile |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for mode, m in r["modes"].items():
            smx, peers = m["sides"][0], valid_peers(m["sides"])
            b = r["batch"]
            fast, fast_side = best(peers, lambda s: ms_per_example(s, b))
            mem, mem_side = best(peers, lambda s: s["peak_rss"] / GIB)
            comp, comp_side = best([p for p in peers if p.get("compile_s")],
                                   lambda s: s["compile_s"])
            smx_ms = ms_per_example(smx, b)
            rows.append(
                f"| {r['name']} | {MODE_NAMES[mode]} | {fmt(smx_ms)} | "
                f"{fmt(fast)} ({LABELS[fast_side['peer']] if fast_side else '-'}) | "
                f"{fmt(fast / smx_ms if fast and smx_ms else None, '{:.2f}x')} | "
                f"{fmt(smx['peak_rss'] / GIB)} GiB | "
                f"{fmt(mem)} GiB ({LABELS[mem_side['peer']] if mem_side else '-'}) | "
                f"{fmt(smx['peak_rss'] / GIB / mem if mem else None, '{:.2f}')} | "
                f"{fmt(smx['compile_s'])} s | "
                f"{fmt(comp, '{:.3g} s')} ({LABELS[comp_side['peer']] if comp_side else '-'}) |")
    return "\n".join(rows)


def targets(results):
    """The issue's targets, each met or missed, from this run's figures."""
    lines = []
    by_name = {r["name"]: r for r in results}
    for r in results:
        for mode, m in r["modes"].items():
            smx, peers = m["sides"][0], valid_peers(m["sides"])
            if not peers:
                lines.append(f"- {r['name']} {MODE_NAMES[mode]}: no peer ran and agreed: "
                             "nothing to compare")
                continue
            b = r["batch"]
            smx_ms = ms_per_example(smx, b)
            slower = [LABELS[p["peer"]] for p in peers if ms_per_example(p, b) < smx_ms]
            mem, mem_side = best(peers, lambda s: s["peak_rss"])
            lines.append(f"- {r['name']} {MODE_NAMES[mode]}: faster than every peer: "
                         + ("**met**" if not slower else f"**missed** ({', '.join(slower)} "
                            "faster)")
                         + "; peak RSS at or below the best peer's: "
                         + ("**met**" if smx["peak_rss"] <= mem else
                            f"**missed** ({smx['peak_rss'] / GIB:.2f} vs "
                            f"{mem / GIB:.2f} GiB, {LABELS[mem_side['peer']]})"))
    base = by_name.get("bert_base")
    for name in ("sparse_mixer", "fast_sparse_mixer"):
        r = by_name.get(name)
        if not (r and base):
            continue
        for mode in r["modes"]:
            if mode in base["modes"]:
                ratio = (base["modes"][mode]["sides"][0]["median"]
                         / r["modes"][mode]["sides"][0]["median"])
                lines.append(f"- {name} / bert_base speed-up, {MODE_NAMES[mode]}: "
                             f"{ratio:.2f}x (target 2.0x): "
                             + ("**met**" if ratio >= 2.0 else "**missed**"))
    sm = by_name.get("sparse_mixer")
    if sm:
        for mode, limit in (("train", 10.0), ("infer", 5.0)):
            if mode in sm["modes"]:
                s = sm["modes"][mode]["sides"][0]["compile_s"]
                lines.append(f"- smxc builds the SM-Base {MODE_NAMES[mode]} executable in "
                             f"{s:.1f} s (target under {limit:.0f} s): "
                             + ("**met**" if s < limit else "**missed**"))
    return "\n".join(lines)


def render(ctx, results, args):
    mach = ctx["machine"]
    peak = peak_gflops(ctx)
    versions = ", ".join(f"{k} {v}" for k, v in ctx["versions"].items())
    sgemm = lambda key: ", ".join(  # noqa: E731
        f"{k} {v:.0f}" if isinstance(v, float) else f"{k} {v}"
        for k, v in ctx.get(key, {}).items())
    lines = [
        f"# CPU benchmark: smx against PyTorch 2, JAX/XLA, IREE and ONNX Runtime "
        f"({ctx['date']}{', --quick' if ctx['quick'] else ''})",
        "",
        "Produced by `bench/cpu/run.sh` (bench/README.md). Every side runs the same "
        "model (the spec with its training noise off), the same weights (one safetensors "
        "file), the same batch and the same thread count, in a fresh process measured "
        "from outside (wall time, peak RSS from wait4). Time per example is the median "
        "of the timed calls (after one untimed call that compiles or warms up) divided "
        "by the batch. Each peer's outputs (inference) or first-step loss (training) is "
        "checked against smx's: a mismatch is flagged and its figures do not count.",
        "",
        f"- Machine: {mach['cpu']}, {mach['cpus']} CPUs ({mach['threads_per_core']} "
        f"thread(s) per core), {mach['simd']}, L2 {mach['l2']}, L3 {mach['l3']}, "
        f"{mach['memory']}; kernel {mach['kernel']}.",
        f"- Threads: {ctx['threads']} everywhere (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, "
        "torch.set_num_threads, ONNX Runtime intra-op, XLA / IREE task topology).",
        f"- Versions: smx {ctx['smx_rev']}; Python {ctx['python']}; {versions}.",
        "- Matrix products: smx through the system OpenBLAS (`cblas_sgemm`, its kernel "
        "named below); PyTorch through its bundled MKL / oneDNN; XLA:CPU through its "
        "own (Eigen / oneDNN) GEMMs; IREE through its llvm-cpu codegen; ONNX Runtime "
        "through MLAS.",
        f"- SGEMM 2048³ GFLOP/s, {ctx['threads']} threads, before: {sgemm('sgemm_before')}; "
        f"after: {sgemm('sgemm_after')}. MFU below is GEMM FLOP/s of the model over the "
        f"best of these ({fmt(peak, '{:.0f}')} GFLOP/s).",
        "- Environment: " + (", ".join(f"{k}={v}" for k, v in ctx["env"]) or "no "
                              "BLAS/OpenMP variables set") + ".",
        f"- Peer models checked before the run: {ctx.get('model_check', 'not run')}.",
    ]
    if ctx.get("missing_peers"):
        lines.append("- Not installed in this Python, so left out: "
                     + ", ".join(ctx["missing_peers"]) + ".")
    lines += [
        f"- Load average {ctx['load_start']} at the start, {ctx['load_end']} at the end; "
        f"other processes took {ctx['other_cpu_s']:.0f} CPU-seconds of the run's "
        f"{ctx['wall_s']:.0f} s"
        + (" (**timings suspect**: the machine was shared)"
           if ctx["other_cpu_s"] > 0.05 * ctx["wall_s"] * int(mach["cpus"] or 1) else "")
        + ".",
        "",
        "## Summary",
        "",
        "Speed-up: the best peer's ms/example over smx's (above 1: smx is faster). "
        "Memory ratio: smx's peak RSS over the best peer's (below 1: smx needs less).",
        "",
        summary_rows(results),
        "",
        "## Targets",
        "",
        targets(results),
        "",
    ]
    for r in results:
        lines += [f"## {r['name']} (`{r['spec']}`), {r['batch']} × {r['seq']}",
                  "",
                  f"{r['params'] / 1e6:.1f} M parameters; {r['steps']} timed calls per "
                  "side.", ""]
        for mode, m in r["modes"].items():
            lines += [f"### {MODE_NAMES[mode]} ({fmt(m['flops'] / 1e9)} GFLOP of GEMMs per "
                      "call)", "", mode_table(r, mode, peak), ""]
            smx = m["sides"][0]
            lines += [f"smx: compile {smx['compile_s']:.1f} s at peak RSS "
                      f"{smx['compile_rss'] / GIB:.2f} GiB; step time from `OUT profile`, "
                      "peak RSS and the check from "
                      + ("`OUT predict` on the batch" if mode == "infer" else
                         "`OUT train` for one step on the built-in corpus (its batch "
                         "is the one every peer trains on)") + ".", ""]
    return "\n".join(lines)


def chart(results, path):
    """Two panels: ms/example and peak RSS per model and mode, a bar per side.
    Returns whether it wrote the chart (it needs matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    groups = [(r, mode) for r in results for mode in r["modes"]]
    sides = list(LABELS)
    fig, axes = plt.subplots(2, 1, figsize=(max(6, 2.2 * len(groups)), 8))
    width = 0.8 / len(sides)
    for panel, (ax, what) in enumerate(zip(axes, ("ms/example", "peak RSS (GiB)"))):
        for k, peer in enumerate(sides):
            xs, ys = [], []
            for g, (r, mode) in enumerate(groups):
                side = next((s for s in r["modes"][mode]["sides"] if s["peer"] == peer), None)
                if not side or not side["ok"]:
                    continue
                value = (ms_per_example(side, r["batch"]) if panel == 0
                         else side["peak_rss"] / GIB)
                if value:
                    xs.append(g + (k - len(sides) / 2 + 0.5) * width)
                    ys.append(value)
            if xs:
                ax.bar(xs, ys, width, label=LABELS[peer])
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([f"{r['name']}\n{MODE_NAMES[mode]}" for r, mode in groups])
        ax.set_ylabel(what)
        if panel == 0:
            ax.set_yscale("log")
            ax.legend(ncol=3, fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"smx and its peers on this CPU ({os.path.basename(path)[:-4]})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True
