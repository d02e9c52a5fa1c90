"""The JAX and IREE peers of the CPU benchmark (bench/cpu/run.py).

  jax_peer.py --peer jax|iree --mode infer|train --spec SPEC.yaml
              --weights W.safetensors --batch BATCH.safetensors --steps N
              [--threads T] [--output OUT.safetensors] [--lr 1e-4] [--warmup 1]
              [--max-grad-norm 1.0] [--workdir DIR] [--iree-compile-arg=OPTION ...]

The peer protocol (bench/README.md, as bench/cpu/torch_peer.py): run the
spec's model on the batch once to compile or warm up, then N timed times;
`infer` writes the first call's outputs to --output, `train` reports the first
step's losses; the last line of stdout is one JSON object (peer, mode,
versions, compile_s, setup_s, step_times, first, gemm); progress goes to
stderr; an error exits 1 with one line.

The model is bench/cpu/jax_model.py (the PyTorch reference smx_torch.py /
torch_train_step.py ported to JAX; test_jax_model.py checks it against them),
float32, routed in the graph (experts_choose as one top_k per group).

- infer: input_ids, type_ids [B, S] from BATCH, padding_mask = input_ids != 0,
  the eval capacity factor, the MLM head on every position (with heads.mlm)
  and every pooled head. Outputs: whichever of sequence_output, mlm_logits,
  pooled_output, sentence_order_logits, classifier_logits the spec has.
- train: 1 + N steps of jax_model.make_train_step on the same batch
  (input_ids, type_ids, padding_mask (default input_ids != 0), mlm_positions,
  mlm_labels, mlm_weights, order_labels), total = 1 + N for the learning-rate
  schedule, step 0 the warm-up one. Parameters and Adam moments are float32
  and persistent: the step takes (params, first moments, second moments,
  batch, step) as flat lists of arrays and returns the updated ones, which
  are fed back to the next step.

The two peers run the same jitted function:

- jax: jax.jit; compile_s is jit(...).lower(...).compile() (ahead of time),
  then the calls (each waited for with block_until_ready). Train donates
  parameters and moments, so XLA updates them in place like a training loop.
- iree: the same function lowered to StableHLO text (weights are function
  arguments, never constants), compiled by iree-compile for llvm-cpu on the
  host CPU (IREE_FLAGS), loaded with iree.runtime on the local-task driver
  with T workers; compile_s = lowering + iree-compile. Outputs stay IREE
  device arrays and are passed back as the next step's inputs. fourier /
  hartley mixing runs as DFT-matrix products (IREE has no complex FFT).

Threads: the CPU client of jaxlib 0.10 sizes XLA's intra-op pool (the
threads named XLAEigen, which also run the YNNPACK fusions) from the NPROC
environment variable, else from the CPUs in the affinity mask; XLA_FLAGS has
no thread count (intra_op_parallelism_threads=T there changes nothing,
measured), so NPROC=T is set before jax is imported, with
--xla_cpu_multi_thread_eigen=false for T = 1. IREE's task system gets
--task_topology_max_group_count=T (one worker per physical core in the
affinity mask, at most T). The caller also pins the process with taskset.
Compilation may use more threads (XLA's and iree-compile's own).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

T_START = time.perf_counter()

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir, "test", "reference"))
sys.path.insert(0, REFERENCE)
sys.path.insert(0, HERE)

import peer_protocol  # noqa: E402

PEERS = ("jax", "iree")
# iree-compile flags: the CPU backend and code for this machine's CPU; the
# rest iree-compile 3.13's defaults. Not data tiling (--iree-opt-data-tiling,
# off by default): it made a 256-wide model's forward about 1.5x faster on one
# thread, but fails on the benchmark models ("One or more operations with large
# vector sizes (32768 bytes) were found" on the FFN's d -> d_ff product fused
# with its activation: sparse_mixer's forward, a 256-wide train step).
# --iree-compile-arg adds options.
IREE_FLAGS = ["--iree-input-type=stablehlo",
              "--iree-hal-target-device=local",
              "--iree-hal-local-target-device-backends=llvm-cpu",
              "--iree-llvmcpu-target-cpu=host"]


def parse_args(argv=None):
    parser = peer_protocol.peer_parser(__doc__.split("\n\n")[0], PEERS)
    parser.add_argument("--iree-compile-arg", action="append", default=[],
                        help="iree: one more iree-compile option, e.g. "
                             "--iree-compile-arg=--iree-llvmcpu-enable-ukernels=all (repeatable)")
    parser.add_argument("--workdir", default=None,
                        help="scratch for the StableHLO and IREE module files (default: a "
                             "temporary directory, removed at the end)")
    return peer_protocol.check_args(parser, parser.parse_args(argv))


ARGS = parse_args()
# Before jax / jaxlib load: the size of XLA:CPU's intra-op thread pool.
os.environ["NPROC"] = str(ARGS.threads)
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen="
                           + ("true" if ARGS.threads > 1 else "false")).strip()
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import jaxlib  # noqa: E402
import numpy as np  # noqa: E402

import jax_model  # noqa: E402
import smx_safetensors  # noqa: E402
from smx_model import parameter_shapes  # noqa: E402
from smx_spec import load_spec  # noqa: E402


class PeerError(Exception):
    """A failure reported as one line and exit status 1."""


def log(message):
    print(f"{ARGS.peer}: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def load_inputs(spec):
    """(parameter names, [f32 arrays] in parameter_shapes order, batch {name: array})."""
    weights = smx_safetensors.load(ARGS.weights)
    names, values = [], []
    for name, shape in parameter_shapes(spec).items():
        if name not in weights:
            raise PeerError(f"{ARGS.weights}: no parameter {name}")
        value = np.ascontiguousarray(weights[name], dtype=np.float32)
        if value.shape != tuple(shape):
            raise PeerError(f"{ARGS.weights}: {name} has shape {value.shape}, the spec "
                            f"says {tuple(shape)}")
        names.append(name)
        values.append(value)
    batch = smx_safetensors.load(ARGS.batch)
    if "input_ids" not in batch:
        raise PeerError(f"{ARGS.batch}: no input_ids")
    ids = batch["input_ids"]
    if ids.ndim != 2:
        raise PeerError(f"{ARGS.batch}: input_ids must be [B, S], not {list(ids.shape)}")
    if spec.needs_full_length and ids.shape[1] != spec.max_length:
        raise PeerError(f"{spec.name}: non-attention mixing needs S = max_length "
                        f"{spec.max_length}, the batch has S = {ids.shape[1]}")
    batch.setdefault("type_ids", np.zeros_like(ids))
    batch.setdefault("padding_mask", ids != 0)
    # Out-of-range indices would be clamped silently by the gathers.
    check_range(batch, "input_ids", 0, spec.vocab_size)
    check_range(batch, "type_ids", 0, spec.type_vocab_size)
    if ARGS.mode == "train":
        check_range(batch, "mlm_positions", 0, ids.shape[1])
        check_range(batch, "mlm_labels", 0, spec.vocab_size, jax_model.IGNORE_INDEX)
        check_range(batch, "order_labels", 0, 2, jax_model.IGNORE_INDEX)
    for key in ("type_ids", "padding_mask"):
        if batch[key].shape != ids.shape:
            raise PeerError(f"{ARGS.batch}: {key} must have the shape of input_ids")
    return names, values, batch


def check_range(batch, key, lo, hi, ignore=None):
    """Every value of batch[key] (when present) in [lo, hi), or == ignore."""
    if key not in batch or batch[key].size == 0:
        return
    values = batch[key] if ignore is None else batch[key][batch[key] != ignore]
    if values.size and (values.min() < lo or values.max() >= hi):
        raise PeerError(f"{ARGS.batch}: {key} out of range [{lo}, {hi})")


def train_batch(spec, batch):
    """The train step's batch tensors, in a fixed order, as int32 / f32 arrays
    (padding_mask as int32: nonzero = real token)."""
    keys = ["input_ids", "type_ids", "padding_mask"]
    if spec.mlm:
        keys += ["mlm_positions", "mlm_labels", "mlm_weights"]
    if spec.sentence_order:
        keys += ["order_labels"]
    arrays = []
    for key in keys:
        if key not in batch:
            raise PeerError(f"{ARGS.batch}: no {key} (pretrain with this spec needs it)")
        dtype = np.float32 if key == "mlm_weights" else np.int32
        arrays.append(np.ascontiguousarray(batch[key], dtype=dtype))
    return keys, arrays


# --------------------------------------------------------------------------
# The functions both peers run (flat lists of arrays in, tuples out)
# --------------------------------------------------------------------------

def infer_function(spec, names, dft):
    """(fn(params, input_ids, type_ids) -> tuple of outputs, output names)."""
    outputs = [name for name in jax_model.OUTPUTS
               if name == "sequence_output"
               or (name == "mlm_logits" and spec.mlm)
               or (name == "pooled_output" and spec.needs_pooler)
               or (name == "sentence_order_logits" and spec.sentence_order)
               or (name == "classifier_logits" and spec.has_classifier)]

    def fn(params, input_ids, type_ids):
        out = jax_model.infer_outputs(spec, dict(zip(names, params)), input_ids, type_ids,
                                      dft=dft)
        return tuple(out[name] for name in outputs)

    return fn, outputs


def train_function(spec, names, batch_keys, dft, total):
    """(fn(params, first_moments, second_moments, batch, step) ->
    (params, first_moments, second_moments, scalars), scalar names)."""
    step_fn = jax_model.make_train_step(spec, ARGS.lr, ARGS.warmup, total, ARGS.max_grad_norm,
                                        "train", dft)
    scalars = ["loss"] + (["mlm_loss"] if spec.mlm else []) \
        + (["sentence_order_loss"] if spec.sentence_order else []) + ["grad_norm"]

    def fn(params, first_moments, second_moments, batch, step):
        p, m, v, out = step_fn(dict(zip(names, params)), dict(zip(names, first_moments)),
                               dict(zip(names, second_moments)), dict(zip(batch_keys, batch)),
                               step)
        return ([p[n] for n in names], [m[n] for n in names], [v[n] for n in names],
                tuple(out[k] for k in scalars))

    return fn, scalars


# --------------------------------------------------------------------------
# JAX
# --------------------------------------------------------------------------

def xla_gemm(compiled):
    """What runs the compiled module's dot products: dots inside YNNPACK / XNNPACK
    fusions, oneDNN custom calls, the rest XLA:CPU's own (Eigen) dot."""
    text = compiled.as_text()
    bodies, current = {}, None
    for line in text.splitlines():
        head = re.match(r"^(?:ENTRY )?%?([\w.\-]+) .*\{\s*$", line)
        if head:
            current = head.group(1)
            bodies[current] = []
        elif current is not None:
            bodies[current].append(line)
    library_of = {}
    for lines in bodies.values():
        for line in lines:
            kind = re.search(r'"kind":"(__\w+_fusion)"', line)
            called = re.search(r"calls=%([\w.\-]+)", line)
            if kind and called:
                library_of[called.group(1)] = {"__ynn_fusion": "YNNPACK",
                                               "__xnn_fusion": "XNNPACK"}.get(kind.group(1),
                                                                             kind.group(1))
    counts = {}
    for name, lines in bodies.items():
        dots = sum(1 for line in lines if re.search(r"\bdot\(", line))
        if dots:
            library = library_of.get(name, "Eigen")
            counts[library] = counts.get(library, 0) + dots
    onednn = len(re.findall(r'custom_call_target="__onednn\$matmul', text))
    if onednn:
        counts["oneDNN"] = onednn
    total = sum(counts.values())
    parts = ", ".join(f"{library} {n}" for library, n in
                      sorted(counts.items(), key=lambda item: -item[1]))
    return f"XLA:CPU; of its {total} dot ops: {parts}"


