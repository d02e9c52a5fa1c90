#!/usr/bin/env python3
"""A cost model of distributed training that reads the compiled IR.

For a spec and a per-device batch, and each grid dp x ep of N devices, it
compiles the train step of one device (`smxc --grid dp=D,ep=E --emit=smx`,
then smx-opt's partitioning passes and smx-build-train-step) and reads its
collectives from the IR: every `shard.all_reduce` (gradient buckets, the
loss, the metrics, the expert norm), the cross-entropy counts
(`count_over`), and every `moe.all_to_all` (dispatch and return, forward
and backward), each with its bytes and grid axes. A link model turns them
into seconds:

  all-reduce of S bytes over a group of m devices in each of k nodes
  (hierarchical, as NCCL's): 2 (m-1)/m S / intra + 2 (k-1)/k (S/m) / inter
  + 2 (log2 m intra latency + log2 k inter latency);
  all-to-all sending S bytes: max((m-1)/n S / intra, (n-m)/n S / inter)
  + (m-1) intra latency + (k-1) inter latency.

Devices are numbered row-major, (d, e) -> d * ep + e, as the runtime's
grid numbers processes: an ep group is consecutive devices (inside a node
when ep <= devices per node), a dp group strides by ep. Predicted step time = compute + communication (no overlap: smx
does not overlap its collectives yet); scaling efficiency = compute /
step time, the per-device batch fixed (weak scaling).

`gpu` predicts SM-Base (samples/sparse_mixer.yaml) at 8, 64 and 512
H100-class GPUs (NVLink 900 GB/s within a node of 8, InfiniBand 400 Gb/s
= 50 GB/s per GPU across nodes) and recommends a grid per size. `cpu`
checks the model on this machine: it measures the link (latency and
bandwidth of the MPI backend's all-reduce, from two runs with and without
gradient buckets on dp=2), then predicts the bytes and seconds of the
collectives of other grids and sets them beside what the runtime measured
(`communication per step` of `OUT train`).

  bench/scaling/model.py [--gpu-only | --cpu-only] [--report-dir bench/reports]
"""
import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import benchenv  # noqa: E402

sys.path.insert(0, benchenv.REFERENCE)
from smx_spec import load_spec  # noqa: E402

BUILD = os.path.join(benchenv.REPO, "build", "bin")
COLLECTIVE = re.compile(
    r"(shard\.all_reduce|moe\.all_to_all) %\S+ on @grid grid_axes = \[([\d, ]+)\]"
    r"(?: split_axis = \d+ concat_axis = \d+)? : tensor<([^>]+)>")
COUNT_OVER = re.compile(r"count_over @grid grid_axes = \[([\d, ]+)\]")
ELEMENT_BYTES = {"f32": 4, "i64": 8, "i32": 4}


def tensor_bytes(text):
    *dims, element = text.split("x")
    count = 1
    for dim in dims:
        count *= int(dim)
    return count * ELEMENT_BYTES[element]


def train_step_ir(spec_path, dp, ep, batch, seq, bucket_mib=25):
    """The IR of one device's train step on a dp x ep grid, global batch
    `batch`."""
    emit = [os.path.join(BUILD, "smxc"), spec_path, "--task=pretrain", "--emit=smx",
            f"--batch={batch}", f"--seq={seq}", "-o", "-"]
    if dp * ep > 1:
        emit.append(f"--grid=dp={dp},ep={ep}")
    frontend = subprocess.run(emit, capture_output=True, text=True, check=True).stdout
    passes = [f"--smx-shard-batch=dp={dp} ep={ep}", "--smx-shard-experts",
              f"--smx-build-train-step=grad-bucket-mib={bucket_mib}", "--canonicalize"]
    if dp * ep == 1:
        passes = passes[2:]
    result = subprocess.run([os.path.join(BUILD, "smx-opt")] + passes, input=frontend,
                            capture_output=True, text=True, check=True).stdout
    return result[result.index("func.func @train_step"):]


