#!/usr/bin/python3
"""Independent PyTorch reference of one smx training step (module + CLI).

Computes what the compiled `@train_step` computes (docs/training.md): the
training-mode forward pass with its noise off (no dropout, no router jitter),
the loss of a pre-training or fine-tuning objective, every parameter's
gradient by torch autograd (float64 by default), optional global-norm
clipping and one AdamW step (`smx.lr_schedule` linear_warmup_linear_decay,
`smx.adamw_update`). It imports nothing from the compiler: the spec parser,
parameter names, input checks, routing and safetensors helpers come from this
directory (the NumPy reference), the differentiable model from smx_torch.py
(which the PyTorch benchmarks also run); the MoE losses, the objectives and
the optimizer are written here.

  torch_train_step.py --spec S --weights W.safetensors --batch BATCH.safetensors
                      --task pretrain|finetune --step S --peak-lr X --warmup N
                      --total N [--max-grad-norm C] [--moments M.safetensors]
                      --output OUT.safetensors
                      [--dtype float64|float32] [--capacity train|eval|CF]
                      [--output-dtype f32|f64] [--threads N]

Writes `loss`, each loss part, `grad_norm`, `learning_rate`, `grad_scale`,
the MoE metrics, and for every parameter NAME `grad.NAME`, `param.NAME`
(updated), `first_moment.NAME`, `second_moment.NAME`. See README.md.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import smx_routing as routing  # noqa: E402
import smx_safetensors as safetensors  # noqa: E402
import smx_torch  # noqa: E402
from smx_model import check_inputs, parameter_shapes  # noqa: E402
from smx_spec import load_spec  # noqa: E402
from smx_torch import mlm_head  # noqa: E402

# smx.adamw_update / smx-build-train-step defaults.
BETA1 = 0.9
BETA2 = 0.999
EPSILON = 1e-6
WEIGHT_DECAY = 0.01
CLIP_TINY = 1e-6          # scale = min(1, c / (norm + 1e-6))
IGNORE_INDEX = -100       # smx.cross_entropy's default

TASKS = ("pretrain", "finetune")
DTYPES = {"float64": torch.float64, "float32": torch.float32}


# --------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------

def init_kind(name):
    """The parameter's init as the frontend marks it (`smx.init`): names ending in
    `bias` (biases, `heads.mlm.output_bias`) are zeros, `.scale` ones, the rest
    (matrices, embeddings, mixing params) normal. Same rule as smx_model's init."""
    if name.endswith("bias"):
        return "zeros"
    if name.endswith(".scale"):
        return "ones"
    return "normal"


def decays(name):
    """Decoupled weight decay applies to the normal-initialized parameters only."""
    return init_kind(name) == "normal"


# --------------------------------------------------------------------------
# Forward: smx_torch's model, reference routing, MoE metrics and losses
# --------------------------------------------------------------------------

def router_z_loss(logits):
    """mean_t(logsumexp_e(logits[t, e])^2)."""
    return torch.mean(torch.logsumexp(logits, dim=-1) ** 2)


def load_balance_loss(probs, k, groups):
    """Mean over groups of E^2 * mean_e(f_e * P_e). f_e (the fraction of the group's
    tokens with e among their top-k, before drops) is a constant; P_e carries the
    gradient."""
    t, e = probs.shape
    tg = t // groups
    losses = []
    for gi in range(groups):
        pg = probs[gi * tg:(gi + 1) * tg]
        topk = routing.expert_choices(pg.detach().double().numpy())[:, :k]
        f = torch.from_numpy(np.bincount(topk.reshape(-1), minlength=e) / tg).to(probs.dtype)
        losses.append(e * e * torch.mean(f * pg.mean(dim=0)))
    return torch.stack(losses).mean()


