"""Self-checks of the NumPy reference that do not depend on smx.

Run: cd test/reference && /usr/bin/python3 -m unittest -v
"""

import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import smx_model as model  # noqa: E402
import smx_routing as routing  # noqa: E402
import smx_safetensors as safetensors  # noqa: E402
from smx_spec import parse_spec, placement_layers  # noqa: E402

# Hand-made router probabilities: 5 tokens x 3 experts, with ties.
PROBS = np.array([
    [0.5, 0.3, 0.2],   # t0
    [0.2, 0.5, 0.3],   # t1
    [0.5, 0.1, 0.4],   # t2  (ties t0 on e0)
    [0.1, 0.6, 0.3],   # t3
    [0.3, 0.3, 0.4],   # t4  (ties t2 on e2; e0 and e1 tie within the token)
])


def tiny_spec(**overrides):
    doc = {"model": {"vocab_size": 40, "max_length": 8, "d_model": 16, "d_ff": 32,
                     "num_heads": 4, "num_layers": 2}}
    for key, value in overrides.items():
        doc[key] = value
    return parse_spec(doc)


class PlacementTest(unittest.TestCase):
    def test_table_n14_r4(self):  # docs/spec.md, "Choosing layers"
        self.assertEqual(placement_layers("BOTTOM", 4, 14), [0, 1, 2, 3])
        self.assertEqual(placement_layers("MIDDLE", 4, 14), [5, 6, 7, 8])
        self.assertEqual(placement_layers("MIXED", 4, 14), [0, 3, 6, 9, 12])
        self.assertEqual(placement_layers("TOP", 4, 14), [10, 11, 12, 13])

    def test_sparse_mixer_spec(self):
        spec = parse_spec({
            "model": {"vocab_size": 32000, "max_length": 512, "d_model": 512, "d_ff": 2048,
                      "num_heads": 8, "num_layers": 14},
            "mixing": {"default": "linear", "attention": {"placement": "TOP", "count": 4},
                       "layers": {3: "fourier"}},
            "moe": {"layers": {"placement": "MIDDLE", "count": 4}, "num_experts": 16}})
        self.assertEqual(spec.mixing, ["linear"] * 3 + ["fourier"] + ["linear"] * 6
                         + ["attention"] * 4)
        self.assertEqual([l for l in range(14) if spec.moe_layers[l]], [5, 6, 7, 8])
        self.assertEqual((spec.d_emb, spec.type_vocab_size, spec.activation), (512, 4, "gelu_tanh"))
        self.assertEqual((spec.router_policy, spec.router_k, spec.group_size),
                         ("experts_choose", 1, 4096))
        self.assertEqual((spec.capacity_factor_train, spec.capacity_factor_eval), (1.0, 1.0))
        self.assertEqual((spec.compile_batch, spec.compile_seq), (8, 512))
        self.assertTrue(spec.mlm and spec.sentence_order and not spec.has_classifier)

    def test_defaults_and_errors(self):
        spec = tiny_spec()
        self.assertEqual(spec.mixing, ["attention", "attention"])
        self.assertEqual(spec.moe_layers, [False, False])
        self.assertEqual(spec.layer_norm_epsilon, 1e-12)
        with self.assertRaises(AssertionError):
            tiny_spec(heads={"bogus": True})                      # unknown key
        with self.assertRaises(AssertionError):
            tiny_spec(moe={"layers": [0], "num_experts": 4, "router": {"k": 2}})  # k
        with self.assertRaises(AssertionError):
            tiny_spec(mixing={"default": "linear"}, compile={"seq": 4})  # must be L


class CapacityTest(unittest.TestCase):
    def test_sm_base_numbers(self):  # 16 x 512 tokens, 16 experts
        g = routing.num_groups(8192, 4096)
        self.assertEqual(g, 2)
        self.assertEqual(routing.capacity(8192, g, 16, 1.0), 256)
        self.assertEqual(routing.capacity(8192, g, 16, 0.5), 128)

    def test_groups_raised_until_divisible(self):
        self.assertEqual(routing.num_groups(8193, 4096), 3)   # 2 does not divide 8193
        self.assertEqual(routing.num_groups(100, 4096), 1)

    def test_capacity_rounding_and_bounds(self):
        self.assertEqual(routing.capacity(36, 1, 8, 1.0), 4)  # 4.5 -> 4 (half-even)
        self.assertEqual(routing.capacity(44, 1, 8, 1.0), 6)  # 5.5 -> 6
        self.assertEqual(routing.capacity(16, 1, 16, 1.0), 4)  # at least 4
        self.assertEqual(routing.capacity(3, 1, 1, 1.0), 3)   # at most T/G


