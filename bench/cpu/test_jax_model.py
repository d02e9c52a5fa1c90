"""Checks of bench/cpu/jax_model.py (the JAX model of the JAX and IREE peers)
against the PyTorch reference of test/reference (smx_torch.py,
torch_train_step.py), which that directory's tests check against the NumPy
reference and finite differences.

Run (about 30-40 s on one busy core):

  build/bench-venv/bin/python -m unittest -v bench/cpu/test_jax_model.py

Models: samples/tiny_sm.yaml (linear + attention mixing, experts_choose MoE),
samples/tiny_bert.yaml (attention, regression classifier) and EVERY_KIND
(fourier, hartley, circulant, toeplitz and attention mixing, exact gelu, two
MoE layers of 4 groups), weights from smx_model.init_parameters.

- Forward: JAX in float32 against smx_torch.forward in float64 (reference
  routing, smx_routing.route), both capacity factors, every output within
  1e-4 relative to its largest magnitude and the same dispatch indices
  (the fixed seeds have no float32 routing near-ties); fourier / hartley
  by FFT (eval capacity) and by DFT matrices (train capacity).
- Train step: the first step's loss, loss parts and gradient norm of JAX in
  float32 against torch_train_step.train_step in float64 within 1e-4; two
  chained steps (warm-up, clipping, weight decay) in float64 (jax x64)
  against two chained reference steps: scalars, parameters and both moments
  within 1e-8 relative. In float32 the parameters cannot be compared after
  an Adam step: where a gradient is ~0, m_hat / sqrt(v_hat) is +-1 with the
  sign of rounding noise. For the same reason the error scale has a floor
  of 1e-8: attention key biases have an exactly-zero gradient in theory and
  ~1e-21 of noise in practice, on both sides, so their values after a step
  (~1e-18) agree in absolute terms only.
"""

import os
import sys
import unittest

os.environ.setdefault("NPROC", "1")                     # XLA:CPU intra-op threads
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir))
REFERENCE = os.path.join(ROOT, "test", "reference")
sys.path.insert(0, REFERENCE)
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

try:
    import jax  # noqa: E402
    import jax.numpy as jnp  # noqa: E402
    import torch  # noqa: E402
except ImportError as error:
    raise unittest.SkipTest(f"needs jax and torch (build/bench-venv): {error}")

import jax_model as jm  # noqa: E402
import smx_model  # noqa: E402
import smx_torch  # noqa: E402
import torch_train_step as ts  # noqa: E402
from smx_spec import load_spec, parse_spec  # noqa: E402

torch.set_num_threads(1)

EVERY_KIND = {
    "model": {"name": "every_kind", "vocab_size": 40, "max_length": 8, "d_emb": 12,
              "d_model": 16, "d_ff": 24, "num_heads": 2, "num_layers": 5,
              "activation": "gelu"},
    "mixing": {"default": "circulant", "attention": [4],
               "layers": {0: "fourier", 1: "hartley", 3: "toeplitz"}},
    "moe": {"layers": [0, 3], "num_experts": 4, "group_size": 8,
            "capacity_factor": {"train": 1.0, "eval": 2.0}},
    "heads": {"classifier": {"classes": 3}},
}

PEAK_LR, WARMUP, TOTAL, MAX_GRAD_NORM = 1e-3, 2, 4, 1.0


def spec_named(name):
    if name == "every_kind":
        return parse_spec(EVERY_KIND)
    return load_spec(os.path.join(ROOT, "samples", name + ".yaml"))


