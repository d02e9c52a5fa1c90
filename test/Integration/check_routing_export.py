#!/usr/bin/env python3
"""Checks `analyze --routing --export` against itself in its two formats.

The safetensors export holds what the model returned (input_ids [N, S] and,
per MoE layer, dispatch_indices and combine_weights [chunks, G, E, C]); the
JSON-lines export holds what `analyze` made of it, token by token. This
script maps the slots back to tokens on its own (slot (g, e, c) of chunk k
holds token t of group g: row k·B + (g·T/G + t) div S, position
(g·T/G + t) mod S) and checks that every token that is not padding has the
same experts, with the same weights in decreasing order, and that padding
tokens are absent.

Usage: check_routing_export.py EXPORT.safetensors EXPORT.jsonl
"""

import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "reference"))
import smx_safetensors  # noqa: E402


def metadata(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(size)).get("__metadata__", {})


def main():
    tensors = smx_safetensors.load(sys.argv[1])
    meta = metadata(sys.argv[1])
    batch, sequence = int(meta["batch"]), int(meta["sequence"])
    ids = tensors["input_ids"]
    rows = ids.shape[0]
    layers = sorted({name.split(".")[1] for name in tensors if name.startswith("moe.")},
                    key=int)
    expected = {}
    for layer in layers:
        indices = tensors[f"moe.{layer}.dispatch_indices"]
        weights = tensors[f"moe.{layer}.combine_weights"]
        chunks, groups, experts, capacity = indices.shape
        per_group = batch * sequence // groups
        taken = {}
        for k, g, e, c in np.argwhere(indices >= 0):
            flat = g * per_group + int(indices[k, g, e, c])
            row, position = k * batch + flat // sequence, flat % sequence
            if row < rows:
                taken.setdefault((row, position), []).append(
                    (int(e), float(weights[k, g, e, c])))
        expected[layer] = taken
    seen = 0
    with open(sys.argv[2]) as f:
        for number, line in enumerate(f, 1):
            token = json.loads(line)
            row, position = token["row"], token["position"]
            assert token["id"] == ids[row, position] != 0, f"line {number}: id"
            for layer in layers:
                want = sorted(expected[layer].get((row, position), []),
                              key=lambda choice: (-choice[1], choice[0]))
                got = [(e, w) for e, w in token["experts"][layer]]
                assert [e for e, _ in got] == [e for e, _ in want], \
                    f"line {number}, layer {layer}: experts {got} != {want}"
                assert np.allclose([w for _, w in got], [w for _, w in want],
                                   rtol=1e-6), f"line {number}, layer {layer}: weights"
            seen += 1
    assert seen == int((ids != 0).sum()), f"{seen} tokens, {(ids != 0).sum()} not padding"
    print(f"{seen} tokens in {len(layers)} layers agree")


if __name__ == "__main__":
    main()