class RoutingTest(unittest.TestCase):
    def check(self, result, indices, weights):
        idx, w = result
        np.testing.assert_array_equal(idx, np.array(indices, dtype=np.int32))
        np.testing.assert_array_equal(w, np.array(weights))

    def test_experts_choose(self):
        # e0 ties t0/t2 at 0.5 -> t0 first; e2 ties t2/t4 at 0.4 -> t2 first.
        self.check(routing.experts_choose(PROBS, 2),
                   [[0, 2], [3, 1], [2, 4]], [[.5, .5], [.6, .5], [.4, .4]])

    def test_tokens_choose_batch_prioritized(self):
        # Top-1 probs .5 .5 .5 .6 .4 -> priority t3, t0, t1, t2, t4.
        self.check(routing.tokens_choose(PROBS, 2, 1, True),
                   [[0, 2], [3, 1], [4, -1]], [[.5, .5], [.6, .5], [.4, 0]])
        # Capacity 1: t1 (e1) and t2 (e0) come after t3 and t0 and are dropped.
        self.check(routing.tokens_choose(PROBS, 1, 1, True), [[0], [3], [4]], [[.5], [.6], [.4]])
        # k = 2: second choices t3->e2 fits; t0->e1, t1->e2, t2->e2, t4->e0 dropped.
        self.check(routing.tokens_choose(PROBS, 2, 2, True),
                   [[0, 2], [3, 1], [4, 3]], [[.5, .5], [.6, .5], [.4, .3]])

    def test_tokens_choose_position_order(self):
        # First choices in token order; then t1's second choice e2 fits.
        self.check(routing.tokens_choose(PROBS, 2, 2, False),
                   [[0, 2], [1, 3], [4, 1]], [[.5, .5], [.5, .6], [.4, .3]])

    def test_tokens_choose_expert_tie(self):
        # t4 ties e0/e1 at 0.3 for its second choice -> e0 (lower expert).
        self.assertEqual(list(routing.expert_choices(PROBS)[4]), [2, 0, 1])

    def test_capped_experts_choose(self):
        # Pairs by prob: (t3,e1) (t0,e0) (t1,e1) (t2,e0) (t2,e2)x (t4,e2) ...
        self.check(routing.capped_experts_choose(PROBS, 2, 1),
                   [[0, 2], [3, 1], [4, -1]], [[.5, .5], [.6, .5], [.4, 0]])
        self.check(routing.capped_experts_choose(PROBS, 2, 2),
                   [[0, 2], [3, 1], [2, 4]], [[.5, .5], [.6, .5], [.4, .4]])

    def test_capped_experts_choose_lp(self):
        # Greedy takes (t0,e0) .9 and is left with (t1,e1) .1; the program's
        # optimum is (t0,e1) .8 + (t1,e0) .7.
        probs = np.array([[.9, .8], [.7, .1]])
        self.check(routing.capped_experts_choose(probs, 1, 1), [[0], [1]], [[.9], [.1]])
        self.check(routing.capped_experts_choose_lp(probs, 1, 1), [[1], [0]], [[.7], [.8]])
        # The fractional assignment keeps the bounds (C = 1 per expert, k = 1).
        a = np.exp(routing.solve_capped_assignment(probs, 1, 1, iterations=200))
        self.assertTrue(np.all(a <= 1.0) and np.all(a.sum(0) <= 1.01)
                        and np.all(a.sum(1) <= 1.01))
        self.assertGreater(a[0, 1], 0.9)
        self.assertGreater(a[1, 0], 0.9)

    def test_hash(self):
        ids = np.array([7, 3, 5, 0, 4])  # experts 1 0 2 0 1
        self.check(routing.hash_route(PROBS, ids, 1), [[1], [0], [2]], [[.2], [.3], [.4]])
        self.check(routing.hash_route(PROBS, ids, 2),
                   [[1, 3], [0, 4], [2, -1]], [[.2, .1], [.3, .3], [.4, 0]])

    def test_groups_and_statistics(self):
        probs = np.concatenate([PROBS[:4], PROBS[1:5]])  # 8 tokens, 2 groups of 4
        idx, w = routing.route(probs, "tokens_choose", 1.0, 4, k=1)
        self.assertEqual(idx.shape, (2, 3, 4))
        # T = 8, G = 2, C = min(max(round(4 / 3), 4), 4) = 4; indices are per group.
        np.testing.assert_array_equal(idx[0], [[0, 2, -1, -1], [3, 1, -1, -1], [-1] * 4])
        np.testing.assert_array_equal(idx[1], [[1, -1, -1, -1], [2, 0, -1, -1],
                                               [3, -1, -1, -1]])
        load, dropped = routing.expert_load(idx, 8)
        np.testing.assert_array_equal(load, [3, 4, 1])
        self.assertEqual(dropped, 0.0)
        idx, _ = routing.route(np.tile(PROBS, (2, 1)), "tokens_choose", 1.0, 5, k=1)
        self.assertEqual(idx.shape, (2, 3, 4))

    def test_losses(self):
        # Top-1 f = (2, 2, 1)/5, P = (.32, .36, .32): 9 * mean(f * P) = 1.008.
        self.assertAlmostEqual(routing.load_balance_loss(PROBS, 1, 1), 1.008, places=12)
        uniform = np.full((8, 4), 0.25)
        self.assertAlmostEqual(routing.load_balance_loss(uniform, 1, 2), 1.0, places=12)
        logits = np.array([[0.0, 0.0], [1.0, -1.0]])
        expected = (math.log(2) ** 2 + math.log(math.e + 1 / math.e) ** 2) / 2
        self.assertAlmostEqual(routing.router_z_loss(logits), expected, places=12)
        idx, _ = routing.tokens_choose(PROBS, 1, 1, True)
        self.assertEqual(routing.expert_load(idx[None], 5)[1], 0.4)


