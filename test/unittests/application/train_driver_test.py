#!/usr/bin/env python3
"""End-to-end tests of the training commands of the model executable.

Runs the fake training objects of fake_train_model.c (linked like compiled
models) through `train`, `finetune` and `eval`, and checks what they print
and write: losses that fall, the metrics file, checkpoints (layout, resume
bit for bit, keep-K, corrupt ones refused untouched), NaN stops, freezing
and the evaluation reports. The corpora and tasks are generated here, small
enough that every case runs in well under a second or two.

Usage: train_driver_test.py --list
       train_driver_test.py BIN_DIR CASE
BIN_DIR holds smx-fake-pretrain-model, smx-fake-finetune-model,
smx-fake-finetune-nologits-model, smx-fake-regression-model and
smx-fake-model.
"""

import fcntl
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "reference"))
import smx_safetensors  # noqa: E402

PRETRAIN_PARAMETERS = ["embeddings.word", "layers.0.mixing.query.weight",
                       "layers.1.moe.router.weight",
                       "layers.1.moe.experts.input.weight",
                       "heads.mlm.output_bias", "heads.sentence_order.weight",
                       "heads.sentence_order.bias"]
FINETUNE_PARAMETERS = PRETRAIN_PARAMETERS[:4] + ["heads.classifier.weight",
                                                 "heads.classifier.bias"]


class CheckFailure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailure(message)


# --- Data ------------------------------------------------------------------------

WORDS = ("the river runs past old mill under stone bridge children play summer "
         "skate winter miller grinds wheat into flour baker turns bread morning "
         "bakery smells warm fresh rolls train leaves station seven returns nine "
         "evening master knows every passenger name library books stand long rows "
         "sorted writers").split()
FILLER = "the a of and to in is was it for on with as by at from that this".split()
KEYS = [["apple", "orchard", "cider"], ["river", "boat", "bridge"],
        ["train", "station", "ticket"]]


def write_corpus(path, quotes=240, seed=1):
    """A fortune file of `quotes` random sentences."""
    rng = random.Random(seed)
    with open(path, "w") as file:
        for _ in range(quotes):
            words = [rng.choice(WORDS) for _ in range(rng.randint(6, 14))]
            file.write(" ".join(words).capitalize() + ".\n%\n")


def write_task(path, rows, seed, classes=3):
    """A TSV whose label is the class of the keywords in the sentence."""
    rng = random.Random(seed)
    labels = []
    with open(path, "w") as file:
        file.write("sentence\tlabel\n")
        for _ in range(rows):
            label = rng.randrange(classes)
            words = [rng.choice(FILLER) for _ in range(rng.randint(4, 8))]
            for _ in range(2):
                words.insert(rng.randrange(len(words) + 1), rng.choice(KEYS[label]))
            file.write(f"{' '.join(words)}\t{label}\n")
            labels.append(label)
    return labels


# --- Running ------------------------------------------------------------------------

class Run:
    def __init__(self, result):
        self.returncode = result.returncode
        self.stdout = result.stdout
        self.stderr = result.stderr


class Context:
    def __init__(self, bin_dir, scratch):
        self.bin_dir, self.scratch = bin_dir, scratch
        self.pretrain = os.path.join(bin_dir, "smx-fake-pretrain-model")
        self.finetune = os.path.join(bin_dir, "smx-fake-finetune-model")
        self.nologits = os.path.join(bin_dir, "smx-fake-finetune-nologits-model")
        self.regression = os.path.join(bin_dir, "smx-fake-regression-model")
        self.inference = os.path.join(bin_dir, "smx-fake-model")
        self.corpus = self.path("corpus")
        write_corpus(self.corpus)

    def path(self, *names):
        return os.path.join(self.scratch, *names)

    def run(self, binary, *arguments, env=None):
        environment = dict(os.environ)
        environment.pop("FAKE_NAN_AT_STEP", None)
        environment.pop("FAKE_ARENA_BYTES", None)
        environment.update(env or {})
        return Run(subprocess.run([binary, *arguments], capture_output=True,
                                  text=True, timeout=120, cwd=self.scratch,
                                  env=environment))

    def run_ok(self, binary, *arguments, env=None):
        result = self.run(binary, *arguments, env=env)
        expect(result.returncode == 0,
               f"{arguments}: exit {result.returncode}, stderr {result.stderr!r}")
        expect("error" not in result.stderr, f"{arguments}: stderr {result.stderr!r}")
        return result

    def run_error(self, pattern, binary, *arguments, env=None):
        """Exit status 1 and a last stderr line '<program>: error: ...'."""
        result = self.run(binary, *arguments, env=env)
        lines = result.stderr.splitlines()
        program = os.path.basename(binary)
        expect(result.returncode == 1,
               f"{arguments}: exit {result.returncode}, expected 1; stderr "
               f"{result.stderr!r}")
        expect(lines and lines[-1].startswith(program + ": error: "),
               f"{arguments}: stderr does not end in an error line: {result.stderr!r}")
        expect(sum("error:" in line for line in lines) == 1,
               f"{arguments}: more than one error line: {result.stderr!r}")
        expect(re.search(pattern, lines[-1]),
               f"{arguments}: {lines[-1]!r} does not match {pattern!r}")
        return result

    def train(self, ckpt, *extra, env=None, ok=True):
        arguments = ["train", "--data", self.corpus, "--lr", "0.01"]
        if ckpt:
            arguments += ["--ckpt", ckpt]
        arguments += list(extra)
        if ok:
            return self.run_ok(self.pretrain, *arguments, env=env)
        return self.run(self.pretrain, *arguments, env=env)