def forward(spec, p, input_ids, type_ids=None, padding_mask=None, capacity_factor="train",
            mlm_logits=False):
    """Forward pass with training's routing capacity by default and no noise.

    p: {name: tensor} (float64 or float32, any may require grad). input_ids,
    type_ids: [B, S] integer arrays/tensors; padding_mask default input_ids != 0.
    Returns {name: tensor}: sequence_output, pooled_output, sentence_order_logits,
    classifier_logits, the MoE outputs (moe.i.*: dispatch_indices as an array,
    combine_weights, router_logits, router_probs, tokens_per_expert,
    dropped_fraction, router_z_loss, load_balance_loss for tokens_choose), and
    mlm_logits [B, S, V] only with mlm_logits=True (the train step runs the MLM
    head on the masked positions only). The routing decisions are
    smx_routing's (smx_torch.route_reference).
    """
    input_ids, type_ids, padding_mask = check_inputs(spec, input_ids, type_ids, padding_mask)
    out = smx_torch.forward(spec, p, torch.from_numpy(input_ids), torch.from_numpy(type_ids),
                            torch.from_numpy(padding_mask), spec.capacity_factor(capacity_factor),
                            mlm=spec.mlm and mlm_logits)
    for i in range(spec.num_layers):
        if spec.moe_layers[i]:
            tag = f"moe.{i}."
            indices = out[tag + "dispatch_indices"].numpy()
            probs = out[tag + "router_probs"]
            tokens_per_expert, dropped = routing.expert_load(indices, probs.shape[0])
            out[tag + "dispatch_indices"] = indices
            out[tag + "tokens_per_expert"] = tokens_per_expert
            out[tag + "dropped_fraction"] = torch.tensor(dropped, dtype=probs.dtype)
            out[tag + "router_z_loss"] = router_z_loss(out[tag + "router_logits"])
            if spec.router_policy == "tokens_choose":
                out[tag + "load_balance_loss"] = load_balance_loss(probs, spec.router_k,
                                                                   indices.shape[0])
    return out


# --------------------------------------------------------------------------
# Objectives
# --------------------------------------------------------------------------

def cross_entropy(logits, labels, weights=None, ignore_index=IGNORE_INDEX):
    """smx.cross_entropy: sum_i w_i * (logsumexp(logits_i) - logits_i[label_i]) /
    max(sum_i w_i, 1), with w_i = 0 where label_i == ignore_index."""
    labels = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    assert labels.shape == logits.shape[:-1], \
        f"labels {tuple(labels.shape)} do not match logits {tuple(logits.shape)}"
    valid = labels != ignore_index
    assert bool(((labels[valid] >= 0) & (labels[valid] < logits.shape[-1])).all()), \
        f"label out of range [0, {logits.shape[-1]})"
    w = (torch.ones(labels.shape, dtype=logits.dtype) if weights is None
         else torch.as_tensor(np.asarray(weights), dtype=logits.dtype))
    assert w.shape == labels.shape
    w = torch.where(valid, w, torch.zeros((), dtype=logits.dtype))
    safe = torch.where(valid, labels, torch.zeros((), dtype=torch.int64))
    nll = torch.logsumexp(logits, dim=-1) - logits.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    return (w * nll).sum() / torch.clamp(w.sum(), min=1.0)


def mean_squared_error(predictions, labels):
    """Regression classifier ([B, 1] predictions, [B] f32 labels): mean (y - label)^2."""
    labels = torch.as_tensor(np.asarray(labels, dtype=np.float64), dtype=predictions.dtype)
    assert labels.shape == predictions.shape[:1]
    return torch.mean((predictions[:, 0] - labels) ** 2)


def gather_positions(h, positions):
    """h [B, S, d], positions [B, P] -> [B, P, d]."""
    positions = torch.as_tensor(np.asarray(positions), dtype=torch.int64)
    assert positions.ndim == 2 and positions.shape[0] == h.shape[0], "mlm_positions must be [B, P]"
    assert bool(((positions >= 0) & (positions < h.shape[1])).all()), "mlm position out of range"
    return h[torch.arange(h.shape[0]).unsqueeze(1), positions]


