"""The command line every peer of bench/cpu takes (the peer protocol of
bench/README.md), shared by torch_peer.py and jax_peer.py:

  PEER.py --peer NAME --mode infer|train --spec S --weights W --batch BATCH
          --steps N [--threads T] [--output OUT] [--lr X] [--warmup N]
          [--max-grad-norm C] [--workdir D]

and how a peer ends: one JSON object on the last line of stdout."""

import argparse
import json


def peer_parser(description, peers):
    """The protocol's options; a peer adds its own before `check_args`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--peer", required=True, choices=peers)
    parser.add_argument("--mode", required=True, choices=("infer", "train"))
    parser.add_argument("--spec", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--batch", required=True)
    parser.add_argument("--steps", type=int, required=True, help="timed calls after the first")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", help="infer: where the first call's outputs go")
    parser.add_argument("--lr", type=float, default=1e-4, help="peak learning rate")
    parser.add_argument("--warmup", type=int, default=1, help="learning-rate warm-up steps")
    parser.add_argument("--max-grad-norm", type=float, default=1.0)
    return parser


def check_args(parser, args):
    """The checks every peer makes of its arguments."""
    if args.mode == "infer" and not args.output:
        parser.error("infer needs --output")
    if args.steps < 0 or args.threads < 1:
        parser.error("--steps must be >= 0 and --threads >= 1")
    return args


def report(peer, mode, versions, compile_s, setup_s, step_times, first, gemm):
    """The protocol's last line of stdout."""
    print(json.dumps({"peer": peer, "mode": mode, "versions": versions,
                      "compile_s": compile_s, "setup_s": setup_s,
                      "step_times": step_times, "first": first, "gemm": gemm}))