def read_metrics(path):
    with open(path) as file:
        return [json.loads(line) for line in file]


def step_lines(metrics):
    return [line for line in metrics if "eval" not in line]


def tree_bytes(directory):
    """{relative path: bytes} of every file under `directory`."""
    files = {}
    for root, _, names in os.walk(directory):
        for name in names:
            full = os.path.join(root, name)
            with open(full, "rb") as file:
                files[os.path.relpath(full, directory)] = file.read()
    return files


def checkpoints(directory):
    return sorted(name for name in os.listdir(directory) if name.startswith("step-"))


def latest(directory):
    with open(os.path.join(directory, "latest")) as file:
        return file.read().strip()


# --- Cases -------------------------------------------------------------------------

def case_info(context):
    out = context.run_ok(context.pretrain, "info", "--brief").stdout
    for line in ("task: pretrain (train step: 7 parameters with their Adam moments)",
                 "loss terms: mlm_loss (weight 1), sentence_order_loss (weight 1), "
                 "moe.1.router_z_loss (weight 0.01)",
                 "metrics: moe.1.tokens_per_expert, moe.1.dropped_fraction"):
        expect(line + "\n" in out, f"no {line!r} in:\n{out}")


def case_pretrain_loss_falls_and_metrics(context):
    ckpt = context.path("ck")
    result = context.train(ckpt, "--steps", "150", "--warmup", "15", "--every", "50")
    out = result.stdout
    expect("tokenizer: trained " in out and "saved to " + ckpt + "/tokenizer.model" in out,
           out)
    expect("parameters: 7, initialized from --seed 0" in out, out)
    expect(re.search(r"done: steps 1\.\.150 of 150 in .*; checkpoint "
                     + re.escape(ckpt) + "/step-000150", out), out)
    metrics = read_metrics(os.path.join(ckpt, "metrics.jsonl"))
    expect([line["step"] for line in metrics] == list(range(1, 151)),
           "metrics steps are not 1..150")
    keys = ["step", "loss", "mlm_loss", "sentence_order_loss", "moe.1.router_z_loss",
            "moe.1.tokens_per_expert", "moe.1.dropped_fraction", "learning_rate",
            "grad_norm", "step_time_s", "tokens_per_s"]
    for line in metrics:
        expect(list(line) == keys, f"metrics keys {list(line)}")
        total = line["mlm_loss"] + line["sentence_order_loss"] + 0.01 * line[
            "moe.1.router_z_loss"]
        expect(abs(total - line["loss"]) < 1e-4, f"loss {line['loss']} != terms {total}")
        expect(len(line["moe.1.tokens_per_expert"]) == 4
               and all(isinstance(count, int) for count in line["moe.1.tokens_per_expert"]),
               f"tokens_per_expert {line['moe.1.tokens_per_expert']}")
        expect(0 <= line["moe.1.dropped_fraction"] <= 1, "dropped_fraction")
        expect(line["tokens_per_s"] > 0 and line["step_time_s"] > 0, "timing")
        # The schedule of docs/training.md, at the 0-based step input.
        step = line["step"] - 1
        want = 0.01 * (step + 1) / 15 if step < 15 else 0.01 * (150 - step) / 135
        expect(abs(line["learning_rate"] - want) < 1e-6 * max(want, 1e-3),
               f"learning rate {line['learning_rate']} at step {line['step']}, "
               f"expected {want}")
    losses = [line["loss"] for line in metrics]
    first, last = np.mean(losses[:15]), np.mean(losses[-15:])
    expect(last < first - 0.2, f"the loss does not fall: {first:.4f} -> {last:.4f}")
    # The checkpoint layout.
    expect(checkpoints(ckpt) == ["step-000050", "step-000100", "step-000150"],
           f"{checkpoints(ckpt)}")
    expect(latest(ckpt) == "step-000150", latest(ckpt))
    step_dir = os.path.join(ckpt, "step-000150")
    expect(sorted(os.listdir(step_dir)) == ["meta.json", "optimizer.safetensors",
                                            "weights.safetensors"],
           f"{os.listdir(step_dir)}")
    weights = smx_safetensors.load(os.path.join(step_dir, "weights.safetensors"))
    expect(sorted(weights) == sorted(PRETRAIN_PARAMETERS), f"{sorted(weights)}")
    optimizer = smx_safetensors.load(os.path.join(step_dir, "optimizer.safetensors"))
    expect(sorted(optimizer) == sorted(f"{kind}.{name}" for name in PRETRAIN_PARAMETERS
                                       for kind in ("first_moment", "second_moment")),
           f"{sorted(optimizer)}")
    with open(os.path.join(step_dir, "meta.json")) as file:
        meta = json.load(file)
    for key, value in (("format", "smx-checkpoint"), ("version", 1), ("step", 150),
                       ("task", "pretrain"), ("model", "fake_pretrain"), ("seed", 0),
                       ("learning_rate", 0.01), ("warmup_steps", 15),
                       ("total_steps", 150), ("data", context.corpus),
                       ("data_cursor", {"step": 150}), ("loss", losses[-1])):
        expect(meta.get(key) == value, f"meta {key}: {meta.get(key)!r}, expected {value!r}")
    expect(re.fullmatch(r"[0-9a-f]{16}", meta["manifest_hash"]), meta["manifest_hash"])
    expect(not any(name.startswith(".") for name in os.listdir(ckpt)),
               f"temporary files left: {os.listdir(ckpt)}")