def collectives(ir, grid):
    """(kind, axes, bytes) of every collective of a train step that moves
    data (axes of one device drop out, as in convert-shard-to-runtime)."""
    found = []
    for kind, axes, tensor in COLLECTIVE.findall(ir):
        axes = tuple(int(a) for a in axes.split(","))
        if all(grid[a] == 1 for a in axes):
            continue
        found.append(("all-reduce" if kind == "shard.all_reduce" else "all-to-all",
                      axes, tensor_bytes(tensor)))
    # Each masked cross-entropy (and its gradient) sums its f32 count.
    for axes in COUNT_OVER.findall(ir):
        axes = tuple(int(a) for a in axes.split(","))
        if not all(grid[a] == 1 for a in axes):
            found.append(("all-reduce", axes, 4))
    return found


class Links:
    """Two tiers of links: `per_node` devices share a fast one (NVLink),
    nodes are joined by a slower one, one port per device (InfiniBand)."""

    def __init__(self, intra_bw, intra_lat, inter_bw, inter_lat, per_node):
        self.intra_bw, self.intra_lat = intra_bw, intra_lat
        self.inter_bw, self.inter_lat = inter_bw, inter_lat
        self.per_node = per_node

    def geometry(self, grid, axes):
        """(members per node m, nodes k) of a group along `axes` of a
        row-major dp x ep grid: an ep group is consecutive devices, a dp
        group strides by ep."""
        dp, ep = grid
        P = self.per_node
        if axes == (1,):
            n, stride = ep, 1
        elif axes == (0,):
            n, stride = dp, ep
        else:
            n, stride = dp * ep, 1
        m = max(1, min(n, P // stride)) if stride < P else 1
        return m, max(1, n // m)

    def seconds(self, grid, kind, axes, size):
        m, k = self.geometry(grid, axes)
        n = m * k
        if n == 1:
            return 0.0
        log2 = lambda x: (x - 1).bit_length()  # noqa: E731
        if kind == "all-reduce":
            # Hierarchical: reduce-scatter and all-gather inside the node,
            # each member all-reducing its 1/m across the k nodes on its own
            # port; tree latency.
            intra = 2 * (m - 1) / m * size / self.intra_bw
            inter = 2 * (k - 1) / k * (size / m) / self.inter_bw
            latency = 2 * (log2(m) * self.intra_lat + log2(k) * self.inter_lat)
            return intra + inter + latency
        # All-to-all: a device's (m-1)/n of its bytes stay in the node, the
        # rest cross its port; the two go at once.
        intra = (m - 1) / n * size / self.intra_bw
        inter = (n - m) / n * size / self.inter_bw
        return max(intra, inter) + (m - 1) * self.intra_lat + (k - 1) * self.inter_lat


def summarize(found, grid, links):
    total = {"all-reduce": [0, 0, 0.0], "all-to-all": [0, 0, 0.0]}
    for kind, axes, size in found:
        entry = total[kind]
        entry[0] += 1
        entry[1] += size
        entry[2] += links.seconds(grid, kind, axes, size) if links else 0.0
    return total


def grids_for(devices, experts):
    ep = 1
    while ep <= min(devices, experts):
        if experts % ep == 0 and devices % ep == 0:
            yield devices // ep, ep
        ep *= 2


def gpu_table(args):
    spec_path = benchenv.spec_path(args.spec)
    spec = load_spec(spec_path)
    links = Links(900e9, 3e-6, 50e9, 10e-6, 8)
    predictions = 80 if args.seq >= 80 else args.seq
    flops = 3 * benchenv.gemm_flops(spec, args.device_batch, args.seq,
                                    spec.capacity_factor_train,
                                    args.device_batch * predictions)
    compute = args.compute_seconds or flops / (args.peak_flops * args.mfu)
    lines = [f"## SM-Base on H100-class GPUs (predicted)", "",
             f"Spec `{os.path.relpath(spec_path, benchenv.REPO)}`, {args.device_batch} "
             f"sequences of {args.seq} per GPU (the global batch grows with the grid). "
             f"Compute per step and GPU: {compute * 1e3:.1f} ms"
             + (" (given)" if args.compute_seconds else
                f", {flops / 1e12:.2f} TFLOP of GEMMs at {args.mfu:.0%} of "
                f"{args.peak_flops / 1e12:.0f} TFLOP/s bf16 (no GPU has measured "
                "it yet; `--compute-seconds` takes a measurement)")
             + ". Links: NVLink 900 GB/s and 3 µs within a node of 8, InfiniBand "
             "400 Gb/s (50 GB/s per GPU) and 10 µs across nodes. No overlap.", "",
             "| GPUs | grid | all-reduce per step | all-to-all per step | communication | "
             "step time | scaling efficiency |", "|---|---|---|---|---|---|---|"]
    recommended = {}
    for devices in (8, 64, 512):
        best = None
        for dp, ep in grids_for(devices, spec.num_experts):
            ir = train_step_ir(spec_path, dp, ep, args.device_batch * devices, args.seq)
            total = summarize(collectives(ir, (dp, ep)), (dp, ep), links)
            comm = total["all-reduce"][2] + total["all-to-all"][2]
            step = compute + comm
            row = (f"| {devices} | dp={dp} x ep={ep} | {total['all-reduce'][0]} calls, "
                   f"{total['all-reduce'][1] / 2**20:.0f} MiB | {total['all-to-all'][0]} "
                   f"calls, {total['all-to-all'][1] / 2**20:.0f} MiB | {comm * 1e3:.1f} ms | "
                   f"{step * 1e3:.1f} ms | {compute / step:.0%} |")
            lines.append(row)
            if best is None or step < best[0]:
                best = (step, dp, ep, compute / step)
        recommended[devices] = best
    lines += ["", "Recommended: " + "; ".join(
        f"{n} GPUs: dp={b[1]} x ep={b[2]} ({b[3]:.0%})" for n, b in recommended.items())
        + ". Expert parallelism cuts the expert gradients each GPU all-reduces (over dp "
        "only, 1/ep of them) at the price of the all-to-alls, whose bytes per GPU do not "
        "depend on ep; inside a node the all-to-all rides NVLink, so the best grid puts "
        "ep within a node.", ""]
    return lines


def run_train(exe, processes, steps, data):
    environment = benchenv.mpi_environment()
    command = [exe, "train", "--steps", str(steps), "--lr", "1e-3", "--data", data]
    if processes > 1:
        command = ["mpirun", "-np", str(processes)] + command
    out = subprocess.run(command, capture_output=True, text=True, env=environment,
                         check=True)
    text = out.stdout + out.stderr
    measured = {}
    for kind, calls, kib, ms in re.findall(
            r"(all-reduce|all-to-all) ([\d.]+) calls, ([\d.]+) KiB, ([\d.]+) ms", text):
        measured[kind] = (float(calls), float(kib) * 1024, float(ms) / 1e3)
    return measured


def cpu_table(args):
    spec_path = os.path.join(benchenv.REPO, "test", "Integration", "Inputs",
                             "tiny_sm_grid.yaml")
    data = os.path.join(benchenv.REPO, "test", "unittests", "application", "data",
                        "small_corpus.txt")
    work = tempfile.mkdtemp(prefix="smx-scaling-")
    batch = 4

    def build(dp, ep, bucket):
        exe = os.path.join(work, f"dp{dp}ep{ep}b{bucket}")
        subprocess.run([os.path.join(BUILD, "smxc"), spec_path, "--task=pretrain",
                        f"--grid=dp={dp},ep={ep}", f"--grad-bucket-mib={bucket}",
                        "-o", exe], check=True)
        return exe

    # Calibration on dp=2: many small all-reduces (no buckets) against few
    # large ones give latency and bandwidth.
    calibration = []
    for bucket in (0, 25):
        measured = run_train(build(2, 1, bucket), 2, args.cpu_steps, data)["all-reduce"]
        found = collectives(train_step_ir(spec_path, 2, 1, batch, 32, bucket), (2, 1))
        calibration.append((measured, summarize(found, (2, 1), None)["all-reduce"]))
    (m0, p0), (m1, p1) = calibration
    # seconds = calls * 2(n-1) latency + bytes * 2(n-1)/n / bandwidth, n = 2.
    a = [[p0[0] * 2, p0[1]], [p1[0] * 2, p1[1]]]
    b = [m0[2], m1[2]]
    det = a[0][0] * a[1][1] - a[0][1] * a[1][0]
    latency = (b[0] * a[1][1] - a[0][1] * b[1]) / det
    inverse_bandwidth = (a[0][0] * b[1] - b[0] * a[1][0]) / det
    latency = max(latency, 1e-7)
    bandwidth = 1 / inverse_bandwidth if inverse_bandwidth > 0 else 1e12
    links = Links(bandwidth, latency, bandwidth, latency, 1 << 20)
    # On one machine every group is inside the "node": 2 (n-1)/n S / bw
    # plus 2 log2(n) latency per all-reduce.
    lines = ["## Predicted against measured, on this machine", "",
             f"`tiny_sm` (test/Integration/Inputs/tiny_sm_grid.yaml), batch {batch}, "
             f"{args.cpu_steps} steps per run, gradient buckets of 25 MiB. The link is "
             f"calibrated on dp=2 from a run without buckets ({p0[0]} all-reduces per step) "
             f"and one with ({p1[0]}): latency {latency * 1e6:.0f} µs per hop, "
             f"bandwidth {bandwidth / 1e9:.2f} GB/s (shared-memory MPI, the polling that "
             "keeps a dead peer from hanging the job included). The other grids are "
             "predictions: bytes and calls read from their IR, seconds from the link; "
             "measured: the runtime's `communication per step` of rank 0.", "",
             "| grid | collective | calls/step predicted | measured | bytes/step "
             "predicted | measured | ms/step predicted | measured |",
             "|---|---|---|---|---|---|---|---|"]
    for dp, ep in ((2, 1), (1, 2), (2, 2)):
        measured = run_train(build(dp, ep, 25), dp * ep, args.cpu_steps, data)
        found = collectives(train_step_ir(spec_path, dp, ep, batch, 32), (dp, ep))
        predicted = summarize(found, (dp, ep), links)
        for kind in ("all-reduce", "all-to-all"):
            p, m = predicted[kind], measured.get(kind, (0, 0, 0))
            if p[0] == 0 and m[0] == 0:
                continue
            lines.append(f"| dp={dp} x ep={ep} | {kind} | {p[0]} | {m[0]:g} | "
                         f"{p[1] / 1024:.1f} KiB | {m[1] / 1024:.1f} KiB | "
                         f"{p[2] * 1e3:.2f} | {m[2] * 1e3:.2f} |")
    lines += ["", "dp=2 x ep=2 runs 4 processes on 2 cores: its measured times include "
              "waiting for a peer that is not scheduled, which no link model predicts.", ""]
    shutil.rmtree(work, ignore_errors=True)
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default="sparse_mixer")
    parser.add_argument("--device-batch", type=int, default=32)
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("--peak-flops", type=float, default=989e12)
    parser.add_argument("--mfu", type=float, default=0.4)
    parser.add_argument("--compute-seconds", type=float, default=0.0)
    parser.add_argument("--cpu-steps", type=int, default=100)
    parser.add_argument("--gpu-only", action="store_true")
    parser.add_argument("--cpu-only", action="store_true")
    parser.add_argument("--report-dir", default=os.path.join(benchenv.REPO, "bench", "reports"))
    args = parser.parse_args()
    date = datetime.date.today().isoformat()
    machine = benchenv.machine_info()
    lines = [f"# Scaling on paper, checked at small scale ({date})", "",
             "`bench/scaling/model.py`: a cost model that reads the collectives of the "
             f"compiled train step (docs/distributed.md). git {benchenv.git_revision()}; "
             f"this machine: {machine['cpu']}, {machine['cpus']} CPUs.", ""]
    if not args.cpu_only:
        lines += gpu_table(args)
    if not args.gpu_only:
        lines += cpu_table(args)
    os.makedirs(args.report_dir, exist_ok=True)
    path = os.path.join(args.report_dir, f"scaling-{date}.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    print(f"report: {path}")


if __name__ == "__main__":
    main()
