"""Predictor: a batch of 28×28 pixel arrays in, digits, probabilities and (when asked) every layer out.

One path, one step each: trace the network (every layer's z and a, in numpy: model.frozen), attribute the winning
digit to the most active hidden neurons when asked (torch autograd), score the out-of-distribution checks when
their statistics exist, then judge which answers are too unsure to be trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from model import MLP, NUM_CLASSES, LayerTrace
from model.frozen import FrozenMLP
from service.ood import CheckResult, OodChecks
from service.settings import DEFAULTS

LN_CLASSES = math.log(NUM_CLASSES)  # entropy of the uniform distribution over the 10 digits


@dataclass
class TopNeurons:
    """One hidden layer's k most active neurons for each image, and what each gave to the winning digit."""

    name: str
    index: np.ndarray  # (B, k) neuron numbers, most active first
    a: np.ndarray  # (B, k) their activations
    contribution: np.ndarray  # (B, k) a_i · ∂z_digit/∂a_i


@dataclass
class Prediction:
    """What the network said about a batch of B images."""

    digits: np.ndarray  # (B,) int
    probabilities: np.ndarray  # (B, 10)
    entropy: np.ndarray  # (B,) entropy / ln 10, in [0, 1]
    uncertain: np.ndarray  # (B,) bool
    layers: list[LayerTrace] = field(default_factory=list)  # every layer's z and a (numpy), when asked for
    top: list[TopNeurons] = field(default_factory=list)  # per hidden layer, when asked for
    checks: list[CheckResult] = field(default_factory=list)  # out-of-distribution scores, when the stats exist


class Predictor:
    """Wraps the model: runs its numpy forward pass and flags answers it should not be sure of."""

    def __init__(
        self,
        model: MLP,
        uncertain_below: float = DEFAULTS["UNCERTAIN_BELOW"],
        entropy_above: float = DEFAULTS["UNCERTAIN_ENTROPY_ABOVE"],
        ood: OodChecks | None = None,
    ) -> None:
        self.model, self.network = model.eval(), FrozenMLP(model, ood.riders if ood else None)
        self.uncertain_below, self.entropy_above, self.ood = uncertain_below, entropy_above, ood

    def predict(self, pixels: np.ndarray, layers: bool = False, top: int = 0, checks: bool = True) -> Prediction:
        """Classify pixels (B, 28, 28) or (B, 784), float32 in [0, 1]; add traces or top-k neurons when asked;
        checks=False skips the out-of-distribution checks (uncertain then comes from the probabilities alone)."""
        x = np.ascontiguousarray(pixels, dtype=np.float32).reshape(len(pixels), -1)  # (B, 784)
        if self.ood and checks:  # the checks' products ride on the network's own (model/frozen.py)
            traces, rides = self.network.trace_riding(x)
            scores = self.ood.scores(x, rides)
        else:
            traces, scores = self.network.trace(x), []
        top_neurons = _top_neurons(self.model, x, traces, top) if top else []
        return self._judge(traces, layers, top_neurons, scores)

    def _judge(
        self, traces: list[LayerTrace], layers: bool, top: list[TopNeurons], checks: list[CheckResult]
    ) -> Prediction:
        """Pick the digit and decide whether the answer is too unsure to be trusted, or its input unlike a digit."""
        probs = traces[-1].a  # (B, 10)
        entropy = -(probs * np.log(np.maximum(probs, 1e-12))).sum(axis=1) / LN_CLASSES  # (B,)
        uncertain = (probs.max(axis=1) < self.uncertain_below) | (entropy > self.entropy_above)
        for check in checks:
            uncertain |= check.flagged
        return Prediction(probs.argmax(axis=1), probs, entropy, uncertain, traces if layers else [], top, checks)


def _top_neurons(model: MLP, x: np.ndarray, traces: list[LayerTrace], k: int) -> list[TopNeurons]:
    """Gradient × activation: a_i · ∂z_d/∂a_i for the winning digit d (for the last layer, a_i · W_out[d, i]);
    the gradients from torch autograd, the activations those of the answer (traces)."""
    with torch.enable_grad():
        graph = model.trace(torch.from_numpy(x))
    winner = torch.from_numpy(traces[-1].z.argmax(axis=1))[:, None]  # (B, 1)
    grads = torch.autograd.grad(graph[-1].z.gather(1, winner).sum(), [t.a for t in graph[:-1]])
    return [_top(t, g.numpy(), k) for t, g in zip(traces[:-1], grads)]


def _top(trace: LayerTrace, grad: np.ndarray, k: int) -> TopNeurons:
    index = np.argsort(-trace.a, axis=1, kind="stable")[:, :k]  # (B, k), most active first
    values = np.take_along_axis(trace.a, index, axis=1)  # (B, k)
    contribution = np.take_along_axis(trace.a * grad, index, axis=1)  # (B, k)
    return TopNeurons(trace.name, index, values, contribution)