def case_progress_lines(context):
    result = context.train(None, "--steps", "20", "--log-every", "5")
    lines = result.stderr.splitlines()
    expect(len(lines) == 4 and all(re.fullmatch(
        r"step (5|10|15|20)/20: loss \d+\.\d{4}, lr \S+, \d+ tokens/s, ETA \S+", line)
        for line in lines), f"progress lines: {lines}")
    expect("no --ckpt: nothing is saved" in result.stdout, result.stdout)


def case_resume_is_bit_exact(context):
    straight, split = context.path("straight"), context.path("split")
    context.train(straight, "--steps", "20", "--every", "5")
    out = context.train(split, "--steps", "20", "--every", "5", "--stop-at", "10").stdout
    expect("stopped (--stop-at): steps 1..10 of 20" in out
           and "(continue with --resume)" in out, out)
    expect(latest(split) == "step-000010", latest(split))
    # What a crash after step 10 would leave in the metrics: lines the
    # resumed run writes again, and a torn line.
    with open(os.path.join(split, "metrics.jsonl"), "a") as file:
        file.write('{"step": 11, "loss": 1.0}\n{"step": 12, "lo')
    out = context.run_ok(context.pretrain, "train", "--ckpt", split, "--resume").stdout
    expect(f"resumed from {split}/step-000010 (step 10)" in out, out)
    expect("training: steps 11..20" in out, out)
    a = read_metrics(os.path.join(straight, "metrics.jsonl"))
    b = read_metrics(os.path.join(split, "metrics.jsonl"))
    fields = lambda lines: [{k: v for k, v in line.items()
                             if k not in ("step_time_s", "tokens_per_s")} for line in lines]
    expect(fields(a) == fields(b), "the metrics of 20 steps and 10 + 10 differ")
    for name in ("weights.safetensors", "optimizer.safetensors"):
        with open(os.path.join(straight, "step-000020", name), "rb") as file:
            want = file.read()
        with open(os.path.join(split, "step-000020", name), "rb") as file:
            expect(file.read() == want, f"{name} of step 20 differs")
    # Resuming a finished run does nothing.
    out = context.run_ok(context.pretrain, "train", "--ckpt", split, "--resume").stdout
    expect("nothing to do" in out, out)


