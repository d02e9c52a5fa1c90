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

The model, its loss and the optimizer are bench/cpu/torch_model.py's: the
PyTorch reference's model (test/reference/smx_torch.py, which that
directory's tests check against the NumPy reference), float32, routed in the
graph (experts_choose as one torch.topk per group) so that torch.compile and
the ONNX exporter see one graph. Training is what a PyTorch user writes: the
pre-training loss, `loss.backward()`, `clip_grad_norm_`, `torch.optim.AdamW`
(foreach) with the smx schedule (linear warm-up, linear decay) and weight
decay on the normal-initialized parameters only, which is smx.adamw_update's
formula (torch_train_step.adamw_update). Inference runs under
`torch.inference_mode()`; ONNX Runtime runs the model exported by
`torch.onnx.export` with every graph optimization on. torch.compile compiles
the model (inference) or the loss (training; AOTAutograd compiles its
backward).
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
# Before torch is imported (here and by torch_model), which reads them.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import smx_safetensors  # noqa: E402
from smx_spec import load_spec  # noqa: E402
from torch_model import Inference, load, make_adamw, pretrain_loss  # noqa: E402


def log(message):
    print(f"{ARGS.peer}: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# The peers
# --------------------------------------------------------------------------

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
    optimizer, schedule = make_adamw(params, ARGS.lr, ARGS.warmup, ARGS.steps + 1,
                                     foreach=True)
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
    params, batch = load(spec, ARGS.weights, ARGS.batch)
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
