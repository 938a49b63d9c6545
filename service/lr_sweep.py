"""One SGD step for many learning rates: where a step barely moves the loss, where it helps, where it is too large.

The gradient is computed once (service/teach.py); the network after w ← w − η·g is the same module called with the
stepped weights in place of its own (torch.func.functional_call), so nothing is copied per η and the module never
changes. Each η reports the loss on the drawing after its step and how large the step is beside the weights.

Why both (benchmarks/teach_steps.py, docs/api.md): a step too large does show on the drawing on some networks (tanh
and maxout given a wrong label overshoot, from η ≈ 0.2 on; the default 784-512-256-10 ReLU network bumps up a little
at η = 0.1–0.3 in 6 of 10 wrong-label lessons before it reaches 0), but its loss on the drawing alone mostly falls
however large η: a larger step only makes the network surer of this one drawing. Too large a step shows on the
other digits instead: their accuracy fell by a point once one step moved the weights by about 1–3 % (‖η·g‖ / ‖w‖),
and to chance soon after.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.func import functional_call

from model import MLP

GRID = tuple(10 ** (k / 2) for k in range(-6, 7))  # 1e-3 … 1e3, half a decade apart: 13 learning rates


@dataclass(frozen=True)
class Step:
    """The direction of one SGD step: the network (eval mode), its input, the target, ∂L/∂w of each stepped weight."""

    net: MLP
    inputs: torch.Tensor  # (1, 784)
    target: torch.Tensor  # (1,)
    grads: dict[str, torch.Tensor]  # parameter name → its gradient, same shape

    def logits_after(self, lr: float) -> torch.Tensor:
        """The logits (1, 10) after w ← w − lr·g for every stepped weight, the network itself unchanged."""
        params = dict(self.net.named_parameters())
        stepped = {name: params[name] - lr * g for name, g in self.grads.items()}
        with torch.no_grad():
            return functional_call(self.net, stepped, (self.inputs,))

    def relative_size(self) -> float:
        """‖g‖ / ‖w‖ over the stepped weights: a step of η moves them by η times this, as a share of their size."""
        params = dict(self.net.named_parameters())
        g2 = sum(float(g.double().square().sum()) for g in self.grads.values())
        w2 = sum(float(params[name].detach().double().square().sum()) for name in self.grads)
        return math.sqrt(g2 / w2) if w2 else math.inf


def lr_sweep(step: Step, lr: float) -> list[dict]:
    """Loss and p(target) after one step for every η of GRID and lr, by increasing η, with the step's size."""
    size = step.relative_size()
    return [_after(step, eta, size) for eta in sorted({*GRID, lr})]


def _after(step: Step, lr: float, size: float) -> dict:
    logits = step.logits_after(lr)
    loss = float(F.cross_entropy(logits, step.target))
    p_target = float(torch.softmax(logits, dim=1)[0, step.target])
    return {
        "lr": lr,
        "loss_after": _finite(loss),
        "p_target_after": _finite(round(p_target, 6)),
        "weight_change": _finite(lr * size),
    }


def _finite(value: float) -> float | None:
    """The value, or None (JSON null) where float32 overflowed: only steps far beyond any sensible η get there."""
    return value if math.isfinite(value) else None