class MixingTest(unittest.TestCase):
    rng = np.random.default_rng(0)

    def test_fourier_vs_dft_matrices(self):
        x = self.rng.normal(size=(2, 6, 5))
        f = lambda n: np.exp(-2j * np.pi * np.outer(np.arange(n), np.arange(n)) / n)  # noqa
        z = np.einsum("lm,bmd,de->ble", f(6), x, f(5))
        np.testing.assert_allclose(model.mix_fourier(x), z.real, atol=1e-12)
        np.testing.assert_allclose(model.mix_hartley(x), z.real - z.imag, atol=1e-12)

    def test_circulant_fft_vs_matrix(self):
        x, s, h = self.rng.normal(size=(2, 7, 5)), self.rng.normal(size=7), self.rng.normal(size=5)
        c = model.circulant_matrix(np.arange(4.0))
        np.testing.assert_array_equal(c[1], [1, 0, 3, 2])  # C[r, c] = v[(r - c) mod N]
        np.testing.assert_allclose(model.mix_circulant(x, s, h),
                                   model.mix_circulant_fft(x, s, h), atol=1e-12)

    def test_toeplitz_matrix(self):
        t = model.toeplitz_matrix(np.arange(5.0))  # N = 3; T[r, c] = t[2 + c - r]
        np.testing.assert_array_equal(t, [[2, 3, 4], [1, 2, 3], [0, 1, 2]])
        # A circulant matrix is the Toeplitz matrix of t[N - 1 + j] = v[-j mod N].
        v = self.rng.normal(size=4)
        t = np.array([v[-j % 4] for j in range(-3, 4)])
        np.testing.assert_array_equal(model.toeplitz_matrix(t), model.circulant_matrix(v))

    def test_activations(self):
        x = np.array([-2.0, 0.0, 1.0])
        self.assertAlmostEqual(model.activation("gelu", x)[2], 0.5 * (1 + math.erf(1 / math.sqrt(2))))
        np.testing.assert_allclose(model.activation("gelu_tanh", x), model.activation("gelu", x),
                                   atol=1e-3)
        np.testing.assert_array_equal(model.activation("relu", x), [0, 0, 1])


