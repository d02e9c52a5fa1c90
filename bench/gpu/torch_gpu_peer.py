"""The PyTorch 2 peer of the GPU benchmark (bench/gpu/check.sh): one model, one
mode, one side, one process.

  torch_gpu_peer.py --spec SPEC.yaml --mode train|infer --peer torch_eager|torch_compile
                    [--batch 64] [--seq 512] [--steps 10] [--warmup 3]
                    [--device cuda|cpu] [--dtype bf16|f32] [--seed 0]
                    [--lr 1e-4] [--max-grad-norm 1.0] [--max-predictions 80]

The model, the pre-training loss and AdamW are bench/cpu/torch_model.py's
(the CPU peers' and the PyTorch reference's model, test/reference/smx_torch.py,
experts_choose routed in the graph by torch.topk). Parameters are drawn on
the device from the spec's init (N(0, 0.02) matrices and embeddings, zero
biases, unit layer-norm scales; torch's generator seeded with --seed, so not
the values of smx_reference.py init) and kept in float32, as are AdamW's
moments; the batch is drawn there too: token ids in [1, V) with no padding,
type ids in {0, 1}, and for training min(--max-predictions, seq) ascending
masked positions per row with random labels and unit weights, and random
sentence-order labels.

- `--dtype bf16` (default): mixed precision, the forward (and the loss) under
  torch.autocast(device_type, dtype=torch.bfloat16): matrix products in bf16,
  softmax, layer norm and the losses in float32 as autocast decides; the
  backward follows the forward's dtypes. `--dtype f32`: no autocast (on
  CUDA, float32 products at torch.get_float32_matmul_precision(), reported).
- train: zero_grad, the pre-training loss (MLM, sentence order, router
  z-loss; the training capacity factor), backward, clip_grad_norm_ (--max-grad-norm 1.0),
  AdamW (fused on CUDA, foreach on the CPU) with smx's betas, epsilon,
  weight-decay mask and schedule (peak --lr, --warmup warm-up steps,
  warm-up + timed steps in all). torch_compile compiles the forward and
  the loss as one function (torch.compile, default mode; AOTAutograd
  compiles its backward); the optimizer runs eagerly.
- infer: the eval-mode forward (the eval capacity factor; every output the
  spec has, the MLM logits at every position included) under
  torch.inference_mode(); torch_compile compiles it.
- The reference model (test/reference/smx_torch.py) makes its index and
  mask tensors on its inputs' device, so the same code runs on the CPU and
  on CUDA, eager and compiled.

Timing: --warmup untimed calls (the first compiles, for torch_compile), then
--steps timed calls, each ended by torch.cuda.synchronize() (on the CPU,
nothing to wait for); the median and the minimum are reported, and the
median over the batch as ms per example. Peak memory is
torch.cuda.max_memory_allocated() with the peak reset after the parameters
and the batch are on the device and before the first call, so it counts
them, the optimizer's moments, activations and workspaces (null on the CPU).

The last line of stdout is one JSON object: peer, mode, spec, batch, seq,
dtype, device, device_name, compile_s (the first call's seconds with
torch_compile, 0 with torch_eager), step_ms, median_ms, min_ms,
ms_per_example, peak_memory_bytes, versions, and more (warmup_ms,
first_loss, params, optimizer, peak_reserved_bytes, device_memory_bytes,
float32_matmul_precision, steps, warmup).

Exit status: 0; 2 on bad arguments, on `--device cuda` without a CUDA
device ("no CUDA device: torch.cuda.is_available() is false", on stderr) and
on a torch older than 2 where it is needed (CUDA, torch.compile, bf16 on the
CPU); 3 when the GPU runs out of memory (torch.cuda.OutOfMemoryError, also
wrapped by torch.compile), with a JSON last line {..., "error": "out of
memory", "message", "phase"} (check.sh looks for the largest batch that fits
with it); 1 on any other failure.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, os.pardir, "cpu")))
sys.path.insert(0, os.path.normpath(os.path.join(HERE, os.pardir, os.pardir, "test",
                                                 "reference")))

import torch  # noqa: E402

import torch_model  # noqa: E402
from smx_model import parameter_shapes  # noqa: E402
from smx_spec import load_spec  # noqa: E402
from torch_train_step import init_kind  # noqa: E402

PROG = "torch_gpu_peer.py"
PEERS = ("torch_eager", "torch_compile")
EXIT_USAGE = 2
EXIT_OOM = 3


def log(message):
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", required=True, help="the model spec (YAML)")
    parser.add_argument("--mode", required=True, choices=("train", "infer"))
    parser.add_argument("--peer", required=True, choices=PEERS)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq", type=int, default=512,
                        help="sequence length: at most the spec's max_length, and equal to "
                             "it when any layer's mixing is not attention")
    parser.add_argument("--steps", type=int, default=10, help="timed calls")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed calls before them (the first compiles)")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--dtype", default="bf16", choices=("bf16", "f32"),
                        help="bf16: autocast mixed precision, float32 weights and moments")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-4, help="peak learning rate")
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    parser.add_argument("--max-predictions", type=int, default=80,
                        help="masked-LM slots per row (smxc's default), at most seq")
    args = parser.parse_args(argv)
    if args.batch < 1 or args.seq < 1 or args.steps < 1 or args.warmup < 1:
        parser.error("--batch, --seq, --steps and --warmup must be >= 1")
    if args.max_predictions < 1:
        parser.error("--max-predictions must be >= 1")
    try:
        spec = load_spec(args.spec)
    except (OSError, AssertionError, ValueError) as e:
        parser.error(f"--spec {args.spec}: {e}")
    if args.seq > spec.max_length:
        parser.error(f"--seq {args.seq} > the spec's max_length {spec.max_length}")
    if spec.needs_full_length and args.seq != spec.max_length:
        parser.error(f"--seq {args.seq}: {spec.name} has non-attention mixing, which runs at "
                     f"max_length {spec.max_length} only")
    if args.mode == "train" and not (spec.mlm or spec.sentence_order):
        parser.error(f"{spec.name}: pre-training needs heads.mlm or heads.sentence_order")
    if spec.num_experts and any(spec.moe_layers) and spec.router_policy != "experts_choose":
        parser.error(f"{spec.name}: router policy {spec.router_policy!r}: only experts_choose "
                     "routes in the graph")
    return args, spec


def usage_exit(message):
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
    sys.exit(EXIT_USAGE)



# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def random_parameters(spec, seed, device):
    """The spec's parameters, float32 on `device`, drawn as the spec's init does:
    N(0, 0.02) for the normal-initialized ones, zeros, ones."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    params = {}
    for name, shape in parameter_shapes(spec).items():
        kind = init_kind(name)
        if kind == "zeros":
            params[name] = torch.zeros(shape, dtype=torch.float32, device=device)
        elif kind == "ones":
            params[name] = torch.ones(shape, dtype=torch.float32, device=device)
        else:
            params[name] = torch.empty(shape, dtype=torch.float32, device=device).normal_(
                0.0, 0.02, generator=gen)
    return params


