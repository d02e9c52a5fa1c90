#!/usr/bin/python3
"""PyTorch side of the CPU training benchmark: N train steps of a model in eager
PyTorch, timed per step.

The model, objective, gradients and AdamW are the independent PyTorch reference
of an smx train step (test/reference/torch_train_step.py), run through its
`Trainer`: parameters as persistent float32 leaf tensors, torch autograd, global
norm clipping and the reference's AdamW formula applied in place. Every step
reuses one batch (a file written by `MODEL train --dump-batch`), so the work per
step has the shape of smx's steps. Step k (0-based) is timed with
time.perf_counter() around forward + loss + backward + clipping + update.

  torch_train.py --spec S --weights W --batch B.safetensors --steps N
                 [--task pretrain] [--lr 1e-4] [--warmup 1] [--max-grad-norm 1]
                 [--threads 2] [--dtype float32]

Prints one JSON object on its last line: load_s (import to the first step),
step_times [N], losses [N], first (the first step's loss terms and grad_norm),
threads, untrained (parameters off the loss path).
"""

import argparse
import json
import os
import sys
import time

START = time.perf_counter()
HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, os.pardir, os.pardir, "test", "reference")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--batch", required=True)
    parser.add_argument("--steps", type=int, required=True,
                        help="steps to run (warm-up included: the caller skips them)")
    parser.add_argument("--task", default="pretrain", choices=("pretrain", "finetune"))
    parser.add_argument("--lr", type=float, default=1e-4, help="peak learning rate")
    parser.add_argument("--warmup", type=int, default=1, help="learning-rate warmup steps")
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    sys.path.insert(0, REFERENCE)
    import torch
    import smx_safetensors
    import torch_train_step as ts
    from smx_spec import load_spec

    torch.set_num_threads(args.threads)
    spec = load_spec(args.spec)
    weights = smx_safetensors.load(args.weights)
    batch = smx_safetensors.load(args.batch)
    trainer = ts.Trainer(spec, weights, args.task, args.lr, args.warmup, args.steps,
                         args.max_grad_norm, dtype=ts.DTYPES[args.dtype])
    del weights
    load_s = time.perf_counter() - START
    times, losses, first = [], [], None
    for step in range(args.steps):
        start = time.perf_counter()
        result = trainer.step(batch, step)
        times.append(time.perf_counter() - start)
        losses.append(result["loss"])
        if first is None:
            first = result
        print(f"torch step {step + 1}/{args.steps}: loss {result['loss']:.6f}, "
              f"{times[-1]:.3f} s", file=sys.stderr, flush=True)
    print(json.dumps({"load_s": load_s, "step_times": times, "losses": losses,
                      "first": first, "threads": torch.get_num_threads(),
                      "untrained": trainer.untrained, "torch": torch.__version__}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
