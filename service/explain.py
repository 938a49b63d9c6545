"""Why this answer: attributions of a digit's logit, or of one neuron, to the 784 input pixels, with Captum.

Methods (Captum's implementations, not ours): integrated gradients (Sundararajan et al., 2017) from a black
baseline, saliency |∂z/∂x|, and gradient × input. For one hidden neuron (``neuron=layer:i``): integrated
gradients of its activation a_i (why did it fire), or its conductance (Dhamdhere et al., 2018): how much of the
digit's logit flows from each pixel through that neuron. Integrated gradients are complete: the map sums to
output(input) − output(baseline), up to Captum's convergence delta, which the answer reports.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import InputXGradient, IntegratedGradients, NeuronConductance, Saliency

from model import INPUT_SIDE, MLP
from service.json_provider import rounded

METHODS = ("integrated_gradients", "saliency", "gradient_x_input", "conductance")
NEURON_ONLY = ("conductance",)


@dataclass(frozen=True)
class Question:
    """What to explain: the method, the digit, the integration steps, and optionally one neuron (position, index)."""

    method: str
    target: int
    steps: int
    neuron: tuple[int, int] | None = None


def explain(model: MLP, x: np.ndarray, question: Question) -> dict:
    """The attribution map (28×28) and the figures that check it."""
    inputs = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).reshape(1, -1)  # (1, 784)
    baseline = torch.zeros_like(inputs)  # black: no ink
    explained = _explained(model, question)
    attributions, delta = _attribute(model, explained, inputs, baseline, question)
    attributions = attributions.detach()
    with torch.no_grad():
        logits, base_logits = model(inputs)[0], model(baseline)[0]
        output, base_output = explained(inputs)[0], explained(baseline)[0]
    answer = {
        "method": question.method,
        "target": question.target,
        "attributions": rounded(attributions.reshape(INPUT_SIDE, INPUT_SIDE).numpy()),
        "baseline": "black",
        "logit": float(logits[question.target]),
        "baseline_logit": float(base_logits[question.target]),
        "delta": delta,
        "sum": float(attributions.sum()),
    }
    if question.neuron is not None:
        pos, i = question.neuron
        answer["neuron"] = {"layer": model.layer_names[pos], "index": i}
        answer["output"], answer["baseline_output"] = float(output), float(base_output)
    return answer


def _explained(model: MLP, question: Question):
    """The function whose output is attributed: the target's logit, or the neuron's activation a_i, per image."""
    if question.neuron is None or question.method in NEURON_ONLY:
        return lambda x: model(x)[:, question.target]
    pos, i = question.neuron
    return lambda x: model.trace(x)[pos].a[:, i]


def _attribute(model, explained, inputs, baseline, question: Question) -> tuple[torch.Tensor, float | None]:
    """Run the Captum method; the convergence delta for the integrated ones, None for the local ones."""
    if question.method == "integrated_gradients":
        maps, delta = IntegratedGradients(explained).attribute(
            inputs, baseline, n_steps=question.steps, return_convergence_delta=True
        )
        return maps, float(delta)
    if question.method == "conductance":
        model = copy.deepcopy(model)  # Captum hooks the layer: a private copy keeps concurrent requests apart
        pos, i = question.neuron
        k = model.config.pieces
        layer = model.hidden[pos]
        selector = (i * k + _winning_piece(model, inputs, pos, i),)  # z = w·x + b of the neuron (maxout: its winner)
        maps = NeuronConductance(model, layer).attribute(
            inputs, selector, baseline, target=question.target, n_steps=question.steps
        )
        return maps, None
    method = Saliency if question.method == "saliency" else InputXGradient
    return method(explained).attribute(inputs.clone().requires_grad_()), None


def _winning_piece(model: MLP, inputs: torch.Tensor, pos: int, i: int) -> int:
    """For maxout, which of neuron i's k linear pieces wins on this input (0 for every other activation)."""
    k = model.config.pieces
    if k == 1:
        return 0
    with torch.no_grad():
        below = inputs if pos == 0 else model.trace(inputs)[pos - 1].a  # the layer's input
        z = model.norms[pos](model.hidden[pos](below)).view(-1, k)[i]  # (k,) the neuron's pieces
    return int(z.argmax())