class ForwardTest(unittest.TestCase):
    def test_attention_ignores_pad_keys(self):
        spec = tiny_spec(heads={"classifier": {"classes": 3}})
        params = model.init_parameters(spec, 3)
        ids = np.array([[5, 6, 7, 0, 0, 0, 0, 0], [9, 8, 7, 6, 5, 0, 0, 0]])
        base = model.forward(spec, params, ids)
        # Other type ids at pad positions (still pads: id 0).
        types = np.zeros_like(ids)
        types[:, 6:] = 1
        changed = model.forward(spec, params, ids, types)
        # Other word ids at pad positions, with the same explicit mask.
        ids2 = np.where(ids == 0, 11, ids)
        changed2 = model.forward(spec, params, ids2, padding_mask=ids != 0)
        real = ids != 0
        for out in (changed, changed2):
            np.testing.assert_allclose(out["sequence_output"][real],
                                       base["sequence_output"][real], rtol=0, atol=1e-12)
            np.testing.assert_allclose(out["classifier_logits"], base["classifier_logits"],
                                       rtol=0, atol=1e-12)
            self.assertGreater(np.abs(out["sequence_output"][~real]
                                      - base["sequence_output"][~real]).max(), 1e-6)
        unmasked = model.forward(spec, params, ids2, padding_mask=np.ones_like(real))
        self.assertGreater(np.abs(unmasked["sequence_output"][real]
                                  - base["sequence_output"][real]).max(), 1e-6)

    def test_every_kind_and_policy_runs(self):
        for policy, router in (("experts_choose", {}), ("tokens_choose", {"k": 2}),
                               ("capped_experts_choose", {"k": 2}), ("hash", {})):
            spec = parse_spec({
                "model": {"vocab_size": 30, "max_length": 8, "d_emb": 12, "d_model": 16,
                          "d_ff": 24, "num_heads": 2, "num_layers": 6, "activation": "relu"},
                "mixing": {"default": "linear", "attention": [5],
                           "layers": {1: "fourier", 2: "hartley", 3: "circulant", 4: "toeplitz"}},
                "moe": {"layers": [1, 4], "num_experts": 4, "group_size": 8,
                        "router": dict(router, policy=policy)},
                "heads": {"classifier": {"regression": True}}})
            params = model.init_parameters(spec, 0)
            self.assertEqual({k: v.shape for k, v in params.items()},
                             model.parameter_shapes(spec))
            ids = np.random.default_rng(1).integers(1, 30, size=(3, 8))
            out = model.forward(spec, params, ids)
            self.assertEqual(out["mlm_logits"].shape, (3, 8, 30))
            self.assertEqual(out["classifier_logits"].shape, (3, 1))
            self.assertEqual(out["moe.4.dispatch_indices"].shape, (3, 4, 4))
            self.assertEqual("moe.1.load_balance_loss" in out, policy == "tokens_choose")
            self.assertTrue(all(np.all(np.isfinite(v)) for v in out.values()))


class SafetensorsTest(unittest.TestCase):
    def test_round_trip_and_cli(self):
        tensors = {"a": np.arange(6, dtype=np.float32).reshape(2, 3),
                   "b": np.array([-1, 2], dtype=np.int32),
                   "c": np.array(7, dtype=np.int64), "empty": np.zeros((0, 4), np.float32)}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "t.safetensors")
            safetensors.save(path, tensors, metadata={"format": "pt"})
            loaded, meta = safetensors.load(path, with_metadata=True)
            self.assertEqual(meta, {"format": "pt"})
            self.assertEqual(set(loaded), set(tensors))
            for name, value in tensors.items():
                self.assertEqual(loaded[name].dtype, value.dtype)
                np.testing.assert_array_equal(loaded[name], value)
            with open(path, "rb") as f:
                header_len = int.from_bytes(f.read(8), "little")
            self.assertEqual((8 + header_len) % 8, 0)

            # compare: identical passes; a 1e-3 relative change or a missing tensor fails.
            other = os.path.join(tmp, "u.safetensors")
            cli = [sys.executable, os.path.join(HERE, "smx_reference.py"), "compare",
                   "--expected", path, "--actual", other]
            safetensors.save(other, tensors)
            self.assertEqual(subprocess.run(cli, capture_output=True).returncode, 0)
            safetensors.save(other, dict(tensors, a=tensors["a"] + np.float32(5e-3)))
            self.assertEqual(subprocess.run(cli, capture_output=True).returncode, 1)
            safetensors.save(other, {k: v for k, v in tensors.items() if k != "b"})
            self.assertEqual(subprocess.run(cli, capture_output=True).returncode, 1)


if __name__ == "__main__":
    unittest.main()
