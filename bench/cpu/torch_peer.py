"""The PyTorch 2 and ONNX Runtime peers of the CPU benchmark (bench/cpu/run.py).

  torch_peer.py --peer torch_eager|torch_compile|onnxruntime --mode infer|train
                --spec SPEC.yaml --weights W.safetensors --batch BATCH.safetensors
                --steps N [--threads T] [--output OUT.safetensors]
                [--lr 1e-4] [--warmup 1] [--max-grad-norm 1.0] [--workdir DIR]

The peer protocol (bench/README.md): run the spec's model on the batch once to
compile or warm up, then N timed times; `infer` writes the first call's
outputs to --output, `train` reports the first step's losses; the last line
of stdout is one JSON object (compile_s, setup_s, step_times, first,
versions, gemm).

The model is the PyTorch reference's (test/reference/smx_torch.py, which that
directory's tests check against the NumPy reference), float32, routed in the
graph (experts_choose as one torch.topk per group: `route_topk`) so that
torch.compile and the ONNX exporter see one graph. Training is what a
PyTorch user writes: the pre-training loss below, `loss.backward()`,
`clip_grad_norm_`, `torch.optim.AdamW` (foreach) with the smx schedule
(linear warm-up, linear decay) and weight decay on the normal-initialized
parameters only, which is smx.adamw_update's formula
(torch_train_step.adamw_update). Inference runs under
`torch.inference_mode()`; ONNX Runtime runs the model exported by
`torch.onnx.export` with every graph optimization on.
"""

import os
import sys
import time

T_START = time.perf_counter()

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir, os.pardir, "test", "reference"))

import peer_protocol  # noqa: E402

PEERS = ("torch_eager", "torch_compile", "onnxruntime")


def parse_args(argv=None):
    parser = peer_protocol.peer_parser(__doc__.split("\n\n")[0], PEERS)
    parser.add_argument("--workdir", default=None, help="scratch (the ONNX file)")
    args = parser.parse_args(argv)
    if args.peer == "onnxruntime" and args.mode == "train":
        parser.error("onnxruntime runs inference only")
    return peer_protocol.check_args(parser, args)


ARGS = parse_args()
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import smx_routing  # noqa: E402
import smx_safetensors  # noqa: E402
import smx_torch  # noqa: E402
from smx_model import parameter_shapes  # noqa: E402
from smx_spec import load_spec  # noqa: E402
from torch_train_step import BETA1, BETA2, EPSILON, WEIGHT_DECAY, decays, lr_schedule  # noqa: E402

IGNORE_INDEX = -100