def make_batch(spec, batch, seq, predictions, seed):
    """A pretrain batch: ids >= 5 with a padded tail on row 0, masked positions
    before it, one zero weight, one ignored label."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, spec.vocab_size, size=(batch, seq))
    ids[0, seq - seq // 4:] = 0
    positions = np.sort(rng.integers(1, seq - seq // 4, size=(batch, predictions)), axis=1)
    weights = np.ones((batch, predictions), dtype=np.float32)
    weights[0, -1] = 0.0
    labels = rng.integers(5, spec.vocab_size, size=(batch, predictions))
    labels[-1, 0] = ts.IGNORE_INDEX
    return {
        "input_ids": ids.astype(np.int32),
        "type_ids": rng.integers(0, min(2, spec.type_vocab_size),
                                 size=(batch, seq)).astype(np.int32),
        "padding_mask": ids != 0,
        "mlm_positions": positions.astype(np.int32),
        "mlm_labels": labels.astype(np.int32),
        "mlm_weights": weights,
        "order_labels": rng.integers(0, 2, size=batch).astype(np.int32),
    }


def case(name):
    """(spec, f32 weights, batch) of a test model."""
    spec = spec_named(name)
    seq = spec.max_length if spec.needs_full_length else spec.compile_seq
    return (spec, smx_model.init_parameters(spec, 0),
            make_batch(spec, 4, seq, 4, seed=7))


def rel_err(actual, expected, floor=1e-30):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(actual - expected))) / max(float(np.max(np.abs(expected))), floor)


class ConstantsTest(unittest.TestCase):
    """jax_model repeats torch_train_step's constants (it must not import torch)."""

    def test_optimizer_constants(self):
        self.assertEqual((jm.BETA1, jm.BETA2, jm.EPSILON, jm.WEIGHT_DECAY, jm.CLIP_TINY,
                          jm.IGNORE_INDEX),
                         (ts.BETA1, ts.BETA2, ts.EPSILON, ts.WEIGHT_DECAY, ts.CLIP_TINY,
                          ts.IGNORE_INDEX))
        self.assertEqual(jm.MASK_VALUE, smx_torch.MASK_VALUE)

    def test_decays(self):
        for name in ("tiny_sm", "tiny_bert", "every_kind"):
            for param in smx_model.parameter_shapes(spec_named(name)):
                self.assertEqual(jm.decays(param), ts.decays(param), param)

    def test_lr_schedule(self):
        for warmup, total in ((2, 4), (1, 1), (0, 3), (3, 10)):
            for step in range(12):
                got = float(jm.lr_schedule(jnp.asarray(step), 1e-3, warmup, total))
                want = ts.lr_schedule(step, 1e-3, warmup, total)
                self.assertLessEqual(abs(got - want), 1e-7 * want, (step, warmup, total))

    def test_unsupported(self):
        spec = parse_spec(dict(EVERY_KIND, moe={"layers": [1], "num_experts": 4,
                                                "router": {"policy": "tokens_choose"}}))
        with self.assertRaisesRegex(NotImplementedError, "tokens_choose"):
            jm.check_spec(spec)


class ForwardTest(unittest.TestCase):
    """JAX float32 forward against smx_torch.forward in float64."""

    def check(self, name, dfts=None):
        spec, weights, batch = case(name)
        p64 = {k: torch.tensor(v, dtype=torch.float64) for k, v in weights.items()}
        p32 = {k: jnp.asarray(v) for k, v in weights.items()}
        for capacity in ("eval", "train"):
            with torch.no_grad():
                expected = smx_torch.forward(
                    spec, p64, torch.from_numpy(batch["input_ids"]).long(),
                    torch.from_numpy(batch["type_ids"]).long(),
                    torch.from_numpy(batch["padding_mask"]), spec.capacity_factor(capacity),
                    mlm=spec.mlm)
            for dft in (dfts or {"eval": ("fft",), "train": ("fft",)})[capacity]:
                fn = jax.jit(lambda p, ids, types, mask, cf=capacity, dft=dft: jm.forward(
                    spec, p, ids, types, mask, cf, mlm=spec.mlm, dft=dft))
                actual = fn(p32, batch["input_ids"], batch["type_ids"], batch["padding_mask"])
                self.assertEqual(sorted(actual), sorted(expected))
                for key, value in expected.items():
                    got = np.asarray(actual[key])
                    what = f"{name} {capacity} {dft} {key}"
                    if key.endswith("dispatch_indices"):
                        np.testing.assert_array_equal(got, value.numpy(), err_msg=what)
                    else:
                        self.assertEqual(got.dtype, np.float32, what)
                        self.assertLess(rel_err(got, value.numpy()), 1e-4, what)

    def test_tiny_sm(self):
        self.check("tiny_sm")

    def test_tiny_bert(self):
        self.check("tiny_bert")

    def test_every_kind(self):
        self.check("every_kind", dfts={"eval": ("fft",), "train": ("matmul",)})

    def test_infer_outputs(self):
        spec, weights, batch = case("tiny_sm")
        out = jax.jit(lambda p, ids, types: jm.infer_outputs(spec, p, ids, types))(
            weights, batch["input_ids"], batch["type_ids"])
        self.assertEqual(sorted(out), sorted(jm.OUTPUTS))