def required_inputs(spec, task):
    """Batch tensors the objective reads (besides input_ids and optional type_ids,
    padding_mask)."""
    if task == "pretrain":
        names = []
        if spec.mlm:
            names += ["mlm_positions", "mlm_labels", "mlm_weights"]
        if spec.sentence_order:
            names += ["order_labels"]
        return names
    return ["labels"]


def loss_terms(spec, p, batch, task, capacity_factor="train"):
    """Runs the forward pass and the objective.

    Returns (terms, out): terms is {name: (weight, 0-d tensor)} in loss order;
    out is the forward's outputs (MoE routing and metrics included).
    """
    assert task in TASKS, f"task must be one of {TASKS}"
    if task == "pretrain":
        assert spec.mlm or spec.sentence_order, \
            "pretrain needs heads.mlm or heads.sentence_order in the spec"
    else:
        assert spec.has_classifier, "finetune needs heads.classifier in the spec"
    for name in ["input_ids"] + required_inputs(spec, task):
        assert name in batch, f"batch: no `{name}` tensor (task {task})"
    out = forward(spec, p, batch["input_ids"], batch.get("type_ids"),
                  batch.get("padding_mask"), capacity_factor)
    terms = {}
    if task == "pretrain":
        if spec.mlm:
            h = gather_positions(out["sequence_output"], batch["mlm_positions"])
            logits = mlm_head(h, p, spec.layer_norm_epsilon)
            terms["mlm_loss"] = (1.0, cross_entropy(logits, batch["mlm_labels"],
                                                    batch["mlm_weights"]))
        if spec.sentence_order:
            terms["sentence_order_loss"] = (1.0, cross_entropy(out["sentence_order_logits"],
                                                               batch["order_labels"]))
    else:
        logits = out["classifier_logits"]
        if spec.classifier_regression:
            terms["classifier_loss"] = (1.0, mean_squared_error(logits, batch["labels"]))
        else:
            terms["classifier_loss"] = (1.0, cross_entropy(logits, batch["labels"]))
    for i in range(spec.num_layers):
        if spec.moe_layers[i]:
            terms[f"moe.{i}.router_z_loss"] = (spec.z_loss, out[f"moe.{i}.router_z_loss"])
            if spec.router_policy == "tokens_choose":
                terms[f"moe.{i}.load_balance_loss"] = (spec.load_balance_loss,
                                                       out[f"moe.{i}.load_balance_loss"])
    return terms, out


def total_loss(terms):
    return sum(weight * value for weight, value in terms.values())


# --------------------------------------------------------------------------
# Optimizer
# --------------------------------------------------------------------------

def lr_schedule(step, peak, warmup, total):
    """smx.lr_schedule <linear_warmup_linear_decay> at 0-based `step`:
    peak*(step+1)/warmup while step < warmup, then peak*(total-step)/(total-warmup),
    and 0 from `total` on (the warmup branch is tested first, as the op reads)."""
    if step < warmup:
        return peak * (step + 1) / warmup
    if step >= total:
        return 0.0
    return peak * (total - step) / (total - warmup)


def adamw_update(param, grad, m, v, lr, t, beta1=BETA1, beta2=BETA2, epsilon=EPSILON,
                 weight_decay=WEIGHT_DECAY):
    """smx.adamw_update with Adam step t (1-based). Works on tensors or arrays."""
    m1 = beta1 * m + (1 - beta1) * grad
    v1 = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m1 / (1 - beta1 ** t)
    v_hat = v1 / (1 - beta2 ** t)
    p1 = param - lr * (m_hat / (v_hat ** 0.5 + epsilon) + weight_decay * param)
    return p1, m1, v1


