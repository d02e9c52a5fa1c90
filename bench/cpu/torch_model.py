"""The smx model, its pre-training loss and AdamW in PyTorch, as the PyTorch
peers of the benchmarks run them: bench/cpu/torch_peer.py (CPU: eager,
torch.compile, ONNX Runtime) and bench/gpu/torch_gpu_peer.py (CUDA: eager
and torch.compile in bf16 autocast).

The model is the PyTorch reference's (test/reference/smx_torch.py, which that
directory's tests check against the NumPy reference), routed in the graph
(experts_choose as one torch.topk per group: `route_topk`) so that
torch.compile and the ONNX exporter see one graph. Training is what a
PyTorch user writes: `pretrain_loss` below, `loss.backward()`,
`clip_grad_norm_`, `torch.optim.AdamW` with the smx schedule (linear
warm-up, linear decay) and weight decay on the normal-initialized parameters
only, which is smx.adamw_update's formula (torch_train_step.adamw_update):
`make_adamw`.

Importing this module parses no arguments and sets no environment variables
(a peer sets its thread counts before it imports torch, then this); it puts
test/reference on sys.path for the reference modules.
"""

import os
import sys

_REFERENCE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           os.pardir, os.pardir, "test", "reference"))
if _REFERENCE not in sys.path:
    sys.path.insert(0, _REFERENCE)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import smx_routing  # noqa: E402
import smx_safetensors  # noqa: E402
import smx_torch  # noqa: E402
from smx_model import parameter_shapes  # noqa: E402
from torch_train_step import BETA1, BETA2, EPSILON, WEIGHT_DECAY, decays, lr_schedule  # noqa: E402

IGNORE_INDEX = -100


def _program():
    """The running script's name, which error messages start with."""
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "torch_model.py"


# --------------------------------------------------------------------------
# The model in one graph
# --------------------------------------------------------------------------

def route_topk(probs, spec, capacity_factor, token_ids):
    """experts_choose in the graph: every expert takes the top-C tokens of each group
    by router probability (one torch.topk; float32 near-ties may order differently
    from the NumPy reference). Returns (indices [G, E, C], weights [G, E, C])."""
    del token_ids
    if spec.router_policy != "experts_choose":
        sys.exit(f"{_program()}: router policy {spec.router_policy!r}: only "
                 "experts_choose routes in the graph")
    t, e = probs.shape
    g = smx_routing.num_groups(t, spec.group_size)
    cap = smx_routing.capacity(t, g, e, capacity_factor)
    weights, indices = torch.topk(probs.view(g, t // g, e).transpose(1, 2), cap, dim=-1)
    return indices, weights


def forward(spec, p, input_ids, type_ids, capacity_factor, mlm):
    padding_mask = input_ids != 0
    return smx_torch.forward(spec, p, input_ids.long(), type_ids.long(), padding_mask,
                             capacity_factor, route=route_topk, mlm=mlm)


OUTPUTS = ("sequence_output", "mlm_logits", "pooled_output", "sentence_order_logits",
           "classifier_logits")


class Inference(torch.nn.Module):
    """The eval-mode forward as a module (the ONNX exporter wants one): parameters
    as buffers, outputs in OUTPUTS order (those the spec has)."""

    def __init__(self, spec, params):
        super().__init__()
        self.spec = spec
        self.names = list(params)
        for i, name in enumerate(self.names):
            self.register_buffer(f"p{i}", params[name])
        self.outputs = None

    def forward(self, input_ids, type_ids):
        p = {name: getattr(self, f"p{i}") for i, name in enumerate(self.names)}
        out = forward(self.spec, p, input_ids, type_ids, self.spec.capacity_factor("eval"),
                      self.spec.mlm)
        self.outputs = [name for name in OUTPUTS if name in out]
        return tuple(out[name] for name in self.outputs)


def weighted_cross_entropy(logits, labels, weights=None):
    """smx.cross_entropy: sum_i w_i * nll_i / max(sum_i w_i, 1), w_i = 0 where the
    label is IGNORE_INDEX."""
    valid = labels != IGNORE_INDEX
    w = valid.to(logits.dtype) if weights is None else weights.to(logits.dtype) * valid
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                          torch.where(valid, labels, 0).reshape(-1), reduction="none")
    return (w.reshape(-1) * nll).sum() / torch.clamp(w.sum(), min=1.0)


def pretrain_loss(spec, p, batch):
    """The pre-training objective of docs/training.md (torch_train_step.loss_terms):
    MLM on the masked slots, sentence order, spec.z_loss × each MoE layer's router
    z-loss. batch: input_ids, type_ids, and mlm_positions, mlm_labels, mlm_weights
    (with heads.mlm), order_labels (with heads.sentence_order); integer tensors
    int64. Returns (total, {part: value})."""
    out = forward(spec, p, batch["input_ids"], batch["type_ids"],
                  spec.capacity_factor("train"), mlm=False)
    parts = {}
    if spec.mlm:
        h = out["sequence_output"]
        rows = torch.arange(h.shape[0], device=h.device).unsqueeze(1)
        logits = smx_torch.mlm_head(h[rows, batch["mlm_positions"]], p,
                                    spec.layer_norm_epsilon)
        parts["mlm_loss"] = weighted_cross_entropy(logits, batch["mlm_labels"],
                                                   batch["mlm_weights"])
    if spec.sentence_order:
        parts["sentence_order_loss"] = weighted_cross_entropy(out["sentence_order_logits"],
                                                              batch["order_labels"])
    total = sum(parts.values())
    for i in range(spec.num_layers):
        if spec.moe_layers[i]:
            logits = out[f"moe.{i}.router_logits"]
            total = total + spec.z_loss * torch.mean(torch.logsumexp(logits, dim=-1) ** 2)
    return total, parts


# --------------------------------------------------------------------------
# Parameters, batches and the optimizer
# --------------------------------------------------------------------------

def load(spec, weights_path, batch_path):
    """The spec's parameters from a weights file (float32 CPU tensors, in
    parameter_shapes order) and a batch file (integer tensors int64; type_ids
    zeros when absent). Returns (params, batch)."""
    weights = smx_safetensors.load(weights_path)
    params = {}
    for name in parameter_shapes(spec):
        if name not in weights:
            sys.exit(f"{_program()}: {weights_path}: no parameter {name}")
        params[name] = torch.from_numpy(np.ascontiguousarray(weights[name], dtype=np.float32))
    batch = {k: torch.from_numpy(np.ascontiguousarray(v))
             for k, v in smx_safetensors.load(batch_path).items()}
    if "type_ids" not in batch:
        batch["type_ids"] = torch.zeros_like(batch["input_ids"])
    for key in ("input_ids", "type_ids", "mlm_positions", "mlm_labels", "order_labels"):
        if key in batch:
            batch[key] = batch[key].long()
    return params, batch


def make_adamw(params, lr, warmup, total, **options):
    """torch.optim.AdamW over params ({name: tensor}, already requiring grad) with
    smx's betas, epsilon and weight decay (on the normal-initialized parameters
    only), and a LambdaLR of smx's schedule: peak `lr`, `warmup` warm-up steps,
    `total` steps. options go to AdamW (foreach=True, fused=True). Returns
    (optimizer, schedule); call schedule.step() after each optimizer.step()."""
    decay = [t for n, t in params.items() if decays(n)]
    no_decay = [t for n, t in params.items() if not decays(n)]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": WEIGHT_DECAY},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, betas=(BETA1, BETA2), eps=EPSILON, **options)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_schedule(step, 1.0, warmup, total))
    return optimizer, schedule