class TrainStepTest(unittest.TestCase):
    """make_train_step against torch_train_step.train_step (float64)."""

    def reference_steps(self, spec, weights, batch, steps):
        results, params, moments = [], weights, None
        for step in range(steps):
            r = ts.train_step(spec, params, batch, "pretrain", step, PEAK_LR, WARMUP, TOTAL,
                              MAX_GRAD_NORM, moments)
            results.append(r)
            params = {n: r[f"param.{n}"].numpy() for n in weights}
            moments = {k: v.numpy() for k, v in r.items()
                       if k.startswith(("first_moment.", "second_moment."))}
        return results

    def jax_steps(self, spec, weights, batch, steps, dtype):
        step_fn = jax.jit(jm.make_train_step(spec, PEAK_LR, WARMUP, TOTAL, MAX_GRAD_NORM))
        p = {k: jnp.asarray(v, dtype) for k, v in weights.items()}
        m, v = jm.zero_moments(p)
        b = {k: jnp.asarray(x) for k, x in batch.items()}
        b["mlm_weights"] = b["mlm_weights"].astype(dtype)
        results = []
        for step in range(steps):
            p, m, v, scalars = step_fn(p, m, v, b, jnp.asarray(step, jnp.int32))
            results.append((p, m, v, scalars))
        return results

    def check(self, name, float32=True):
        spec, weights, batch = case(name)
        expected = self.reference_steps(spec, weights, batch, 2)
        scalar_names = [k for k in expected[0] if k.endswith("_loss")] \
            + ["loss", "grad_norm", "learning_rate", "grad_scale"]
        # trained_parameters is the reference's complement of `untrained`
        self.assertEqual(sorted(set(weights) - set(jm.trained_parameters(spec))),
                         sorted(expected[0]["untrained"]))
        if float32:
            _, _, _, scalars = self.jax_steps(spec, weights, batch, 1, jnp.float32)[0]
            for key in scalar_names:
                self.assertEqual(scalars[key].dtype, jnp.float32)
                self.assertLess(rel_err(scalars[key], expected[0][key].numpy()), 1e-4,
                                f"{name} f32 {key}")
        with jax.enable_x64(True):
            actual = self.jax_steps(spec, weights, batch, 2, jnp.float64)
        for step, ((p, m, v, scalars), ref) in enumerate(zip(actual, expected)):
            for key in scalar_names:
                self.assertLess(rel_err(scalars[key], ref[key].numpy()), 1e-8,
                                f"{name} f64 step {step} {key}")
            for n in weights:
                for got, key in ((p, "param"), (m, "first_moment"), (v, "second_moment")):
                    self.assertEqual(got[n].dtype, jnp.float64)
                    err = rel_err(got[n], ref[f"{key}.{n}"].numpy(), floor=1e-8)
                    self.assertLess(err, 1e-8, f"{name} f64 step {step} {key}.{n}")
        self.assertEqual(float(expected[0]["learning_rate"]), PEAK_LR / 2)
        self.assertLess(float(expected[0]["grad_scale"]), 1.0)       # clipping is exercised

    def test_tiny_sm(self):
        self.check("tiny_sm")

    def test_tiny_bert(self):
        self.check("tiny_bert")

    def test_every_kind(self):
        self.check("every_kind", float32=False)


if __name__ == "__main__":
    unittest.main()
