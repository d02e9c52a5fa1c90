#!/usr/bin/env python3
"""Writes random token ids for a compiled model's `predict` / `eval`:
input_ids [rows, seq] (padded tails with id 0) and type_ids, as safetensors.

Usage: random_inputs.py OUT.safetensors --rows N --seq S --vocab V [--seed K]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir, "test", "reference"))
import numpy as np  # noqa: E402
import smx_safetensors  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seq", type=int, required=True)
    parser.add_argument("--vocab", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    ids = rng.integers(1, args.vocab, size=(args.rows, args.seq), dtype=np.int32)
    for row in range(args.rows):
        ids[row, int(rng.integers(args.seq // 2, args.seq + 1)):] = 0
    types = np.zeros_like(ids)
    smx_safetensors.save(args.output, {"input_ids": ids, "type_ids": types})


if __name__ == "__main__":
    main()