def run_jax(spec, names, values, batch):
    dft = "fft"
    params = [jnp.asarray(v) for v in values]
    if ARGS.mode == "infer":
        fn, outputs = infer_function(spec, names, dft)
        args = (params, jnp.asarray(batch["input_ids"], jnp.int32),
                jnp.asarray(batch["type_ids"], jnp.int32))
        start = time.perf_counter()
        compiled = jax.jit(fn, keep_unused=True).lower(*args).compile()
        compile_s = time.perf_counter() - start
        ready = time.perf_counter()

        def call(_):
            return jax.block_until_ready(compiled(*args))

        first_s, times, first = timed_calls(call, ARGS.steps)
        save_outputs(dict(zip(outputs, first)))
        return compile_s, ready, times, None, xla_gemm(compiled)

    total = ARGS.steps + 1
    keys, arrays = train_batch(spec, batch)
    fn, scalars = train_function(spec, names, keys, dft, total)
    state = [params, [jnp.zeros_like(p) for p in params], [jnp.zeros_like(p) for p in params]]
    batch_args = [jnp.asarray(a) for a in arrays]
    start = time.perf_counter()
    compiled = jax.jit(fn, donate_argnums=(0, 1, 2), keep_unused=True).lower(
        *state, batch_args, jnp.zeros((), jnp.int32)).compile()
    compile_s = time.perf_counter() - start
    ready = time.perf_counter()
    report = {}

    def call(step):
        p, m, v, out = compiled(*state, batch_args, jnp.asarray(step, jnp.int32))
        jax.block_until_ready((p, m, v, out))
        state[:] = [p, m, v]
        if step == 0:
            report.update({k: float(x) for k, x in zip(scalars, out)})
        return report

    _, times, first = timed_calls(call, ARGS.steps)
    return compile_s, ready, times, first, xla_gemm(compiled)