def case_corrupt_checkpoint_is_refused_untouched(context):
    ckpt = context.path("ck")
    context.train(ckpt, "--steps", "10", "--every", "5")
    step_dir = os.path.join(ckpt, "step-000010")

    def refuse(pattern, *extra):
        before = tree_bytes(ckpt)
        context.run_error(pattern, context.pretrain, "train", "--ckpt", ckpt, "--resume",
                          "--steps", "20", *extra)
        expect(tree_bytes(ckpt) == before, "the failing run changed the checkpoints")

    weights = os.path.join(step_dir, "weights.safetensors")
    with open(weights, "rb") as file:
        good = file.read()
    with open(weights, "wb") as file:
        file.write(good[:len(good) // 2])
    refuse(r"cannot resume: " + re.escape(weights) + r": .*truncated")
    with open(weights, "wb") as file:
        file.write(good)

    optimizer = os.path.join(step_dir, "optimizer.safetensors")
    with open(optimizer, "rb") as file:
        good_optimizer = file.read()
    tensors = smx_safetensors.load(optimizer)
    del tensors["second_moment.heads.mlm.output_bias"]
    smx_safetensors.save(optimizer, tensors)
    refuse(re.escape(optimizer) + r": no tensor 'second_moment\.heads\.mlm\.output_bias'")
    tensors["second_moment.heads.mlm.output_bias"] = np.zeros(7, np.float32)
    smx_safetensors.save(optimizer, tensors)
    refuse(re.escape(optimizer) + r": tensor 'second_moment\.heads\.mlm\.output_bias' "
           r"is F32 \[7\], but the model's parameter is F32 \[160\]")
    with open(optimizer, "wb") as file:
        file.write(good_optimizer)

    meta_path = os.path.join(step_dir, "meta.json")
    with open(meta_path) as file:
        meta_text = file.read()
    with open(meta_path, "w") as file:
        file.write(meta_text[:20])
    refuse(re.escape(meta_path) + r": invalid JSON")
    meta = json.loads(meta_text)
    meta["training_hash"] = "0123456789abcdef"
    with open(meta_path, "w") as file:
        json.dump(meta, file)
    refuse(re.escape(step_dir) + r" was written by another model or batch \(training_hash "
           r"0123456789abcdef; this run's is [0-9a-f]{16}\)")
    # A checkpoint from before the training hash is checked by its manifest.
    del meta["training_hash"]
    meta["manifest_hash"] = "0123456789abcdef"
    with open(meta_path, "w") as file:
        json.dump(meta, file)
    refuse(re.escape(step_dir) + r" was written by another model or batch \(manifest_hash "
           r"0123456789abcdef; this run's is [0-9a-f]{16}\)")
    with open(meta_path, "w") as file:
        file.write(meta_text)

    with open(os.path.join(ckpt, "latest"), "w") as file:
        file.write("step-000099\n")
    refuse(re.escape(os.path.join(ckpt, "latest")) + r" names "
           + re.escape(os.path.join(ckpt, "step-000099")) + ", which is not a directory")
    with open(os.path.join(ckpt, "latest"), "w") as file:
        file.write("step-000010\n")

    # A fresh run never writes into a directory that holds checkpoints.
    before = tree_bytes(ckpt)
    context.run_error(re.escape(ckpt) + r" already holds checkpoints \(latest: "
                      + re.escape(step_dir) + r"\); continue with --resume",
                      context.pretrain, "train", "--data", context.corpus, "--ckpt",
                      ckpt, "--steps", "5")
    expect(tree_bytes(ckpt) == before, "the refused run changed the checkpoints")
    # And the intact checkpoint still resumes.
    context.run_ok(context.pretrain, "train", "--ckpt", ckpt, "--resume", "--steps", "12")
    expect(latest(ckpt) == "step-000012", latest(ckpt))


def case_nan_stops_and_keeps_the_last_good_checkpoint(context):
    good, bad = context.path("good"), context.path("bad")
    context.train(good, "--steps", "20", "--every", "5", "--stop-at", "10")
    # The loss of the step with input 12, the 13th step, is NaN.
    result = context.train(bad, "--steps", "20", "--every", "5",
                           env={"FAKE_NAN_AT_STEP": "12"}, ok=False)
    expect(result.returncode == 1, f"exit {result.returncode}")
    last = result.stderr.splitlines()[-1]
    expect(last == "smx-fake-pretrain-model: error: loss is NaN at step 13; the last "
           f"good checkpoint is {bad}/step-000010", last)
    expect(checkpoints(bad) == ["step-000005", "step-000010"] and
           latest(bad) == "step-000010", f"{checkpoints(bad)}, {latest(bad)}")
    for name in ("weights.safetensors", "optimizer.safetensors"):
        with open(os.path.join(good, "step-000010", name), "rb") as file:
            want = file.read()
        with open(os.path.join(bad, "step-000010", name), "rb") as file:
            expect(file.read() == want, f"{name} of the last good checkpoint changed")
    metrics = read_metrics(os.path.join(bad, "metrics.jsonl"))
    expect(metrics[-1]["step"] == 13 and metrics[-1]["loss"] is None,
           f"last metrics line {metrics[-1]}")
    # Without a checkpoint yet, or without --ckpt.
    context.run_error(r"loss is NaN at step 1; no checkpoint was written before it",
                      context.pretrain, "train", "--data", context.corpus,
                      "--steps", "5", "--ckpt", context.path("none"),
                      env={"FAKE_NAN_AT_STEP": "0"})
    context.run_error(r"loss is NaN at step 3; nothing was saved \(no --ckpt\)",
                      context.pretrain, "train", "--data", context.corpus,
                      "--steps", "5", env={"FAKE_NAN_AT_STEP": "2"})


def case_arena_larger_than_the_machine(context):
    # A train step whose planned arena cannot fit fails before its first
    # step, with the sizes, instead of being killed during it.
    context.run_error(r"the train step needs [0-9.]+ GiB \(a [0-9.]+ GiB arena, "
                      r"memory_plan.arena_bytes, and [0-9.]+ GiB of arguments and "
                      r"results\), more than this machine's [0-9.]+ GiB; compile the "
                      r"model with a smaller --batch",
                      context.pretrain, "train", "--data", context.corpus,
                      "--steps", "1", env={"FAKE_ARENA_BYTES": str(1 << 50)})


def case_keep_last_k(context):
    ckpt = context.path("ck")
    out = context.train(ckpt, "--steps", "12", "--every", "2", "--keep", "2").stdout
    expect(out.count("checkpoint: ") == 6, out)
    expect(checkpoints(ckpt) == ["step-000010", "step-000012"], f"{checkpoints(ckpt)}")
    expect(latest(ckpt) == "step-000012", latest(ckpt))
    expect(sorted(os.listdir(ckpt)) == ["latest", "metrics.jsonl", "step-000010",
                                        "step-000012", "tokenizer.model"],
           f"{sorted(os.listdir(ckpt))}")


def case_checkpoint_directory_is_locked(context):
    ckpt = context.path("ck")
    os.mkdir(ckpt)
    descriptor = os.open(ckpt, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        context.run_error(re.escape(ckpt) + r": another training run is using this "
                          r"checkpoint directory", context.pretrain, "train", "--data",
                          context.corpus, "--steps", "3", "--ckpt", ckpt)
    finally:
        os.close(descriptor)
    context.train(ckpt, "--steps", "3")


def case_sigint_checkpoints_and_stops(context):
    ckpt = context.path("ck")
    metrics = os.path.join(ckpt, "metrics.jsonl")
    process = subprocess.Popen(
        [context.pretrain, "train", "--data", context.corpus, "--ckpt", ckpt,
         "--steps", "100000000", "--every", "100000000", "--log-every", "100000000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=context.scratch)
    deadline = time.time() + 30
    while time.time() < deadline:
        if os.path.exists(metrics) and os.path.getsize(metrics) > 10000:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    expect(process.returncode == 1, f"exit {process.returncode}: {err!r}")
    match = re.fullmatch(r"smx-fake-pretrain-model: error: interrupted by SIGINT after "
                         r"step (\d+); the checkpoint (\S+) holds it \(continue with "
                         r"--resume\)", err.splitlines()[-1])
    expect(match, f"stderr {err!r}")
    step = int(match.group(1))
    expect(match.group(2) == os.path.join(ckpt, f"step-{step:06d}")
           and latest(ckpt) == f"step-{step:06d}", f"{match.group(2)}, {latest(ckpt)}")
    lines = read_metrics(metrics)
    expect(lines[-1]["step"] == step, f"last metrics step {lines[-1]['step']} != {step}")


def write_tasks(context):
    train_tsv, dev_tsv = context.path("train.tsv"), context.path("dev.tsv")
    write_task(train_tsv, 160, seed=2)
    dev_labels = write_task(dev_tsv, 30, seed=3)
    return train_tsv, dev_tsv, dev_labels


def case_finetune_reports_accuracy(context):
    train_tsv, dev_tsv, dev_labels = write_tasks(context)
    ckpt = context.path("ft")
    out = context.run_ok(context.finetune, "finetune", "--task", train_tsv,
                         "--eval-task", dev_tsv, "--epochs", "3", "--lr", "0.02",
                         "--ckpt", ckpt).stdout
    expect(f"task: {train_tsv}: 160 training and 30 evaluation ({dev_tsv}) examples, "
           "3 classes\n" in out, out)
    counts = np.bincount(dev_labels, minlength=3)
    majority = int(np.argmax(counts))
    expect(f"majority baseline: {counts[majority] / 30:.6f} (class '{majority}', "
           f"{counts[majority]} of 30)\n" in out, out)
    expect(out.count("majority baseline") == 1, out)
    epochs = re.findall(r"epoch (\d)/3 \(step (\d+)\): train loss (\S+); held out: "
                        r"classifier_loss: (\S+) \(weight 1\), moe\.1\.router_z_loss: "
                        r"\S+ \(weight 0\.01\), loss: (\S+), accuracy: (\S+) "
                        r"\((\d+) of 30\)\n", out)
    expect([(e[0], e[1]) for e in epochs] == [("1", "40"), ("2", "80"), ("3", "120")],
           f"epoch lines {epochs} in:\n{out}")
    for epoch in epochs:
        expect(abs(float(epoch[5]) - int(epoch[6]) / 30) < 1e-6, f"accuracy {epoch}")
    expect(int(epochs[-1][6]) > counts[majority],
           f"final accuracy {epochs[-1][6]}/30 does not beat the baseline {counts[majority]}")
    expect(float(epochs[-1][3]) < float(epochs[0][3]), "the held-out loss does not fall")
    metrics = read_metrics(os.path.join(ckpt, "metrics.jsonl"))
    evals = [line for line in metrics if "eval" in line]
    expect([line["epoch"] for line in evals] == [1, 2, 3], f"{evals}")
    expect(all(line["eval"]["rows"] == 30 for line in evals), f"{evals}")
    expect(abs(evals[-1]["eval"]["accuracy"] - int(epochs[-1][6]) / 30) < 1e-12,
           f"{evals[-1]}")
    expect([line["epoch"] for line in step_lines(metrics)] ==
           [1] * 40 + [2] * 40 + [3] * 40, "epoch of the step lines")
    # `eval` of the checkpoint finds its task and tokenizer, and agrees.
    out = context.run_ok(context.finetune, "eval", "--weights", ckpt).stdout
    expect(f"parameters: {ckpt}/step-000120/weights.safetensors\n" in out, out)
    expect(f"accuracy: {float(epochs[-1][5]):.6f} ({epochs[-1][6]} of 30)\n" in out, out)
    expect(f"classifier_loss: {epochs[-1][3]} (weight 1)\n" in out, out)


def case_finetune_two_classes_reports_f1(context):
    train_tsv, dev_tsv = context.path("train.tsv"), context.path("dev.tsv")
    write_task(train_tsv, 120, seed=4, classes=2)
    dev_labels = write_task(dev_tsv, 25, seed=5, classes=2)
    out = context.run_ok(context.finetune, "finetune", "--task", train_tsv,
                         "--eval-task", dev_tsv, "--epochs", "2", "--lr", "0.02").stdout
    positives = sum(dev_labels)
    found = re.findall(r"accuracy: (\S+) \((\d+) of 25\), f1: (\S+) \(class 1; precision "
                       r"(\d+)/(\d+), recall (\d+)/(\d+)\)", out)
    expect(len(found) == 2, out)
    for accuracy, correct, f1, tp, predicted, tp2, actual in found:
        expect(tp == tp2 and int(actual) == positives, f"{found}, {positives} positives")
        precision = int(tp) / int(predicted) if int(predicted) else 0
        recall = int(tp) / positives
        want = 2 * precision * recall / (precision + recall) if precision + recall else 0
        expect(abs(float(f1) - want) < 1e-6, f"f1 {f1}, expected {want}")


def case_finetune_regression_reports_correlations(context):
    rng = random.Random(6)
    path = context.path("scores.tsv")
    with open(path, "w") as file:
        file.write("text\tscore\n")
        for index in range(150):
            good = rng.randint(0, 4)
            words = ["good"] * good + [rng.choice(FILLER) for _ in range(5)]
            rng.shuffle(words)
            file.write(f"{' '.join(words)} {index}\t{good * 0.5:.2f}\n")
    out = context.run_ok(context.regression, "finetune", "--task", path,
                         "--label-column", "score", "--epochs", "3",
                         "--lr", "0.05").stdout
    expect(", regression\n" in out and "majority baseline" not in out, out)
    found = re.findall(r"pearson: (\S+), spearman: (\S+)\n", out)
    expect(len(found) == 3, out)
    expect(float(found[-1][0]) > 0.5 and -1 <= float(found[-1][1]) <= 1, f"{found}")


def case_finetune_without_logits_reports_the_loss(context):
    train_tsv, dev_tsv, _ = write_tasks(context)
    out = context.run_ok(context.nologits, "finetune", "--task", train_tsv,
                         "--eval-task", dev_tsv, "--epochs", "1").stdout
    expect("note: the model's forward function returns no classifier_logits" in out, out)
    expect(re.search(r"epoch 1/1 \(step 40\): train loss \S+; held out: "
                     r"classifier_loss: \S+ \(weight 1\), moe\.1\.router_z_loss: \S+ "
                     r"\(weight 0\.01\), loss: \S+\n", out), out)
    expect("accuracy" not in out, out)


def case_finetune_init_and_freeze(context):
    pretrained = context.path("pre")
    context.train(pretrained, "--steps", "10")
    train_tsv, dev_tsv, _ = write_tasks(context)
    ckpt = context.path("ft")
    out = context.run_ok(context.finetune, "finetune", "--init", pretrained, "--task",
                         train_tsv, "--eval-task", dev_tsv, "--epochs", "1",
                         "--lr", "0.05", "--ckpt", ckpt, "--freeze",
                         "router,experts,layers.0.*").stdout
    source = f"{pretrained}/step-000010/weights.safetensors"
    expect(f"parameters: 4 of 6 loaded from {source} (3 of its tensors are not "
           "parameters of this model); 2 keep their init from --seed 0: "
           "heads.classifier.weight heads.classifier.bias\n" in out, out)
    expect(f"tokenizer: {pretrained}/tokenizer.model (156 pieces), copied to "
           f"{ckpt}/tokenizer.model\n" in out, out)
    with open(os.path.join(pretrained, "tokenizer.model"), "rb") as a, \
            open(os.path.join(ckpt, "tokenizer.model"), "rb") as b:
        expect(a.read() == b.read(), "the tokenizer copy differs")
    expect("frozen (router,experts,layers.0.*): 3 of 6 parameters, 128 elements" in out,
           out)
    before = smx_safetensors.load(source)
    after = smx_safetensors.load(os.path.join(ckpt, "step-000040", "weights.safetensors"))
    moments = smx_safetensors.load(os.path.join(ckpt, "step-000040",
                                                "optimizer.safetensors"))
    frozen = ["layers.0.mixing.query.weight", "layers.1.moe.router.weight",
              "layers.1.moe.experts.input.weight"]
    for name in FINETUNE_PARAMETERS:
        if name in frozen:
            expect(np.array_equal(before[name], after[name]), f"frozen {name} changed")
            for kind in ("first_moment", "second_moment"):
                expect(not moments[f"{kind}.{name}"].any(), f"{kind} of frozen {name}")
        elif name in before:
            expect(not np.array_equal(before[name], after[name]), f"{name} did not train")
    context.run_error(r"--freeze: unknown group 'routers'", context.finetune, "finetune",
                      "--task", train_tsv, "--freeze", "routers")
    context.run_error(r"--freeze: the pattern 'layers\.9\.\*' matches no parameter",
                      context.finetune, "finetune", "--task", train_tsv, "--freeze",
                      "layers.9.*")


def expect_same_metrics(straight, split, what):
    """The metrics of a straight run and of a stopped and resumed one agree,
    but for timings and the train loss (a resumed epoch averages its part)."""
    strip = lambda lines: [{k: v for k, v in line.items()
                            if k not in ("step_time_s", "tokens_per_s", "train_loss")}
                           for line in lines]
    a = read_metrics(os.path.join(straight, "metrics.jsonl"))
    b = read_metrics(os.path.join(split, "metrics.jsonl"))
    expect(strip(a) == strip(b), f"the metrics of {what} differ")


def case_finetune_resume_is_bit_exact(context):
    train_tsv, dev_tsv, _ = write_tasks(context)
    straight, split = context.path("straight"), context.path("split")
    common = ["finetune", "--task", train_tsv, "--eval-task", dev_tsv, "--epochs", "2",
              "--lr", "0.02", "--every", "15"]
    context.run_ok(context.finetune, *common, "--ckpt", straight)
    context.run_ok(context.finetune, *common, "--ckpt", split, "--stop-at", "50")
    out = context.run_ok(context.finetune, "finetune", "--ckpt", split, "--resume").stdout
    expect("training: 2 epochs of 40 steps (steps 51..80)" in out, out)
    expect_same_metrics(straight, split, "80 steps and 50 + 30")


def case_finetune_steps_ends_inside_an_epoch(context):
    # 40 steps per epoch; --steps 50 runs one epoch and 10 steps of the next,
    # evaluating after each, with the schedule over 50 steps; resuming keeps
    # the length, and the straight and split runs agree.
    train_tsv, dev_tsv, _ = write_tasks(context)
    straight, split = context.path("straight"), context.path("split")
    common = ["finetune", "--task", train_tsv, "--eval-task", dev_tsv, "--steps", "50",
              "--lr", "0.02", "--every", "15"]
    out = context.run_ok(context.finetune, *common, "--ckpt", straight).stdout
    expect("training: 50 steps, 1.25 epochs of 40 steps (steps 1..50)" in out, out)
    found = re.findall(r"epoch (\d)/2 \(step (\d+)\): train loss \S+", out)
    expect(found == [("1", "40"), ("2", "50")], f"epoch lines {found} in:\n{out}")
    metrics = read_metrics(os.path.join(straight, "metrics.jsonl"))
    expect([line["step"] for line in metrics if "eval" in line] == [40, 50], f"{metrics}")
    expect(len(step_lines(metrics)) == 50, "50 step lines")
    expect(step_lines(metrics)[-1]["learning_rate"] < step_lines(metrics)[20]["learning_rate"],
           "the schedule decays over the 50 steps")
    context.run_ok(context.finetune, *common, "--ckpt", split, "--stop-at", "45")
    out = context.run_ok(context.finetune, "finetune", "--ckpt", split, "--resume").stdout
    expect("training: 50 steps, 1.25 epochs of 40 steps (steps 46..50)" in out, out)
    expect_same_metrics(straight, split, "50 steps and 45 + 5")


def case_eval_pretrain_checkpoint(context):
    ckpt = context.path("ck")
    context.train(ckpt, "--steps", "10")
    out = context.run_ok(context.pretrain, "eval", "--weights", ckpt).stdout
    expect(re.search(r"held out: " + re.escape(context.corpus) + r": (\d+) documents "
                     r"\(\d+ tokens\), (\d+) batches of 4\n", out), out)
    for term in ("mlm_loss", "sentence_order_loss", "moe.1.router_z_loss", "loss"):
        expect(re.search("^" + re.escape(term) + r": \d+\.\d{6}", out, re.M), out)
    out2 = context.run_ok(context.pretrain, "eval", "--weights",
                          os.path.join(ckpt, "step-000010"), "--eval-batches", "2").stdout
    expect("rows: 8 in 2 batches\n" in out2, out2)
    context.run_error(r"no tokenizer: pass --tokenizer", context.pretrain, "eval",
                      "--data", context.corpus)
    context.run_error(r"'eval' needs --input", context.inference, "eval")


def case_eval_input_on_training_object(context):
    # `eval --input` runs the forward function on a file's rows, labels too.
    rng = np.random.default_rng(3)
    path = context.path("in.safetensors")
    smx_safetensors.save(path, {
        "input_ids": rng.integers(5, 50, size=(6, 16)).astype(np.int32),
        "labels": np.array([0, 1, 2, 0, 1, 2], np.int32)})
    out = context.run_ok(context.finetune, "eval", "--input", path).stdout
    expect(re.search(r"classifier_loss: \d+\.\d{6} \(mean over 2 chunks\)\n", out), out)
    expect(re.search(r"accuracy: \S+ \(\d of 6 rows\)\n", out), out)
    context.run_error(r"--data is not an option of 'eval --input'", context.finetune,
                      "eval", "--input", path, "--data", context.corpus)


def case_errors(context):
    train_tsv, _, _ = write_tasks(context)
    context.run_error(r"'train' needs a model compiled for training \(smxc "
                      r"--task=pretrain\); this one was compiled for inference",
                      context.inference, "train", "--steps", "3")
    context.run_error(r"'finetune' needs a model compiled with smxc --task=finetune; "
                      r"this one was compiled for 'pretrain' \(use 'train'\)",
                      context.pretrain, "finetune")
    context.run_error(r"--batch 8: the model was compiled for batch 4", context.pretrain,
                      "train", "--steps", "3", "--batch", "8")
    context.run_error(r"'train' needs --steps", context.pretrain, "train")
    context.run_error(r"--resume needs --ckpt DIR", context.pretrain, "train",
                      "--resume")
    context.run_error(r"cannot resume: \S+ holds no checkpoint \(no \S+/latest\)",
                      context.pretrain, "train", "--resume", "--ckpt",
                      context.path("empty"))
    context.run_error(r"--warmup 30 exceeds the 20 steps", context.pretrain, "train",
                      "--data", context.corpus, "--steps", "20", "--warmup", "30")
    context.run_error(r"--lr: 'fast' is not a finite number", context.pretrain, "train",
                      "--lr", "fast")
    context.run_error(r"--epochs is not an option of 'train'", context.pretrain, "train",
                      "--epochs", "2")
    context.run_error(r"--epochs and --steps both set the length of the run: give one",
                      context.finetune, "finetune", "--task", train_tsv, "--epochs", "2",
                      "--steps", "10")
    context.run_error(r"--steps must be at least 1", context.finetune, "finetune",
                      "--task", train_tsv, "--steps", "0")
    four = context.path("four.tsv")
    with open(four, "w") as file:
        file.write("text\tlabel\n" + "".join(f"row {i}\t{i % 4}\n" for i in range(20)))
    context.run_error(r"the task has 4 classes, but the model's classifier has 3 "
                      r"outputs", context.finetune, "finetune", "--task", four)
    context.run_error(r"the model's labels are F32 \(a regression head\), but the "
                      r"default task", context.regression, "finetune")
    context.run_error(r"--weights and --resume exclude each other", context.pretrain,
                      "train", "--resume", "--ckpt", context.path("x"), "--weights",
                      context.path("w.safetensors"))
    context.run_error(re.escape(train_tsv) + r":1: no column named 'score'",
                      context.finetune, "finetune", "--task", train_tsv,
                      "--label-column", "score")


CASES = {name[len("case_"):]: function for name, function in globals().items()
         if name.startswith("case_")}


def main():
    if sys.argv[1:] == ["--list"]:
        print(";".join(CASES))
        return 0
    bin_dir, case = sys.argv[1:]
    with tempfile.TemporaryDirectory() as scratch:
        try:
            CASES[case](Context(bin_dir, scratch))
        except CheckFailure as failure:
            print(f"FAILED: {failure}")
            return 1
    print("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