def train_step(spec, weights, batch, task, step, peak_lr, warmup, total, max_grad_norm=0.0,
               moments=None, dtype=torch.float64, capacity_factor="train", beta1=BETA1,
               beta2=BETA2, epsilon=EPSILON, weight_decay=WEIGHT_DECAY):
    """One training step.

    weights: {NAME: array} (every parameter of the spec). batch: {name: array}.
    moments: {first_moment.NAME / second_moment.NAME: array}; missing ones are zeros.
    Returns {name: tensor of `dtype` (or int array)}: loss, the loss parts,
    grad_norm, learning_rate, grad_scale, the MoE metrics, and grad./param./
    first_moment./second_moment.NAME. A parameter off the loss path has no gradient:
    its value and moments are left unchanged and grad.NAME is zeros; its name is
    listed in result["untrained"] (a Python list).
    """
    moments = moments or {}
    shapes = parameter_shapes(spec)
    names = list(shapes)
    params = {}
    for name, shape in shapes.items():
        assert name in weights, f"weights: missing parameter {name}"
        value = np.asarray(weights[name])
        assert value.shape == tuple(shape), f"{name}: shape {value.shape} != {tuple(shape)}"
        params[name] = torch.tensor(value, dtype=dtype, requires_grad=True)
    terms, out = loss_terms(spec, params, batch, task, capacity_factor)
    loss = total_loss(terms)
    grads = torch.autograd.grad(loss, [params[n] for n in names], allow_unused=True)
    grads = dict(zip(names, grads))

    with torch.no_grad():
        present = [g for g in grads.values() if g is not None]
        norm = torch.sqrt(sum((g * g).sum() for g in present)) if present else \
            torch.zeros((), dtype=dtype)
        scale = 1.0
        if max_grad_norm and max_grad_norm > 0:
            scale = min(1.0, max_grad_norm / (float(norm) + CLIP_TINY))
        lr = lr_schedule(step, peak_lr, warmup, total)
        t = step + 1
        result = {"loss": loss.detach(), "grad_norm": norm,
                  "learning_rate": torch.tensor(lr, dtype=dtype),
                  "grad_scale": torch.tensor(scale, dtype=dtype)}
        for name, (_, value) in terms.items():
            result[name] = value.detach()
        for name, value in out.items():
            if name.endswith(".tokens_per_expert") or name.endswith(".dropped_fraction"):
                result[name] = value
        untrained = []
        for name in names:
            p = params[name].detach()
            m = torch.as_tensor(np.asarray(moments.get(f"first_moment.{name}",
                                                       np.zeros(shapes[name]))), dtype=dtype)
            v = torch.as_tensor(np.asarray(moments.get(f"second_moment.{name}",
                                                       np.zeros(shapes[name]))), dtype=dtype)
            assert m.shape == p.shape and v.shape == p.shape, f"moments of {name}: bad shape"
            g = grads[name]
            if g is None:
                untrained.append(name)
                result[f"grad.{name}"] = torch.zeros_like(p)
                p1, m1, v1 = p, m, v
            else:
                result[f"grad.{name}"] = g
                p1, m1, v1 = adamw_update(p, g * scale, m, v, lr, t, beta1, beta2, epsilon,
                                          weight_decay if decays(name) else 0.0)
            result[f"param.{name}"] = p1
            result[f"first_moment.{name}"] = m1
            result[f"second_moment.{name}"] = v1
        result["untrained"] = untrained
    return result


# --------------------------------------------------------------------------
# Repeated steps (benchmarks): persistent state, in-place AdamW
# --------------------------------------------------------------------------

