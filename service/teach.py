"""One step of gradient descent on the learner's drawing: the loss, every gradient, and what one step changes.

For a batch of one and the cross-entropy L of target digit t, backpropagation gives each layer's error signal
δ = ∂L/∂z: at the output δ_k = p_k − y_k, below it δ_j = Σ_k W_kj δ_k · f'(z_j). The weights' gradient is
∂L/∂W = δ ⊗ (the layer's input) and the biases' is δ itself, which is how δ is read here: the gradient of each
layer's bias (for maxout, the winning piece's; the others get none). The step is taken on a copy, in eval mode
(no dropout; batch norm with its running statistics): the served network never changes. The same gradients give
the loss after one step for a range of learning rates (service/lr_sweep.py), to show what too large a step does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from model import INPUT_SIDE, MLP
from service.json_provider import rounded
from service.lr_sweep import Step, lr_sweep


@dataclass(frozen=True)
class Lesson:
    """What to teach: the right digit, the learning rate, and optionally one neuron (layer position, index)."""

    target: int
    lr: float
    neuron: tuple[int, int] | None = None


def lesson_step(model: MLP, x: np.ndarray, target: int) -> tuple[Step, torch.Tensor, torch.Tensor]:
    """The SGD step that teaching image x the digit target takes, on a copy of the model in eval mode: the step
    (each layer's weight and bias gradients by name, layer by layer), the logits (1, 10) and the loss before it."""
    net = copy.deepcopy(model).eval()
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).reshape(1, -1)  # (1, 784)
    targets = torch.tensor([target])
    logits = net(inputs)  # (1, 10)
    loss = F.cross_entropy(logits, targets)
    stepped = [p for layer in [*net.hidden, net.output] for p in (layer.weight, layer.bias)]
    grads = torch.autograd.grad(loss, stepped)
    names = {p: name for name, p in net.named_parameters()}  # tensors hash by identity
    return Step(net, inputs, targets, {names[p]: g for p, g in zip(stepped, grads)}), logits.detach(), loss.detach()


def teach(model: MLP, x: np.ndarray, lesson: Lesson) -> dict:
    """Loss, per-layer δ and gradient norms, the probabilities before and after one SGD step, and a sweep of η."""
    step, logits, loss = lesson_step(model, x, lesson.target)
    grads = list(step.grads.values())  # weight, bias of each layer in turn
    weight_grads, bias_grads = grads[0::2], grads[1::2]
    before = torch.softmax(logits, dim=1)[0]
    after_logits = step.logits_after(lesson.lr)
    answer = {
        "target": lesson.target,
        "lr": lesson.lr,
        "loss": float(loss),
        "loss_after": float(F.cross_entropy(after_logits, step.target)),
        "probabilities_before": rounded(before.numpy()),
        "probabilities_after": rounded(torch.softmax(after_logits, dim=1)[0].numpy()),
        "layers": [
            _layer(name, model, pos, gw, gb)
            for pos, (name, gw, gb) in enumerate(zip(model.layer_names, weight_grads, bias_grads))
        ],
        "lr_sweep": lr_sweep(step, lesson.lr),
    }
    if lesson.neuron is not None:
        answer["neuron"] = _neuron(model, lesson.neuron, weight_grads, bias_grads)
    return answer


def _pieces(model: MLP, pos: int) -> int:
    """Linear pieces per neuron in layer pos: maxout's k for hidden layers, 1 for the output."""
    return model.config.pieces if pos < len(model.hidden) else 1


def _layer(name: str, model: MLP, pos: int, gw: torch.Tensor, gb: torch.Tensor) -> dict:
    """One layer's δ per neuron and the norm of each neuron's incoming-weight gradient."""
    k = _pieces(model, pos)
    delta = gb.view(-1, k).sum(1)  # (n,): only the winning piece has a gradient
    norms = gw.view(-1, k * gw.shape[1]).norm(dim=1)  # (n,)
    return {"name": name, "size": len(delta), "delta": rounded(delta.numpy()), "gradient_norm": rounded(norms.numpy())}


def _neuron(model: MLP, neuron: tuple[int, int], weight_grads, bias_grads) -> dict:
    """One neuron's δ and incoming-weight gradient (a 28×28 picture for the first hidden layer)."""
    pos, i = neuron
    k = _pieces(model, pos)
    rows = weight_grads[pos][i * k : (i + 1) * k]  # (k, n_in)
    gradient = rows.sum(0)  # only the winning piece's row is non-zero
    if pos == 0:
        gradient = gradient.view(INPUT_SIDE, INPUT_SIDE)
    return {
        "layer": model.layer_names[pos],
        "index": i,
        "delta": float(bias_grads[pos][i * k : (i + 1) * k].sum()),
        "weight_gradient": rounded(gradient.numpy()),
        "gradient_norm": float(rows.norm()),
    }
