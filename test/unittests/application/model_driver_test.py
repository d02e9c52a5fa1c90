#!/usr/bin/env python3
"""End-to-end tests of the model executable driver (smxrt_model_main).

Runs smx-fake-model (fake_model.c linked like a compiled model) and checks
exit statuses, messages and the files it writes against NumPy, including the
documented parameter initialization generator (docs/runtime.md), which is
reimplemented here from its description.

Usage: model_driver_test.py --list
       model_driver_test.py MODEL MODEL_WITH_ABI_99 CASE
"""

import math
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "reference"))
import smx_safetensors  # noqa: E402

BATCH, SEQUENCE, EXPERTS, CAPACITY = 4, 3, 4, 2
PARAMETERS = {"head.weight": (2, 5), "head.bias": (2,), "head.scale": (2,)}


class CheckFailure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailure(message)


# --- The documented initialization generator ---------------------------------

MASK = (1 << 64) - 1


def fnv1a64(text):
    value = 0xcbf29ce484222325
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * 0x100000001b3) & MASK
    return value


def normal_init(seed, name, count, standard_deviation=0.02):
    state = seed ^ fnv1a64(name)

    def uniform():
        nonlocal state
        state = (state + 0x9e3779b97f4a7c15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & MASK
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & MASK
        z ^= z >> 31
        return ((z >> 11) + 1) * 2.0 ** -53

    values = []
    for _ in range(count):
        radius = math.sqrt(-2.0 * math.log(uniform()))
        values.append(standard_deviation * radius * math.cos(2.0 * math.pi * uniform()))
    return np.array(values, dtype=np.float32)


def initial_parameters(seed):
    return {"head.weight": normal_init(seed, "head.weight", 10).reshape(2, 5),
            "head.bias": np.zeros(2, np.float32),
            "head.scale": np.ones(2, np.float32)}


# --- What fake_model.c computes, chunk by chunk ------------------------------

def expected_results(input_ids, type_ids, params, step):
    rows = input_ids.shape[0]
    chunks = -(-rows // BATCH)
    padded = chunks * BATCH
    ids = np.zeros((padded, SEQUENCE), np.int64)
    types = np.zeros((padded, SEQUENCE), np.int64)
    ids[:rows], types[:rows] = input_ids, type_ids
    row_sum = ids.sum(axis=1) + 10 * types.sum(axis=1)
    features = ids[:, [f % SEQUENCE for f in range(5)]].astype(np.float64)
    logits = (row_sum[:, None] * params["head.scale"] + params["head.bias"]
              + features @ params["head.weight"].astype(np.float64).T + step)
    tokens_per_expert = np.zeros((chunks, EXPERTS), np.int64)
    for chunk in range(chunks):
        experts = ids[chunk * BATCH:(chunk + 1) * BATCH].reshape(-1) % EXPERTS
        tokens_per_expert[chunk] = np.minimum(
            np.bincount(experts, minlength=EXPERTS), CAPACITY)
    dropped = (BATCH * SEQUENCE - tokens_per_expert.sum(axis=1)) / (BATCH * SEQUENCE)
    return {"classifier_logits": logits[:rows],
            "moe.1.tokens_per_expert": tokens_per_expert,
            "moe.1.dropped_fraction": dropped}


# --- Running the model ---------------------------------------------------------

class Context:
    def __init__(self, model, bad_abi_model, scratch):
        self.model, self.bad_abi_model, self.scratch = model, bad_abi_model, scratch
        self.rng = np.random.default_rng(7)

    def path(self, name):
        return os.path.join(self.scratch, name)

    def save(self, name, tensors):
        smx_safetensors.save(self.path(name), tensors)
        return self.path(name)

    def ids(self, rows, sequence=SEQUENCE, high=50):
        return self.rng.integers(0, high, size=(rows, sequence)).astype(np.int32)

    def random_parameters(self):
        return {name: self.rng.normal(size=shape).astype(np.float32)
                for name, shape in PARAMETERS.items()}

    def run(self, *arguments, binary=None):
        return subprocess.run([binary or self.model, *arguments],
                              capture_output=True, text=True, timeout=120)

    def run_ok(self, *arguments):
        result = self.run(*arguments)
        expect(result.returncode == 0 and result.stderr == "",
               f"{arguments}: exit {result.returncode}, stderr {result.stderr!r}")
        return result.stdout

    def run_error(self, pattern, *arguments, binary=None):
        """Expects exit status 1 and exactly one line '<program>: error: ...'."""
        result = self.run(*arguments, binary=binary)
        program = os.path.basename(binary or self.model)
        lines = result.stderr.splitlines()
        expect(result.returncode == 1,
               f"{arguments}: exit {result.returncode}, expected 1; "
               f"stderr {result.stderr!r}")
        expect(len(lines) == 1 and lines[0].startswith(program + ": error: "),
               f"{arguments}: stderr is not one error line: {result.stderr!r}")
        expect(re.search(pattern, lines[0]),
               f"{arguments}: {lines[0]!r} does not match {pattern!r}")
        expect(result.stdout == "", f"{arguments}: stdout {result.stdout!r}")


def check_results(path, expected, rows, chunks):
    tensors, metadata = smx_safetensors.load(path, with_metadata=True)
    expect(sorted(tensors) == sorted(expected),
           f"results {sorted(tensors)}, expected {sorted(expected)}")
    for name, want in expected.items():
        got = tensors[name]
        expect(got.shape == want.shape, f"{name}: shape {got.shape}, expected {want.shape}")
        expect(np.allclose(got, want, rtol=1e-5, atol=1e-5),
               f"{name}: got {got.tolist()}, expected {want.tolist()}")
    expect(tensors["moe.1.tokens_per_expert"].dtype == np.int32, "tokens_per_expert dtype")
    expect(metadata.get("rows") == str(rows) and metadata.get("chunks") == str(chunks),
           f"metadata {metadata}")


# --- Cases -----------------------------------------------------------------------

def case_help(context):
    out = context.run_ok("--help")
    expect("usage: " + os.path.basename(context.model) + " <command>" in out, out)
    expect("predict --input IN --output OUT" in out, out)


def case_info(context):
    out = context.run_ok("info")
    for line in ("model: fake", "batch x sequence: 4 x 3",
                 "parameters: 14 elements in 3 tensors"):
        expect(line + "\n" in out, f"no {line!r} in:\n{out}")
    expect(re.search(r"head\.weight\s+\[2, 5\]\s+F32\s+normal", out), out)
    expect(re.search(r"head\.bias\s+\[2\]\s+F32\s+zeros", out), out)
    expect(re.search(r"head\.scale\s+\[2\]\s+F32\s+ones", out), out)
    expect(re.search(r"layer\s+experts\s+policy\s+capacity factor\s+groups\s+"
                     r"tokens per group\s+capacity", out), out)
    expect(re.search(r"\n\s+1\s+4\s+hash\s+0\.5\s+1\s+12\s+2\n", out), out)


def case_info_brief(context):
    out = context.run_ok("info", "--brief")
    expect("parameters: 14 elements in 3 tensors" in out and "head.weight" not in out, out)


def case_predict_weights(context):
    # 6 rows: two chunks, the second padded with 2 rows of id 0.
    ids, types = context.ids(6), context.ids(6, high=2)
    params = context.random_parameters()
    weights = dict(params, unused=np.zeros(3, np.float32))  # extras are ignored
    in_path = context.save("in.safetensors", {"input_ids": ids, "type_ids": types})
    w_path = context.save("weights.safetensors", weights)
    out_path = context.path("out.safetensors")
    out = context.run_ok("predict", "--input", in_path, "--output", out_path,
                         "--weights", w_path, "--step=3")
    expect(f"wrote {out_path}: 3 results for 6 rows (2 chunks of 4)" in out, out)
    check_results(out_path, expected_results(ids, types, params, 3), rows=6, chunks=2)


def case_predict_init(context):
    # Exactly one chunk, no type_ids (zeros), parameters from --seed.
    ids = context.ids(4)
    in_path = context.save("in.safetensors", {"input_ids": ids})
    zeros = np.zeros_like(ids)
    for seed in (0, 7, 2**64 - 1):
        out_path = context.path(f"out{seed}.safetensors")
        arguments = ["predict", "--input", in_path, "--output", out_path]
        if seed:
            arguments += ["--seed", str(seed)]
        context.run_ok(*arguments)
        check_results(out_path, expected_results(ids, zeros, initial_parameters(seed), 0),
                      rows=4, chunks=1)


def case_predict_many_chunks(context):
    # 9 rows = 2 full chunks + 1 row; a single row too.
    params = context.random_parameters()
    w_path = context.save("weights.safetensors", params)
    for rows in (9, 1):
        ids = context.ids(rows)
        in_path = context.save(f"in{rows}.safetensors", {"input_ids": ids})
        out_path = context.path(f"out{rows}.safetensors")
        context.run_ok("predict", f"--input={in_path}", f"--output={out_path}",
                       "--weights", w_path)
        chunks = -(-rows // BATCH)
        check_results(out_path, expected_results(ids, np.zeros_like(ids), params, 0),
                      rows=rows, chunks=chunks)


def case_eval(context):
    ids = context.ids(6)
    params = context.random_parameters()
    expected = expected_results(ids, np.zeros_like(ids), params, 0)
    predicted = np.argmax(expected["classifier_logits"], axis=1)
    labels = predicted.copy()
    labels[4:] = 1 - labels[4:]  # two wrong: accuracy 4/6
    in_path = context.save("in.safetensors", {"input_ids": ids,
                                              "labels": labels.astype(np.int32)})
    w_path = context.save("weights.safetensors", params)
    out = context.run_ok("eval", "--input", in_path, "--weights", w_path)
    counts = " ".join(str(c) for c in expected["moe.1.tokens_per_expert"].sum(axis=0))
    dropped = expected["moe.1.dropped_fraction"].mean()
    for line in ("rows: 6 in 2 chunks of 4 (2 padding rows)",
                 f"moe.1.tokens_per_expert: {counts} (summed over 2 chunks)",
                 f"moe.1.dropped_fraction: {dropped:.6f} (mean over 2 chunks)",
                 "accuracy: 0.666667 (4 of 6 rows)"):
        expect(line + "\n" in out, f"no {line!r} in:\n{out}")


def case_eval_without_labels(context):
    in_path = context.save("in.safetensors", {"input_ids": context.ids(3)})
    out = context.run_ok("eval", "--input", in_path, "--seed", "5")
    expect("moe.1.tokens_per_expert: " in out and "accuracy" not in out, out)


def case_error_missing_input(context):
    context.run_error(r"'predict' needs --input$", "predict", "--output",
                      context.path("out.safetensors"))


def case_error_wrong_sequence(context):
    in_path = context.save("in.safetensors", {"input_ids": context.ids(2, sequence=5)})
    context.run_error(re.escape(f"{in_path}: tensor 'input_ids' is I32 [2, 5], "
                                "but the model takes I32 [N, 3] (compiled batch 4, "
                                "sequence 3)"),
                      "predict", "--input", in_path, "--output",
                      context.path("out.safetensors"))


def case_error_missing_weight(context):
    in_path = context.save("in.safetensors", {"input_ids": context.ids(2)})
    params = context.random_parameters()
    del params["head.scale"]
    w_path = context.save("weights.safetensors", params)
    context.run_error(re.escape(f"{w_path}: no tensor 'head.scale' for the model's "
                                "parameter 'head.scale' (F32 [2])"),
                      "eval", "--input", in_path, "--weights", w_path)


def case_error_misshaped_weight(context):
    in_path = context.save("in.safetensors", {"input_ids": context.ids(2)})
    params = context.random_parameters()
    params["head.bias"] = np.zeros(3, np.float32)
    w_path = context.save("weights.safetensors", params)
    out_path = context.path("out.safetensors")
    context.run_error(re.escape(f"{w_path}: tensor 'head.bias' is F32 [3], but the "
                                "model's parameter is F32 [2]"),
                      "predict", "--input", in_path, "--output", out_path,
                      "--weights", w_path)
    expect(not os.path.exists(out_path), "an output file was written")


def case_error_unknown_command(context):
    context.run_error(r"unknown command 'fit' \(expected info, predict, eval, train, "
                      r"finetune, profile or analyze\)", "fit")


def case_error_no_command(context):
    context.run_error(r"no command given", binary=None)


def case_error_bad_abi_version(context):
    context.run_error(r"the model was compiled for ABI version 99, but this runtime "
                      r"implements ABI version 2", "info",
                      binary=context.bad_abi_model)


def case_error_bad_options(context):
    context.run_error(r"--output is not an option of 'eval'", "eval", "--output", "x")
    context.run_error(r"unknown option '--bogus'", "info", "--bogus")
    context.run_error(r"--seed: '-1' is not an unsigned 64-bit integer",
                      "eval", "--input", "x", "--seed", "-1")
    context.run_error(r"--input is given twice", "eval", "--input", "x", "--input", "y")
    context.run_error(r"--input needs a value", "eval", "--input")


def case_error_bad_input_files(context):
    missing = context.path("missing.safetensors")
    context.run_error(re.escape(missing), "eval", "--input", missing)
    garbage = context.path("garbage.safetensors")
    with open(garbage, "wb") as file:
        file.write(b"\x05")
    context.run_error(re.escape(garbage) + r": .*too short", "eval", "--input", garbage)
    negative = context.ids(2)
    negative[1, 2] = -4
    in_path = context.save("negative.safetensors", {"input_ids": negative})
    context.run_error(re.escape(f"{in_path}: input_ids[1, 2] = -4 is negative"),
                      "eval", "--input", in_path)
    rows = context.save("rows.safetensors", {"input_ids": context.ids(3),
                                             "type_ids": context.ids(2)})
    context.run_error(r"tensor 'type_ids' has 2 rows, but 'input_ids' has 3",
                      "eval", "--input", rows)
    labels = context.save("labels.safetensors", {"input_ids": context.ids(3),
                                                 "labels": np.array([0, 1, 2], np.int32)})
    context.run_error(r"labels\[2\] = 2 is outside \[0, 2\)", "eval", "--input", labels)
    no_dir = os.path.join(context.path("no_such_dir"), "out.safetensors")
    context.run_error(re.escape(no_dir), "predict", "--input", labels,
                      "--output", no_dir)


CASES = {name[len("case_"):]: function for name, function in globals().items()
         if name.startswith("case_")}


def main():
    if sys.argv[1:] == ["--list"]:
        print(";".join(CASES))
        return 0
    model, bad_abi_model, case = sys.argv[1:]
    with tempfile.TemporaryDirectory() as scratch:
        try:
            CASES[case](Context(model, bad_abi_model, scratch))
        except CheckFailure as failure:
            print(f"FAILED: {failure}")
            return 1
    print("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
