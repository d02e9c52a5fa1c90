"""Model spec loading for the NumPy reference (docs/spec.md).

Parses a YAML spec with PyYAML, applies every default from docs/spec.md and
resolves layer placement into a per-layer mixing kind and MoE flag. Invalid
input fails an assertion (smxc's own error messages are not replicated).
"""

import dataclasses
import os

import yaml

ACTIVATIONS = ("gelu_tanh", "gelu", "relu", "tanh")
MIXING_KINDS = ("linear", "fourier", "hartley", "circulant", "toeplitz", "attention")
POLICIES = ("experts_choose", "tokens_choose", "capped_experts_choose", "hash")
POLICIES_WITH_K = ("tokens_choose", "capped_experts_choose")
PLACEMENTS = ("BOTTOM", "MIDDLE", "MIXED", "TOP")

_KEYS = {
    "": {"model", "mixing", "moe", "dropout", "heads", "compile"},
    "model": {"name", "vocab_size", "max_length", "type_vocab_size", "d_emb",
              "d_model", "d_ff", "num_heads", "num_layers", "activation",
              "layer_norm_epsilon"},
    "mixing": {"default", "attention", "layers"},
    "moe": {"layers", "num_experts", "router", "capacity_factor", "group_size",
            "expert_dropout", "load_balance_loss", "z_loss"},
    "moe.router": {"policy", "k", "batch_prioritized", "method", "iterations", "entropy",
                   "jitter"},
    "moe.capacity_factor": {"train", "eval"},
    "dropout": {"hidden", "attention"},
    "heads": {"mlm", "sentence_order", "classifier"},
    "heads.classifier": {"classes", "regression"},
    "compile": {"batch", "seq"},
}


@dataclasses.dataclass
class Spec:
    name: str
    vocab_size: int
    max_length: int
    type_vocab_size: int
    d_emb: int
    d_model: int
    d_ff: int
    num_heads: int
    num_layers: int
    activation: str
    layer_norm_epsilon: float
    mixing: list          # per layer: one of MIXING_KINDS
    moe_layers: list      # per layer: bool
    num_experts: int = 0
    router_policy: str = "experts_choose"
    router_k: int = 1
    batch_prioritized: bool = True
    router_method: str = "greedy"      # capped_experts_choose: greedy | lp
    router_iterations: int = 50        # lp only
    router_entropy: float = 0.03       # lp only
    jitter: float = 0.0
    capacity_factor_train: float = 1.0
    capacity_factor_eval: float = 1.0
    group_size: int = 4096
    expert_dropout: float = 0.1
    load_balance_loss: float = 0.01
    z_loss: float = 1e-4
    dropout_hidden: float = 0.1
    dropout_attention: float = 0.1
    mlm: bool = True
    sentence_order: bool = True
    classifier_classes: int = 0        # 0: no classes head
    classifier_regression: bool = False
    compile_batch: int = 8
    compile_seq: int = 0

    @property
    def has_classifier(self):
        return self.classifier_regression or self.classifier_classes > 0

    @property
    def classifier_outputs(self):
        return 1 if self.classifier_regression else self.classifier_classes

    @property
    def needs_pooler(self):
        return self.sentence_order or self.has_classifier

    @property
    def needs_full_length(self):
        """Any non-attention mixing layer: inputs must be padded to max_length."""
        return any(kind != "attention" for kind in self.mixing)

    def capacity_factor(self, which):
        """'eval', 'train' or a number."""
        if which == "eval":
            return self.capacity_factor_eval
        if which == "train":
            return self.capacity_factor_train
        return float(which)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _int(v, what, lo=1):
    assert _is_int(v), f"{what}: expected an integer, got {v!r}"
    assert v >= lo, f"{what}: must be >= {lo}, got {v}"
    return v


def _float(v, what):
    if isinstance(v, str):  # PyYAML reads e.g. `1e-12` (no dot) as a string
        try:
            v = float(v)
        except ValueError:
            raise AssertionError(f"{what}: expected a number, got {v!r}")
    assert (isinstance(v, (int, float)) and not isinstance(v, bool)), \
        f"{what}: expected a number, got {v!r}"
    return float(v)


def _bool(v, what):
    assert isinstance(v, bool), f"{what}: expected a boolean, got {v!r}"
    return v


def _enum(v, choices, what):
    assert v in choices, f"{what}: expected one of {choices}, got {v!r}"
    return v