def adamw_update_(param, grad, m, v, lr, t, beta1=BETA1, beta2=BETA2, epsilon=EPSILON,
                  weight_decay=WEIGHT_DECAY):
    """adamw_update in place, on tensors: overwrites m, v and param with m1, v1, p1.

    Same formula, evaluated in the same order (m1 = beta1*m + (1-beta1)*grad,
    v1 = beta2*v + ((1-beta2)*grad)*grad, p1 = param - lr*(m_hat/(sqrt(v_hat)+eps)
    + wd*param)), so the results are adamw_update's up to the last bit (ATen
    evaluates `a + alpha*b` and addcmul with fused multiply-adds). It allocates two
    temporaries of the parameter's size instead of about a dozen, which is what
    dominates the update of a large model in eager PyTorch. Call under
    torch.no_grad() when param requires grad."""
    m.mul_(beta1).add_(grad, alpha=1 - beta1)
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = torch.div(v, 1 - beta2 ** t).pow_(0.5).add_(epsilon)
    update = torch.div(m, 1 - beta1 ** t).div_(denom)
    update.add_(param, alpha=weight_decay)
    param.sub_(update, alpha=lr)
    return param, m, v


class Trainer:
    """The state of a training loop over train_step's computation, for timing many
    steps: the parameters are leaf tensors of `dtype` that persist between steps,
    with their Adam moments; each step updates them in place.

    step(batch, step) computes what train_step(..., moments=<the previous step's>)
    computes — the same forward pass and objective (loss_terms), autograd gradients,
    global-norm clipping, lr_schedule and AdamW formula (adamw_update_) — without
    converting the weights from NumPy and allocating the moments every step, and
    returns only the scalars: loss, the loss parts, grad_norm, learning_rate,
    grad_scale. `params`, `first_moments`, `second_moments` ({NAME: tensor}) hold
    the state; `untrained` lists the parameters off the loss path (left unchanged,
    as train_step leaves them)."""

    def __init__(self, spec, weights, task, peak_lr, warmup, total, max_grad_norm=0.0,
                 moments=None, dtype=torch.float32, capacity_factor="train", beta1=BETA1,
                 beta2=BETA2, epsilon=EPSILON, weight_decay=WEIGHT_DECAY):
        moments = moments or {}
        self.spec, self.task, self.dtype = spec, task, dtype
        self.peak_lr, self.warmup, self.total = peak_lr, warmup, total
        self.max_grad_norm, self.capacity_factor = max_grad_norm, capacity_factor
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.weight_decay = weight_decay
        shapes = parameter_shapes(spec)
        self.names = list(shapes)
        self.params, self.first_moments, self.second_moments = {}, {}, {}
        for name, shape in shapes.items():
            assert name in weights, f"weights: missing parameter {name}"
            value = np.asarray(weights[name])
            assert value.shape == tuple(shape), f"{name}: shape {value.shape} != {tuple(shape)}"
            self.params[name] = torch.tensor(value, dtype=dtype, requires_grad=True)
            for key, store in (("first_moment", self.first_moments),
                               ("second_moment", self.second_moments)):
                if f"{key}.{name}" in moments:
                    store[name] = torch.tensor(np.asarray(moments[f"{key}.{name}"]),
                                               dtype=dtype)
                    assert store[name].shape == tuple(shape), \
                        f"moments of {name}: bad shape"
                else:
                    store[name] = torch.zeros(tuple(shape), dtype=dtype)
        self.untrained = []

    def step(self, batch, step):
        """One step at 0-based `step` (the learning-rate schedule and Adam's t = step + 1)."""
        terms, _ = loss_terms(self.spec, self.params, batch, self.task, self.capacity_factor)
        loss = total_loss(terms)
        grads = torch.autograd.grad(loss, [self.params[n] for n in self.names],
                                    allow_unused=True)
        with torch.no_grad():
            present = [g for g in grads if g is not None]
            # sum of squares without a squared copy of every gradient
            norm = torch.sqrt(sum(torch.dot(g.reshape(-1), g.reshape(-1)) for g in present)) \
                if present else torch.zeros((), dtype=self.dtype)
            scale = 1.0
            if self.max_grad_norm and self.max_grad_norm > 0:
                scale = min(1.0, self.max_grad_norm / (float(norm) + CLIP_TINY))
            lr = lr_schedule(step, self.peak_lr, self.warmup, self.total)
            t = step + 1
            self.untrained = []
            for name, g in zip(self.names, grads):
                if g is None:
                    self.untrained.append(name)
                    continue
                if scale != 1.0:
                    g.mul_(scale)
                adamw_update_(self.params[name], g, self.first_moments[name],
                              self.second_moments[name], lr, t, self.beta1, self.beta2,
                              self.epsilon, self.weight_decay if decays(name) else 0.0)
        result = {"loss": float(loss), "grad_norm": float(norm), "learning_rate": lr,
                  "grad_scale": scale}
        for name, (_, value) in terms.items():
            result[name] = float(value)
        return result