# --------------------------------------------------------------------------
# IREE
# --------------------------------------------------------------------------

def iree_compile_tool():
    """iree-compile next to this Python (the venv's), else on PATH."""
    tool = os.path.join(os.path.dirname(sys.executable), "iree-compile")
    if os.access(tool, os.X_OK):
        return tool
    tool = shutil.which("iree-compile")
    if tool is None:
        raise PeerError("iree-compile not found (pip install iree-base-compiler)")
    return tool


def iree_build(lowered, workdir, stem):
    """StableHLO text of `lowered` -> DIR/STEM.mlir -> iree-compile -> DIR/STEM.vmfb."""
    mlir = os.path.join(workdir, stem + ".mlir")
    vmfb = os.path.join(workdir, stem + ".vmfb")
    with open(mlir, "w", encoding="utf-8") as f:
        f.write(lowered.as_text(debug_info=False))
    cmd = [iree_compile_tool(), mlir, "-o", vmfb] + iree_flags()
    log(" ".join(cmd))
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        errors = [line for line in lines if "error:" in line] or lines[-1:] or ["(no message)"]
        raise PeerError(f"iree-compile failed (exit {result.returncode}): {errors[0][:300]}")
    return vmfb


def iree_flags():
    """The iree-compile options of this run (after the input and output files)."""
    return IREE_FLAGS + ARGS.iree_compile_arg


