"""Self-checks of the PyTorch train-step reference (torch_train_step.py).

Run: cd test/reference && /usr/bin/python3 -m unittest -v test_torch_train_step
"""

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, os.pardir, os.pardir)
sys.path.insert(0, HERE)

try:
    import torch
except ImportError:  # the NumPy reference's own tests need no torch
    raise unittest.SkipTest("torch is not installed (scripts/setup-bench.sh installs it)")

import smx_model  # noqa: E402
import smx_routing as routing  # noqa: E402
import smx_safetensors as safetensors  # noqa: E402
import torch_train_step as ts  # noqa: E402
from smx_spec import load_spec, parse_spec  # noqa: E402

torch.set_num_threads(1)


def make_batch(spec, batch, seq, predictions, rng):
    """A pretrain + finetune batch: ids >= 5 with some padding at the end of row 0."""
    ids = rng.integers(5, spec.vocab_size, size=(batch, seq))
    ids[0, seq - seq // 4:] = 0
    positions = np.sort(rng.integers(1, seq - seq // 4, size=(batch, predictions)), axis=1)
    weights = np.ones((batch, predictions), dtype=np.float32)
    weights[0, -1] = 0.0
    labels = rng.integers(5, spec.vocab_size, size=(batch, predictions))
    labels[0, -1] = 0
    labels[-1, 0] = ts.IGNORE_INDEX
    return {
        "input_ids": ids.astype(np.int32),
        "type_ids": rng.integers(0, min(2, spec.type_vocab_size), size=(batch, seq)).astype(np.int32),
        "mlm_positions": positions.astype(np.int32),
        "mlm_labels": labels.astype(np.int32),
        "mlm_weights": weights,
        "order_labels": rng.integers(0, 2, size=batch).astype(np.int32),
        "labels": (rng.integers(0, max(spec.classifier_outputs, 2), size=batch).astype(np.int32)
                   if not spec.classifier_regression
                   else rng.normal(size=batch).astype(np.float32)),
    }


def spread_weights(spec, seed):
    """Weights with larger matrices and non-trivial biases/scales (clear gradients, router
    probabilities well apart)."""
    rng = np.random.default_rng(seed)
    w = {}
    for name, value in smx_model.init_parameters(spec, seed).items():
        if ts.decays(name):
            w[name] = rng.normal(0.0, 0.3, size=value.shape)
        else:
            w[name] = value + rng.normal(0.0, 0.1, size=value.shape)
    return w


def every_kind_spec(policy, router):
    return parse_spec({
        "model": {"vocab_size": 30, "max_length": 8, "d_emb": 12, "d_model": 16, "d_ff": 24,
                  "num_heads": 2, "num_layers": 6, "activation": "gelu"},
        "mixing": {"default": "linear", "attention": [5],
                   "layers": {1: "fourier", 2: "hartley", 3: "circulant", 4: "toeplitz"}},
        "moe": {"layers": [1, 4], "num_experts": 4, "group_size": 8,
                "router": dict(router, policy=policy)},
        "heads": {"classifier": {"classes": 3}}})


class ForwardMatchesNumPyTest(unittest.TestCase):
    """(1) Eval-mode forward against the NumPy reference, weights from its `init`."""

    def check_sample(self, name):
        path = os.path.join(ROOT, "samples", name)
        spec = load_spec(path)
        with tempfile.TemporaryDirectory() as tmp:
            wpath = os.path.join(tmp, "w.safetensors")
            subprocess.run([sys.executable, os.path.join(HERE, "smx_reference.py"), "init",
                            "--spec", path, "--seed", "0", "--output", wpath], check=True)
            weights = safetensors.load(wpath)
        rng = np.random.default_rng(7)
        batch = make_batch(spec, spec.compile_batch, spec.compile_seq, 4, rng)
        params = {k: torch.tensor(v, dtype=torch.float64) for k, v in weights.items()}
        for capacity in ("eval", "train"):
            expected = smx_model.forward(spec, weights, batch["input_ids"], batch["type_ids"],
                                         capacity_factor=capacity)
            with torch.no_grad():
                actual = ts.forward(spec, params, batch["input_ids"], batch["type_ids"],
                                    capacity_factor=capacity, mlm_logits=True)
            actual["pooled"] = actual["pooled_output"]
            for key, value in expected.items():
                got = actual[key]
                got = got.numpy() if isinstance(got, torch.Tensor) else np.asarray(got)
                if value.dtype.kind in "iu":
                    np.testing.assert_array_equal(got, value, err_msg=key)
                else:
                    scale = max(float(np.max(np.abs(value))), 1e-30)
                    err = float(np.max(np.abs(got - value))) / scale
                    self.assertLess(err, 1e-12, f"{name} {capacity} {key}: rel err {err:.3e}")
        return expected

    def test_tiny_sm(self):
        out = self.check_sample("tiny_sm.yaml")
        self.assertIn("moe.2.combine_weights", out)

    def test_tiny_bert(self):
        self.check_sample("tiny_bert.yaml")


class GradientTest(unittest.TestCase):
    """(2) Autograd gradients against central finite differences in float64."""

    H = 1e-6

    def check_gradients(self, spec, task, seed, per_tensor=1):
        rng = np.random.default_rng(seed + 1000)
        weights = spread_weights(spec, seed)
        batch = make_batch(spec, 3, spec.max_length, 3, rng)
        params = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
                  for k, v in weights.items()}
        terms, out = ts.loss_terms(spec, params, batch, task)
        names = list(params)
        grads = torch.autograd.grad(ts.total_loss(terms), [params[n] for n in names],
                                    allow_unused=True)
        routed = {k: v for k, v in out.items() if k.endswith("dispatch_indices")}
        choices = {k: routing.expert_choices(v.detach().numpy())
                   for k, v in out.items() if k.endswith("router_probs")}
        checked = 0
        for name, grad in zip(names, grads):
            if grad is None:
                continue
            flat = grad.reshape(-1)
            # Entries with a gradient well above the FD round-off (~1e-16 |L| / H).
            candidates = np.flatnonzero(np.abs(flat.numpy()) >= 1e-3)
            if len(candidates) == 0:
                continue
            for j in rng.choice(candidates, size=min(per_tensor, len(candidates)),
                                replace=False):
                losses = []
                for sign in (1.0, -1.0):
                    shifted = {k: v.detach().clone() for k, v in params.items()}
                    shifted[name].reshape(-1)[j] += sign * self.H
                    with torch.no_grad():
                        t2, o2 = ts.loss_terms(spec, shifted, batch, task)
                    for k, v in routed.items():   # no routing decision flipped
                        np.testing.assert_array_equal(o2[k], v, err_msg=f"{name}[{j}]: {k}")
                    for k, v in choices.items():
                        np.testing.assert_array_equal(
                            routing.expert_choices(o2[k].numpy()), v, err_msg=f"{name}: {k}")
                    losses.append(float(ts.total_loss(t2)))
                fd = (losses[0] - losses[1]) / (2 * self.H)
                g = float(flat[j])
                rel = abs(fd - g) / abs(g)
                self.assertLess(rel, 1e-6, f"{task} {name}[{j}]: autograd {g!r} vs FD {fd!r}")
                checked += 1
        return checked, terms

    def test_every_kind_tokens_choose(self):
        spec = every_kind_spec("tokens_choose", {"k": 2})
        checked, terms = self.check_gradients(spec, "pretrain", 0)
        self.assertGreater(checked, 40)
        self.assertIn("moe.4.load_balance_loss", terms)
        checked, _ = self.check_gradients(spec, "finetune", 1)
        self.assertGreater(checked, 30)

    def test_other_policies(self):
        for policy, seed in (("experts_choose", 2), ("hash", 3), ("capped_experts_choose", 4)):
            router = {"k": 2} if policy == "capped_experts_choose" else {}
            checked, _ = self.check_gradients(every_kind_spec(policy, router), "pretrain", seed)
            self.assertGreater(checked, 40)

    def test_regression_head(self):
        spec = parse_spec({"model": {"vocab_size": 20, "max_length": 6, "d_model": 8,
                                     "d_ff": 16, "num_heads": 2, "num_layers": 1},
                           "heads": {"classifier": {"regression": True}}})
        checked, terms = self.check_gradients(spec, "finetune", 5)
        self.assertGreater(checked, 10)
        self.assertEqual(list(terms), ["classifier_loss"])


class AdamWTest(unittest.TestCase):
    """(3) The AdamW step on hand-computed numbers and its wiring in train_step."""

    def test_hand_computed(self):
        cases = [  # p, g, m, v, t, lr, wd -> p', m', v'
            ((1.0, 0.5, 0.0, 0.0, 1, 0.1, 0.01), (0.8990001999996000008, 0.05, 0.00025)),
            ((-2.0, 0.1, 0.2, 0.04, 3, 0.01, 0.0), (-2.001919820217788309, 0.19, 0.03997)),
            ((0.3, -0.02, -0.01, 0.0005, 2, 0.001, 0.01),
             (0.3001127718689764336, -0.011, 0.0004999)),
        ]
        for (p, g, m, v, t, lr, wd), expected in cases:
            got = ts.adamw_update(torch.tensor(p, dtype=torch.float64),
                                  torch.tensor(g, dtype=torch.float64),
                                  torch.tensor(m, dtype=torch.float64),
                                  torch.tensor(v, dtype=torch.float64), lr, t, weight_decay=wd)
            for a, b in zip(got, expected):
                self.assertAlmostEqual(float(a), b, delta=1e-15 * max(1.0, abs(b)))

    def test_decay_classes(self):
        for name in ("embeddings.word", "embeddings.projection.weight",
                     "layers.0.mixing.seq_weight", "layers.3.mixing.seq_params",
                     "layers.1.moe.experts.input.weight", "heads.pooler.weight"):
            self.assertTrue(ts.decays(name), name)
        for name in ("embeddings.layer_norm.scale", "embeddings.layer_norm.bias",
                     "heads.mlm.output_bias", "layers.1.moe.router.bias",
                     "layers.0.mixing_layer_norm.scale"):
            self.assertFalse(ts.decays(name), name)

    def test_train_step_first_update(self):
        # At t = 1 from zero moments the Adam direction is g / (|g| + eps).
        spec = load_spec(os.path.join(ROOT, "samples", "tiny_sm.yaml"))
        weights = smx_model.init_parameters(spec, 0)
        batch = make_batch(spec, spec.compile_batch, spec.compile_seq, 4,
                           np.random.default_rng(3))
        lr = ts.lr_schedule(0, 1e-3, 10, 100)
        r = ts.train_step(spec, weights, batch, "finetune", 0, 1e-3, 10, 100)
        self.assertEqual(sorted(r["untrained"]), sorted(
            n for n in weights if n.startswith("heads.mlm.") or n.startswith("heads.sentence")))
        norm = np.sqrt(sum(float((r[f"grad.{n}"] ** 2).sum()) for n in weights))
        self.assertAlmostEqual(float(r["grad_norm"]), norm, delta=1e-12 * norm)
        self.assertEqual(float(r["learning_rate"]), lr)
        for name, p in weights.items():
            p = p.astype(np.float64)
            g = r[f"grad.{name}"].numpy()
            wd = 0.01 if ts.decays(name) else 0.0
            expected = p - lr * (g / (np.abs(g) + 1e-6) + wd * p)
            if name in r["untrained"]:
                expected = p
            np.testing.assert_allclose(r[f"param.{name}"].numpy(), expected, rtol=0,
                                       atol=1e-15, err_msg=name)
            np.testing.assert_allclose(r[f"first_moment.{name}"].numpy(), 0.1 * g, atol=1e-18)
            np.testing.assert_allclose(r[f"second_moment.{name}"].numpy(), 0.001 * g * g,
                                       atol=1e-18)
        total = sum(w * float(r[n]) for n, w in (("classifier_loss", 1.0),
                                                 ("moe.1.router_z_loss", spec.z_loss),
                                                 ("moe.2.router_z_loss", spec.z_loss)))
        self.assertAlmostEqual(float(r["loss"]), total, delta=1e-14)

    def test_clipping_and_untrained_moments(self):
        spec = load_spec(os.path.join(ROOT, "samples", "tiny_bert.yaml"))
        weights = smx_model.init_parameters(spec, 1)
        batch = make_batch(spec, 2, 16, 3, np.random.default_rng(4))
        rng = np.random.default_rng(5)
        moments = {}
        for n, p in weights.items():
            moments[f"first_moment.{n}"] = rng.normal(0, 1e-3, p.shape)
            moments[f"second_moment.{n}"] = rng.uniform(0, 1e-6, p.shape)
        free = ts.train_step(spec, weights, batch, "pretrain", 12, 2e-3, 10, 20,
                             moments=moments)
        norm = float(free["grad_norm"])
        limit = norm / 4
        r = ts.train_step(spec, weights, batch, "pretrain", 12, 2e-3, 10, 20,
                          max_grad_norm=limit, moments=moments)
        self.assertAlmostEqual(float(r["grad_scale"]), limit / (norm + 1e-6), delta=1e-15)
        self.assertEqual(r["untrained"], ["heads.classifier.weight", "heads.classifier.bias"])
        lr = 2e-3 * (20 - 12) / (20 - 10)
        for name, p in weights.items():
            m, v = moments[f"first_moment.{name}"], moments[f"second_moment.{name}"]
            if name in r["untrained"]:
                expected = (p, m, v)
            else:
                g = r[f"grad.{name}"].numpy() * float(r["grad_scale"])
                expected = ts.adamw_update(p.astype(np.float64), g, m, v, lr, 13,
                                           weight_decay=0.01 if ts.decays(name) else 0.0)
            for kind, e in zip(("param", "first_moment", "second_moment"), expected):
                np.testing.assert_allclose(r[f"{kind}.{name}"].numpy(), e, rtol=1e-13,
                                           atol=1e-18, err_msg=f"{kind}.{name}")


class LrScheduleTest(unittest.TestCase):
    """(4) smx.lr_schedule <linear_warmup_linear_decay>."""

    def test_values(self):
        f = ts.lr_schedule
        self.assertAlmostEqual(f(0, 1e-3, 10, 100), 1e-4, delta=1e-18)     # peak / warmup
        self.assertAlmostEqual(f(4, 1e-3, 10, 100), 5e-4, delta=1e-18)
        self.assertAlmostEqual(f(9, 1e-3, 10, 100), 1e-3, delta=1e-18)
        self.assertAlmostEqual(f(10, 1e-3, 10, 100), 1e-3, delta=1e-18)    # 90 / 90
        self.assertAlmostEqual(f(55, 1e-3, 10, 100), 5e-4, delta=1e-18)
        self.assertAlmostEqual(f(99, 1e-3, 10, 100), 1e-3 / 90, delta=1e-18)
        self.assertEqual(f(100, 1e-3, 10, 100), 0.0)
        self.assertEqual(f(250, 1e-3, 10, 100), 0.0)
        self.assertEqual(f(0, 0.5, 0, 4), 0.5)                             # no warmup
        self.assertEqual(f(3, 0.5, 0, 4), 0.125)
        self.assertEqual(f(4, 0.5, 4, 4), 0.0)                             # total == warmup
        self.assertEqual(f(3, 0.5, 4, 4), 0.5)


class CliTest(unittest.TestCase):
    def test_pretrain_two_steps_and_float32(self):
        spec_path = os.path.join(ROOT, "samples", "tiny_sm.yaml")
        spec = load_spec(spec_path)
        with tempfile.TemporaryDirectory() as tmp:
            w, b = os.path.join(tmp, "w.safetensors"), os.path.join(tmp, "b.safetensors")
            safetensors.save(w, smx_model.init_parameters(spec, 0))
            safetensors.save(b, make_batch(spec, 4, 32, 5, np.random.default_rng(9)))
            args = ["--spec", spec_path, "--batch", b, "--task", "pretrain", "--peak-lr", "1e-3",
                    "--warmup", "2", "--total", "10", "--max-grad-norm", "1.0"]
            o1, o2, o3 = (os.path.join(tmp, f"o{i}.safetensors") for i in (1, 2, 3))
            log = io.StringIO()
            with contextlib.redirect_stdout(log):
                self.assertEqual(ts.main(args + ["--weights", w, "--step", "0", "--output", o1]), 0)
            out = safetensors.load(o1)
            for name in ("loss", "mlm_loss", "sentence_order_loss", "moe.1.router_z_loss",
                         "moe.2.router_z_loss", "grad_norm", "learning_rate"):
                self.assertEqual(out[name].shape, (), name)
                self.assertEqual(out[name].dtype, np.float32, name)
            self.assertNotIn("classifier_loss", out)
            self.assertNotIn("moe.1.load_balance_loss", out)   # experts_choose
            self.assertEqual(out["moe.1.tokens_per_expert"].dtype, np.int64)
            for name in smx_model.parameter_shapes(spec):
                for kind in ("grad", "param", "first_moment", "second_moment"):
                    self.assertIn(f"{kind}.{name}", out)
            self.assertAlmostEqual(float(out["learning_rate"]), 5e-4, places=9)
            # Step 1 from step 0's output (weights and moments).
            with contextlib.redirect_stdout(log):
                self.assertEqual(ts.main(args + ["--weights", o1, "--moments", o1, "--step", "1",
                                                 "--output", o2]), 0)
            self.assertLess(float(safetensors.load(o2)["loss"]), float(out["loss"]))
            # float32 compute agrees with float64 to f32 precision.
            with contextlib.redirect_stdout(log):
                self.assertEqual(ts.main(args + ["--weights", w, "--step", "0", "--dtype",
                                                 "float32", "--output", o3]), 0)
            self.assertTrue(log.getvalue().startswith("loss "))
            out32 = safetensors.load(o3)
            for name in ("loss", "grad_norm", "grad.embeddings.word", "param.heads.mlm.dense.weight"):
                a, e = out32[name].astype(np.float64), out[name].astype(np.float64)
                self.assertLess(np.max(np.abs(a - e)) / np.max(np.abs(e)), 1e-4, name)


if __name__ == "__main__":
    unittest.main()