def result_for_file(result, float_dtype=np.float32):
    """Tensors to NumPy in file dtypes: floats as `float_dtype`, I64 expert loads."""
    arrays = {}
    for name, value in result.items():
        if name == "untrained":
            continue
        a = value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        arrays[name] = a.astype(np.int64) if name.endswith(".tokens_per_expert") \
            else a.astype(float_dtype)
    return arrays


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------

def read_weights(path, spec):
    """Plain parameter names, or an earlier output of this tool (its param.NAME)."""
    tensors = safetensors.load(path)
    names = parameter_shapes(spec)
    if not any(n in tensors for n in names) and any(f"param.{n}" in tensors for n in names):
        return {n: tensors[f"param.{n}"] for n in names if f"param.{n}" in tensors}
    return tensors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", required=True)
    parser.add_argument("--weights", required=True,
                        help="parameters under their docs/weights.md names (or an earlier "
                             "--output of this tool: its param.NAME tensors)")
    parser.add_argument("--batch", required=True,
                        help="safetensors: input_ids [B,S], optional type_ids, padding_mask; "
                             "pretrain: mlm_positions, mlm_labels, mlm_weights [B,P], "
                             "order_labels [B]; finetune: labels [B]")
    parser.add_argument("--task", required=True, choices=TASKS)
    parser.add_argument("--step", type=int, required=True, help="0-based step")
    parser.add_argument("--peak-lr", type=float, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--total", type=int, required=True)
    parser.add_argument("--max-grad-norm", type=float, default=0.0,
                        help="global-norm clipping limit (0: none)")
    parser.add_argument("--moments", default=None,
                        help="first_moment.NAME / second_moment.NAME (default zeros; an "
                             "earlier --output works)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float64",
                        help="compute dtype (default float64)")
    parser.add_argument("--output-dtype", choices=("f32", "f64"), default="f32")
    parser.add_argument("--capacity", default="train",
                        help="MoE capacity factor: train (default, as the training forward), "
                             "eval, or a number")
    parser.add_argument("--beta1", type=float, default=BETA1)
    parser.add_argument("--beta2", type=float, default=BETA2)
    parser.add_argument("--epsilon", type=float, default=EPSILON)
    parser.add_argument("--weight-decay", type=float, default=WEIGHT_DECAY)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    spec = load_spec(args.spec)
    weights = read_weights(args.weights, spec)
    batch = safetensors.load(args.batch)
    moments = safetensors.load(args.moments) if args.moments else None
    result = train_step(spec, weights, batch, args.task, args.step, args.peak_lr, args.warmup,
                        args.total, args.max_grad_norm, moments, DTYPES[args.dtype],
                        args.capacity, args.beta1, args.beta2, args.epsilon, args.weight_decay)
    arrays = result_for_file(result, np.float32 if args.output_dtype == "f32" else np.float64)
    safetensors.save(args.output, arrays, metadata={
        "task": args.task, "step": args.step, "dtype": args.dtype,
        "untrained": ",".join(result["untrained"])})
    parts = [n for n in arrays if n.endswith("_loss")]
    print(f"loss {float(result['loss']):.9g} "
          + " ".join(f"{n} {float(result[n]):.9g}" for n in parts)
          + f" grad_norm {float(result['grad_norm']):.9g}"
          + f" learning_rate {float(result['learning_rate']):.9g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