def iree_gemm():
    flags = " ".join(ARGS.iree_compile_arg)
    return "IREE llvm-cpu codegen (its own generated kernels, no library" \
        + (f"; {flags})" if flags else ")")


def iree_load(vmfb):
    """(main function, device) of the compiled module on local-task with T workers."""
    import iree.runtime as rt
    rt.flags.parse_flags(f"--task_topology_max_group_count={ARGS.threads}")
    config = rt.Config("local-task")
    context = rt.SystemContext(config=config)
    module = rt.VmModule.mmap(config.vm_instance, vmfb)
    context.add_vm_module(module)
    return context.modules[module.name]["main"], config.device


def run_iree(spec, names, values, batch):
    import iree.runtime as rt
    dft = "matmul"
    workdir = ARGS.workdir or tempfile.mkdtemp(prefix="smx-iree-")
    os.makedirs(workdir, exist_ok=True)
    try:
        if ARGS.mode == "infer":
            fn, outputs = infer_function(spec, names, dft)
            ids = np.ascontiguousarray(batch["input_ids"], dtype=np.int32)
            types = np.ascontiguousarray(batch["type_ids"], dtype=np.int32)
            start = time.perf_counter()
            lowered = jax.jit(fn, keep_unused=True).lower(values, ids, types)
            vmfb = iree_build(lowered, workdir, f"{spec.name}_infer")
            compile_s = time.perf_counter() - start
            main, device = iree_load(vmfb)
            args = [rt.asdevicearray(device, a) for a in values + [ids, types]]
            ready = time.perf_counter()

            def call(_):
                result = main(*args)
                result = result if isinstance(result, tuple) else (result,)
                # The call returns when it is done (the module waits on its own
                # fences); reading the smallest output back makes sure of it.
                min(result, key=lambda a: int(np.prod(a.shape))).to_host()
                return result

            _, times, first = timed_calls(call, ARGS.steps)
            save_outputs({name: a.to_host() for name, a in zip(outputs, first)})
            return compile_s, ready, times, None, iree_gemm()

        total = ARGS.steps + 1
        keys, arrays = train_batch(spec, batch)
        fn, scalars = train_function(spec, names, keys, dft, total)
        zeros = [np.zeros_like(v) for v in values]
        start = time.perf_counter()
        lowered = jax.jit(fn, keep_unused=True).lower(values, zeros, zeros, arrays,
                                                      np.zeros((), np.int32))
        vmfb = iree_build(lowered, workdir, f"{spec.name}_train")
        compile_s = time.perf_counter() - start
        main, device = iree_load(vmfb)
        n = len(values)
        state = [rt.asdevicearray(device, a) for a in values + zeros + zeros]
        batch_args = [rt.asdevicearray(device, a) for a in arrays]
        ready = time.perf_counter()
        report = {}

        def call(step):
            result = main(*state, *batch_args, np.asarray(step, dtype=np.int32))
            state[:] = result[:3 * n]
            out = [float(x.to_host()) for x in result[3 * n:]]      # waits for the call
            if step == 0:
                report.update(zip(scalars, out))
            return report

        _, times, first = timed_calls(call, ARGS.steps)
        return compile_s, ready, times, first, iree_gemm()
    finally:
        if not ARGS.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def timed_calls(call, steps):
    """The first call (warm-up) and `steps` timed ones; returns (first call's
    seconds, [seconds], first call's result)."""
    start = time.perf_counter()
    first = call(0)
    first_s = time.perf_counter() - start
    log(f"call 0 (warm-up): {first_s:.3f} s")
    times = []
    for step in range(1, steps + 1):
        start = time.perf_counter()
        call(step)
        times.append(time.perf_counter() - start)
        log(f"call {step}/{steps}: {times[-1]:.3f} s")
    return first_s, times, first