def log(message):
    print(f"{ARGS.peer}: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# The model in one graph
# --------------------------------------------------------------------------

def route_topk(probs, spec, capacity_factor, token_ids):
    """experts_choose in the graph: every expert takes the top-C tokens of each group
    by router probability (one torch.topk; float32 near-ties may order differently
    from the NumPy reference). Returns (indices [G, E, C], weights [G, E, C])."""
    del token_ids
    if spec.router_policy != "experts_choose":
        sys.exit(f"torch_peer.py: router policy {spec.router_policy!r}: only "
                 "experts_choose routes in the graph")
    t, e = probs.shape
    g = smx_routing.num_groups(t, spec.group_size)
    cap = smx_routing.capacity(t, g, e, capacity_factor)
    weights, indices = torch.topk(probs.view(g, t // g, e).transpose(1, 2), cap, dim=-1)
    return indices, weights


def forward(spec, p, input_ids, type_ids, capacity_factor, mlm):
    padding_mask = input_ids != 0
    return smx_torch.forward(spec, p, input_ids.long(), type_ids.long(), padding_mask,
                             capacity_factor, route=route_topk, mlm=mlm)


OUTPUTS = ("sequence_output", "mlm_logits", "pooled_output", "sentence_order_logits",
           "classifier_logits")


class Inference(torch.nn.Module):
    """The eval-mode forward as a module (the ONNX exporter wants one): parameters
    as buffers, outputs in OUTPUTS order (those the spec has)."""

    def __init__(self, spec, params):
        super().__init__()
        self.spec = spec
        self.names = list(params)
        for i, name in enumerate(self.names):
            self.register_buffer(f"p{i}", params[name])
        self.outputs = None

    def forward(self, input_ids, type_ids):
        p = {name: getattr(self, f"p{i}") for i, name in enumerate(self.names)}
        out = forward(self.spec, p, input_ids, type_ids, self.spec.capacity_factor("eval"),
                      self.spec.mlm)
        self.outputs = [name for name in OUTPUTS if name in out]
        return tuple(out[name] for name in self.outputs)


def weighted_cross_entropy(logits, labels, weights=None):
    """smx.cross_entropy: sum_i w_i * nll_i / max(sum_i w_i, 1), w_i = 0 where the
    label is IGNORE_INDEX."""
    valid = labels != IGNORE_INDEX
    w = valid.to(logits.dtype) if weights is None else weights.to(logits.dtype) * valid
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                          torch.where(valid, labels, 0).reshape(-1), reduction="none")
    return (w.reshape(-1) * nll).sum() / torch.clamp(w.sum(), min=1.0)


def pretrain_loss(spec, p, batch):
    """The pre-training objective of docs/training.md (torch_train_step.loss_terms):
    MLM on the masked slots, sentence order, spec.z_loss × each MoE layer's router
    z-loss. Returns (total, {part: value})."""
    out = forward(spec, p, batch["input_ids"], batch["type_ids"],
                  spec.capacity_factor("train"), mlm=False)
    parts = {}
    if spec.mlm:
        h = out["sequence_output"]
        rows = torch.arange(h.shape[0]).unsqueeze(1)
        logits = smx_torch.mlm_head(h[rows, batch["mlm_positions"]], p,
                                    spec.layer_norm_epsilon)
        parts["mlm_loss"] = weighted_cross_entropy(logits, batch["mlm_labels"],
                                                   batch["mlm_weights"])
    if spec.sentence_order:
        parts["sentence_order_loss"] = weighted_cross_entropy(out["sentence_order_logits"],
                                                              batch["order_labels"])
    total = sum(parts.values())
    for i in range(spec.num_layers):
        if spec.moe_layers[i]:
            logits = out[f"moe.{i}.router_logits"]
            total = total + spec.z_loss * torch.mean(torch.logsumexp(logits, dim=-1) ** 2)
    return total, parts


# --------------------------------------------------------------------------
# The peers
# --------------------------------------------------------------------------

def load(spec):
    weights = smx_safetensors.load(ARGS.weights)
    params = {}
    for name in parameter_shapes(spec):
        if name not in weights:
            sys.exit(f"torch_peer.py: {ARGS.weights}: no parameter {name}")
        params[name] = torch.from_numpy(np.ascontiguousarray(weights[name], dtype=np.float32))
    batch = {k: torch.from_numpy(np.ascontiguousarray(v))
             for k, v in smx_safetensors.load(ARGS.batch).items()}
    if "type_ids" not in batch:
        batch["type_ids"] = torch.zeros_like(batch["input_ids"])
    for key in ("input_ids", "type_ids", "mlm_positions", "mlm_labels", "order_labels"):
        if key in batch:
            batch[key] = batch[key].long()
    return params, batch


def timed_calls(call, steps):
    """The first call (compile / warm-up) and `steps` timed ones; returns
    (first call's seconds, [seconds], first call's result)."""
    start = time.perf_counter()
    first = call(0)
    first_s = time.perf_counter() - start
    times = []
    for step in range(1, steps + 1):
        start = time.perf_counter()
        call(step)
        times.append(time.perf_counter() - start)
        log(f"call {step}/{steps}: {times[-1]:.3f} s")
    return first_s, times, first


def run_infer(spec, params, batch):
    module = Inference(spec, params).eval()
    inputs = (batch["input_ids"], batch["type_ids"])
    compile_s = 0.0
    if ARGS.peer == "onnxruntime":
        import onnxruntime as ort
        path = os.path.join(ARGS.workdir or os.path.dirname(os.path.abspath(ARGS.output)),
                            f"{spec.name}.onnx")
        start = time.perf_counter()
        with torch.inference_mode():
            module(*inputs)                       # names the outputs
        torch.onnx.export(module, inputs, path, input_names=["input_ids", "type_ids"],
                          output_names=module.outputs, dynamo=True, external_data=True)
        options = ort.SessionOptions()
        options.intra_op_num_threads = ARGS.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        compile_s = time.perf_counter() - start
        feeds = {"input_ids": inputs[0].numpy(), "type_ids": inputs[1].numpy()}
        names = module.outputs

        def call(_):
            return dict(zip(names, session.run(names, feeds)))
    else:
        fn = torch.compile(module) if ARGS.peer == "torch_compile" else module

        def call(_):
            with torch.inference_mode():
                out = fn(*inputs)
            return {name: t.numpy() for name, t in zip(module.outputs, out)}

    first_s, times, out = timed_calls(call, ARGS.steps)
    if ARGS.peer == "torch_compile":
        compile_s = first_s
    smx_safetensors.save(ARGS.output, {k: np.asarray(v, dtype=np.float32)
                                       for k, v in out.items()})
    return compile_s, times, None


def run_train(spec, params, batch):
    for t in params.values():
        t.requires_grad_(True)
    decay = [t for n, t in params.items() if decays(n)]
    no_decay = [t for n, t in params.items() if not decays(n)]
    total = ARGS.steps + 1
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": WEIGHT_DECAY},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=ARGS.lr, betas=(BETA1, BETA2), eps=EPSILON, foreach=True)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_schedule(step, 1.0, ARGS.warmup, total))
    loss_fn = pretrain_loss
    if ARGS.peer == "torch_compile":
        loss_fn = torch.compile(pretrain_loss)
    report = {}

    def call(step):
        optimizer.zero_grad(set_to_none=True)
        loss, parts = loss_fn(spec, params, batch)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), ARGS.max_grad_norm)
        optimizer.step()
        schedule.step()
        if step == 0:
            report.update({"loss": float(loss), "grad_norm": float(norm)})
            report.update({k: float(v) for k, v in parts.items()})
        return report

    first_s, times, first = timed_calls(call, ARGS.steps)
    return (first_s if ARGS.peer == "torch_compile" else 0.0), times, first


def gemm_library():
    config = torch.__config__.show()
    if "Math Kernel Library" in config:
        return "MKL (torch's own) for dense products; oneDNN for some"
    return "torch's BLAS: " + config.splitlines()[0]


def main():
    torch.set_num_threads(ARGS.threads)
    torch.set_num_interop_threads(1)
    spec = load_spec(ARGS.spec)
    params, batch = load(spec)
    setup_s = time.perf_counter() - T_START
    log(f"{spec.name} {ARGS.mode}: loaded in {setup_s:.1f} s")
    run = run_infer if ARGS.mode == "infer" else run_train
    compile_s, times, first = run(spec, params, batch)
    versions = {"torch": torch.__version__}
    if ARGS.peer == "onnxruntime":
        import onnxruntime
        versions["onnxruntime"] = onnxruntime.__version__
    gemm = ("ONNX Runtime CPU provider (MLAS)" if ARGS.peer == "onnxruntime"
            else gemm_library())
    peer_protocol.report(ARGS.peer, ARGS.mode, versions, compile_s, setup_s, times, first,
                         gemm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