def random_batch(spec, mode, batch, seq, max_predictions, seed, device):
    """A batch on `device`, integer tensors int64 (as torch_model.load gives them):
    input_ids in [1, V) (no padding), type_ids in {0, 1}; for training the
    pre-training targets of the spec's heads."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed + 1)

    def ints(lo, hi, shape):
        return torch.randint(lo, hi, shape, generator=gen, device=device, dtype=torch.int64)

    out = {"input_ids": ints(1, spec.vocab_size, (batch, seq)),
           "type_ids": ints(0, min(2, spec.type_vocab_size), (batch, seq))}
    if mode == "train":
        if spec.mlm:
            p = min(max_predictions, seq)
            order = torch.rand((batch, seq), generator=gen, device=device).argsort(dim=1)
            out["mlm_positions"] = order[:, :p].sort(dim=1).values
            out["mlm_labels"] = ints(0, spec.vocab_size, (batch, p))
            out["mlm_weights"] = torch.ones((batch, p), dtype=torch.float32, device=device)
        if spec.sentence_order:
            out["order_labels"] = ints(0, 2, (batch,))
    return out


# --------------------------------------------------------------------------
# The steps
# --------------------------------------------------------------------------

def make_train_step(spec, params, device, args):
    """Returns (call, optimizer name); call(i) runs train step i and returns the loss."""
    for t in params.values():
        t.requires_grad_(True)
    fused = device.type == "cuda"
    optimizer, schedule = torch_model.make_adamw(
        params, args.lr, args.warmup, args.warmup + args.steps,
        **({"fused": True} if fused else {"foreach": True}))
    bf16 = args.dtype == "bf16"

    def loss_step(p, batch):
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            return torch_model.pretrain_loss(spec, p, batch)

    loss_fn = torch.compile(loss_step) if args.peer == "torch_compile" else loss_step
    batch = random_batch(spec, "train", args.batch, args.seq, args.max_predictions,
                         args.seed, device)
    param_list = list(params.values())

    def call(_):
        optimizer.zero_grad(set_to_none=True)
        loss, _parts = loss_fn(params, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(param_list, args.max_grad_norm)
        optimizer.step()
        schedule.step()
        return loss

    return call, "AdamW (fused)" if fused else "AdamW (foreach)"


def make_infer_step(spec, params, device, args):
    """Returns (call, None); call(i) runs the forward and returns its outputs."""
    module = torch_model.Inference(spec, params).eval()
    bf16 = args.dtype == "bf16"

    def forward(input_ids, type_ids):
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            return module(input_ids, type_ids)

    fn = torch.compile(forward) if args.peer == "torch_compile" else forward
    batch = random_batch(spec, "infer", args.batch, args.seq, args.max_predictions,
                         args.seed, device)

    def call(_):
        with torch.inference_mode():
            return fn(batch["input_ids"], batch["type_ids"])

    return call, None


# --------------------------------------------------------------------------
# Running and reporting
# --------------------------------------------------------------------------

def is_out_of_memory(error, device):
    """A CUDA allocation failure, possibly wrapped (torch.compile re-raises errors
    of its backend as BackendCompilerFailed)."""
    if device.type != "cuda":
        return False
    oom = getattr(torch.cuda, "OutOfMemoryError", None)
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if oom is not None and isinstance(error, oom):
            return True
        text = str(error)
        if "CUDA out of memory" in text or "CUBLAS_STATUS_ALLOC_FAILED" in text:
            return True
        error = (error.__cause__ or getattr(error, "inner_exception", None)
                 or error.__context__)
    return False


def versions():
    v = {"torch": torch.__version__, "python": platform.python_version()}
    if torch.version.cuda:
        v["cuda"] = torch.version.cuda
    try:
        import importlib.metadata
        v["triton"] = importlib.metadata.version("triton")
    except Exception:  # noqa: BLE001 - not installed, or no metadata
        pass
    return v


def device_name(device):
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return platform.processor() or platform.machine() or "cpu"


def run(spec, args, device, record):
    """Builds, warms up and times one side; fills `record`. Sets record["phase"]
    as it goes (an out-of-memory error says where)."""
    cuda = device.type == "cuda"
    sync = (lambda: torch.cuda.synchronize(device)) if cuda else (lambda: None)
    record["phase"] = "setup"
    params = random_parameters(spec, args.seed, device)
    record["params"] = sum(t.numel() for t in params.values())
    make = make_train_step if args.mode == "train" else make_infer_step
    call, record["optimizer"] = make(spec, params, device, args)
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)

    record["phase"] = "warmup"
    warmup_s = []
    for i in range(args.warmup):
        start = time.perf_counter()
        out = call(i)
        sync()
        warmup_s.append(time.perf_counter() - start)
        if i == 0 and args.mode == "train":
            record["first_loss"] = float(out.detach())
        del out
        log(f"warm-up {i + 1}/{args.warmup}: {warmup_s[-1] * 1e3:.1f} ms")
    record["phase"] = "timed"
    step_s = []
    for i in range(args.steps):
        start = time.perf_counter()
        out = call(args.warmup + i)
        sync()
        step_s.append(time.perf_counter() - start)
        del out
        log(f"step {i + 1}/{args.steps}: {step_s[-1] * 1e3:.1f} ms")
    del record["phase"]

    step_ms = [s * 1e3 for s in step_s]
    median_ms = statistics.median(step_ms)
    record.update(compile_s=warmup_s[0] if args.peer == "torch_compile" else 0.0,
                  step_ms=step_ms, median_ms=median_ms, min_ms=min(step_ms),
                  ms_per_example=median_ms / args.batch,
                  warmup_ms=[s * 1e3 for s in warmup_s])
    if cuda:
        record["peak_memory_bytes"] = torch.cuda.max_memory_allocated(device)
        record["peak_reserved_bytes"] = torch.cuda.max_memory_reserved(device)


def main():
    args, spec = parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            usage_exit("no CUDA device: torch.cuda.is_available() is false")
        device = torch.device("cuda", torch.cuda.current_device())
    major = int(torch.__version__.split(".")[0])
    if device.type == "cuda" and major < 2:
        usage_exit(f"--device cuda needs PyTorch 2; this is {torch.__version__}")
    if device.type == "cpu" and args.dtype == "bf16" and major < 2:
        usage_exit(f"--dtype bf16 on the CPU needs PyTorch 2 (autocast of layer_norm); "
                   f"this is {torch.__version__}")
    if args.peer == "torch_compile" and not hasattr(torch, "compile"):
        usage_exit(f"torch_compile needs PyTorch 2 (torch.compile); this is {torch.__version__}")
    torch.manual_seed(args.seed)
    record = {"peer": args.peer, "mode": args.mode, "spec": spec.name, "batch": args.batch,
              "seq": args.seq, "dtype": args.dtype, "device": args.device,
              "device_name": device_name(device), "compile_s": None, "step_ms": [],
              "median_ms": None, "ms_per_example": None, "peak_memory_bytes": None,
              "versions": versions()}
    if device.type == "cuda":
        record["device_memory_bytes"] = torch.cuda.get_device_properties(device).total_memory
        record["float32_matmul_precision"] = torch.get_float32_matmul_precision()
    log(f"{spec.name} {args.mode} {args.peer} {args.dtype} on {record['device_name']}: "
        f"batch {args.batch}, seq {args.seq}")
    try:
        run(spec, args, device, record)
    except Exception as error:  # noqa: BLE001 - re-raised unless out of memory
        if not is_out_of_memory(error, device):
            raise
        message = str(error).strip().splitlines()
        record.update(error="out of memory", message=message[0] if message else "",
                      peak_memory_bytes=torch.cuda.max_memory_allocated(device))
        log(f"out of memory ({record['phase']}): {record['message']}")
        print(json.dumps(record), flush=True)
        return EXIT_OOM
    record.update(steps=args.steps, warmup=args.warmup)
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