def save_outputs(outputs):
    smx_safetensors.save(ARGS.output, {k: np.asarray(v, dtype=np.float32)
                                       for k, v in outputs.items()})


def versions():
    result = {"jax": jax.__version__, "jaxlib": jaxlib.__version__}
    if ARGS.peer == "iree":
        import iree.compiler.version
        import iree.runtime.version
        result["iree"] = iree.compiler.version.VERSION
        if iree.runtime.version.VERSION != result["iree"]:
            result["iree_runtime"] = iree.runtime.version.VERSION
    return result


def main():
    try:
        spec = load_spec(ARGS.spec)
    except (AssertionError, OSError, ValueError) as error:
        raise PeerError(f"{ARGS.spec}: {error}")
    jax_model.check_spec(spec)
    names, values, batch = load_inputs(spec)
    log(f"{spec.name} {ARGS.mode}: loaded in {time.perf_counter() - T_START:.1f} s, "
        f"batch {list(batch['input_ids'].shape)}, {ARGS.threads} thread(s)")
    run = run_jax if ARGS.peer == "jax" else run_iree
    compile_s, ready, times, first, gemm = run(spec, names, values, batch)
    log(f"compile {compile_s:.2f} s")
    peer_protocol.report(ARGS.peer, ARGS.mode, versions(), compile_s,
                         ready - T_START - compile_s, times, first, gemm)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (PeerError, NotImplementedError, ValueError) as error:
        print(f"jax_peer.py: {error}", file=sys.stderr)
        sys.exit(1)