def _section(doc, key, path):
    sec = doc.get(key, {}) if doc else {}
    if sec is None:
        sec = {}
    assert isinstance(sec, dict), f"{path}: expected a mapping"
    unknown = set(sec) - _KEYS[path]
    assert not unknown, f"{path}: unknown keys {sorted(map(str, unknown))}"
    return sec


def placement_layers(placement, count, num_layers):
    """Layer indices chosen by a placement rule (docs/spec.md, 'Choosing layers')."""
    n, r = num_layers, count
    assert placement in PLACEMENTS, f"unknown placement {placement!r}"
    assert 1 <= r <= n, f"count {r} not in [1, {n}]"
    if placement == "BOTTOM":
        return [l for l in range(n) if l < r]
    if placement == "MIDDLE":
        return [l for l in range(n) if n - r <= 2 * l < n + r]
    if placement == "MIXED":
        return [l for l in range(n) if l % (n // r) == 0]
    return [l for l in range(n) if l >= n - r]  # TOP


def resolve_layers(value, num_layers, what):
    """A `layers` value: an explicit list or {placement: P, count: R}."""
    if isinstance(value, list):
        for l in value:
            assert _is_int(l) and 0 <= l < num_layers, f"{what}: bad layer index {l!r}"
        assert len(set(value)) == len(value), f"{what}: repeated layer index"
        return sorted(value)
    assert isinstance(value, dict), f"{what}: expected a list or a placement"
    assert set(value) == {"placement", "count"}, \
        f"{what}: a placement needs exactly `placement` and `count`"
    count = _int(value["count"], f"{what}.count")
    return placement_layers(value["placement"], count, num_layers)


def parse_spec(doc, default_name="model"):
    """Builds a Spec from an already-parsed YAML document (a dict)."""
    assert isinstance(doc, dict), "spec: expected a mapping"
    unknown = set(doc) - _KEYS[""]
    assert not unknown, f"spec: unknown sections {sorted(map(str, unknown))}"
    assert "model" in doc, "spec: `model` is required"
    m = _section(doc, "model", "model")
    for key in ("vocab_size", "max_length", "d_model", "d_ff", "num_heads", "num_layers"):
        assert key in m, f"model.{key} is required"
    d_model = _int(m["d_model"], "model.d_model")
    num_heads = _int(m["num_heads"], "model.num_heads")
    assert d_model % num_heads == 0, "model.d_model must be divisible by num_heads"
    n = _int(m["num_layers"], "model.num_layers")
    eps = _float(m.get("layer_norm_epsilon", 1e-12), "model.layer_norm_epsilon")
    assert eps > 0, "model.layer_norm_epsilon must be > 0"
    name = m.get("name", default_name)
    assert isinstance(name, str), "model.name: expected a string"

    # Mixing: default, then attention layers, then per-layer overrides.
    mx = _section(doc, "mixing", "mixing")
    default = _enum(mx.get("default", "attention"), MIXING_KINDS, "mixing.default")
    mixing = [default] * n
    if "attention" in mx:
        for l in resolve_layers(mx["attention"], n, "mixing.attention"):
            mixing[l] = "attention"
    overrides = mx.get("layers", {}) or {}
    assert isinstance(overrides, dict), "mixing.layers: expected a mapping"
    for key, kind in overrides.items():
        l = int(key) if isinstance(key, str) and key.strip().isdigit() else key
        assert _is_int(l) and 0 <= l < n, f"mixing.layers: bad layer index {key!r}"
        mixing[l] = _enum(kind, MIXING_KINDS, f"mixing.layers.{key}")

    spec = Spec(
        name=name,
        vocab_size=_int(m["vocab_size"], "model.vocab_size"),
        max_length=_int(m["max_length"], "model.max_length"),
        type_vocab_size=_int(m.get("type_vocab_size", 4), "model.type_vocab_size"),
        d_emb=_int(m.get("d_emb", d_model), "model.d_emb"),
        d_model=d_model,
        d_ff=_int(m["d_ff"], "model.d_ff"),
        num_heads=num_heads,
        num_layers=n,
        activation=_enum(m.get("activation", "gelu_tanh"), ACTIVATIONS, "model.activation"),
        layer_norm_epsilon=eps,
        mixing=mixing,
        moe_layers=[False] * n,
    )

    if "moe" in doc:
        moe = _section(doc, "moe", "moe")
        assert "layers" in moe, "moe.layers is required in `moe`"
        assert "num_experts" in moe, "moe.num_experts is required in `moe`"
        for l in resolve_layers(moe["layers"], n, "moe.layers"):
            spec.moe_layers[l] = True
        spec.num_experts = _int(moe["num_experts"], "moe.num_experts")
        router = _section(moe, "router", "moe.router")
        spec.router_policy = _enum(router.get("policy", "experts_choose"), POLICIES,
                                   "moe.router.policy")
        if "k" in router:
            assert spec.router_policy in POLICIES_WITH_K, \
                f"moe.router.k: policy {spec.router_policy} has no k"
            spec.router_k = _int(router["k"], "moe.router.k")
            assert spec.router_k <= spec.num_experts, "moe.router.k > num_experts"
        if "batch_prioritized" in router:
            assert spec.router_policy == "tokens_choose", \
                "moe.router.batch_prioritized: tokens_choose only"
            spec.batch_prioritized = _bool(router["batch_prioritized"],
                                           "moe.router.batch_prioritized")
        if "method" in router:
            assert spec.router_policy == "capped_experts_choose", \
                "moe.router.method: capped_experts_choose only"
            spec.router_method = _enum(router["method"], ("greedy", "lp"),
                                       "moe.router.method")
        for key in ("iterations", "entropy"):
            assert key not in router or spec.router_method == "lp", \
                f"moe.router.{key}: method lp only"
        spec.router_iterations = _int(router.get("iterations", 50), "moe.router.iterations")
        assert spec.router_iterations >= 1, "moe.router.iterations < 1"
        spec.router_entropy = _float(router.get("entropy", 0.03), "moe.router.entropy")
        assert spec.router_entropy > 0, "moe.router.entropy not positive"
        spec.jitter = _float(router.get("jitter", 0.0), "moe.router.jitter")
        assert 0 <= spec.jitter < 1, "moe.router.jitter not in [0, 1)"
        cf = _section(moe, "capacity_factor", "moe.capacity_factor")
        spec.capacity_factor_train = _float(cf.get("train", 1.0), "moe.capacity_factor.train")
        spec.capacity_factor_eval = _float(cf.get("eval", 1.0), "moe.capacity_factor.eval")
        assert spec.capacity_factor_train > 0 and spec.capacity_factor_eval > 0
        spec.group_size = _int(moe.get("group_size", 4096), "moe.group_size")
        spec.expert_dropout = _float(moe.get("expert_dropout", 0.1), "moe.expert_dropout")
        assert 0 <= spec.expert_dropout < 1
        spec.load_balance_loss = _float(moe.get("load_balance_loss", 0.01),
                                        "moe.load_balance_loss")
        spec.z_loss = _float(moe.get("z_loss", 1e-4), "moe.z_loss")
        assert spec.load_balance_loss >= 0 and spec.z_loss >= 0

    dr = _section(doc, "dropout", "dropout")
    spec.dropout_hidden = _float(dr.get("hidden", 0.1), "dropout.hidden")
    spec.dropout_attention = _float(dr.get("attention", 0.1), "dropout.attention")
    assert 0 <= spec.dropout_hidden < 1 and 0 <= spec.dropout_attention < 1

    heads = _section(doc, "heads", "heads")
    spec.mlm = _bool(heads.get("mlm", True), "heads.mlm")
    spec.sentence_order = _bool(heads.get("sentence_order", True), "heads.sentence_order")
    if heads.get("classifier") is not None:
        cl = _section(heads, "classifier", "heads.classifier")
        spec.classifier_regression = _bool(cl.get("regression", False),
                                           "heads.classifier.regression")
        if "classes" in cl:
            assert not spec.classifier_regression, \
                "heads.classifier: `classes` and `regression` exclude each other"
            spec.classifier_classes = _int(cl["classes"], "heads.classifier.classes", lo=2)
        assert spec.has_classifier, "heads.classifier: needs `classes` or `regression: true`"

    comp = _section(doc, "compile", "compile")
    spec.compile_batch = _int(comp.get("batch", 8), "compile.batch")
    spec.compile_seq = _int(comp.get("seq", spec.max_length), "compile.seq")
    assert spec.compile_seq <= spec.max_length, "compile.seq > max_length"
    if spec.needs_full_length:
        assert spec.compile_seq == spec.max_length, \
            "compile.seq must equal max_length with non-attention mixing"
    return spec


def load_spec(path):
    """Parses a YAML spec file into a Spec (model.name defaults to the file name)."""
    with open(path, "r", encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    stem = os.path.splitext(os.path.basename(path))[0]
    return parse_spec(doc, default_name=stem)
