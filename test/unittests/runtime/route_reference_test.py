#!/usr/bin/env python3
"""Compares smxrt_cpu_route (and smxrt_cpu_route_capped_lp, policy "capped_lp"
here) with the NumPy reference, decision for decision.

Generates random routing cases (many with tied probabilities, which is where
implementations differ), runs them through smx-route-cases (the C kernel),
and checks that every slot's token index and weight equal those of
test/reference/smx_routing.py exactly.

Usage: route_reference_test.py SMX_ROUTE_CASES_BINARY
"""

import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "reference"))
import smx_routing  # noqa: E402
import smx_safetensors  # noqa: E402

POLICIES = ["experts_choose", "tokens_choose", "capped_experts_choose", "hash",
            "capped_lp"]
# capped_experts_choose's `lp` method: its own kernel, with these parameters.
LP_POLICY = POLICIES.index("capped_lp")
LP_ITERATIONS, LP_ENTROPY = 30, 0.02


def random_probs(rng, tokens, experts, kind):
    if kind == "quantized":  # few distinct values: ties everywhere
        return (rng.integers(0, 4, size=(tokens, experts)) / 4.0).astype(np.float32)
    if kind == "constant":
        return np.full((tokens, experts), 1.0 / experts, dtype=np.float32)
    logits = rng.normal(size=(tokens, experts)) * 2.0
    return smx_routing.softmax(logits).astype(np.float32)


def make_cases(rng):
    cases = []
    for tokens in (1, 5, 16, 37):
        for experts in (1, 3, 8):
            for groups in (1, 3):
                for kind in ("quantized", "constant", "softmax"):
                    for policy in range(len(POLICIES)):
                        k = int(rng.integers(1, experts + 1))
                        capacity = int(rng.integers(1, tokens + 2))
                        cases.append(dict(
                            policy=policy, k=k,
                            batch_prioritized=int(rng.integers(0, 2)),
                            groups=groups, tokens=tokens, experts=experts,
                            capacity=capacity,
                            probs=random_probs(rng, groups * tokens, experts,
                                               kind),
                            token_ids=rng.integers(0, 1000, size=groups * tokens)
                            .astype(np.int32)))
    return cases


def reference(case):
    tokens = case["tokens"]
    indices, weights = [], []
    for g in range(case["groups"]):
        rows = slice(g * tokens, (g + 1) * tokens)
        lp = case["policy"] == LP_POLICY
        i, w = smx_routing.route_group(
            case["probs"][rows],
            "capped_experts_choose" if lp else POLICIES[case["policy"]],
            case["capacity"], k=case["k"],
            batch_prioritized=bool(case["batch_prioritized"]),
            token_ids=case["token_ids"][rows], method="lp" if lp else "greedy",
            iterations=LP_ITERATIONS, entropy=LP_ENTROPY)
        indices.append(i)
        weights.append(w)
    return np.stack(indices), np.stack(weights)


def main():
    binary = sys.argv[1]
    cases = make_cases(np.random.default_rng(20240601))
    with tempfile.TemporaryDirectory() as scratch:
        inputs = {}
        for number, case in enumerate(cases):
            name = f"case{number:04d}"
            inputs[name + ".config"] = np.array(
                [case["policy"], case["k"], case["batch_prioritized"],
                 case["groups"], case["tokens"], case["experts"],
                 case["capacity"]], dtype=np.int64)
            inputs[name + ".probs"] = case["probs"]
            inputs[name + ".token_ids"] = case["token_ids"]
            if case["policy"] == LP_POLICY:
                inputs[name + ".lp"] = np.array([LP_ITERATIONS, LP_ENTROPY])
        in_path = os.path.join(scratch, "cases.safetensors")
        out_path = os.path.join(scratch, "routed.safetensors")
        smx_safetensors.save(in_path, inputs)
        subprocess.run([binary, in_path, out_path], check=True)
        routed = smx_safetensors.load(out_path)

    failures = 0
    for number, case in enumerate(cases):
        name = f"case{number:04d}"
        want_indices, want_weights = reference(case)
        got_indices = routed[name + ".dispatch_indices"]
        got_weights = routed[name + ".combine_weights"]
        # Weights are copies of f32 probabilities: equal bit for bit.
        if not (np.array_equal(got_indices, want_indices)
                and np.array_equal(got_weights.astype(np.float64), want_weights)):
            failures += 1
            config = {key: case[key] for key in
                      ("policy", "k", "batch_prioritized", "groups", "tokens",
                       "experts", "capacity")}
            print(f"{name} {POLICIES[case['policy']]} {config}:\n"
                  f"  expected {want_indices.tolist()}\n"
                  f"  got      {got_indices.tolist()}")
    print(f"{len(cases) - failures} of {len(cases)} cases match the reference")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
