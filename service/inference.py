"""Predictor: a batch of 28×28 pixel arrays in, digits, probabilities and (when asked) every layer out."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from model import MLP, NUM_CLASSES, LayerTrace
from service.ood import CheckResult, OodChecks

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
    """Wraps the model: runs it under inference mode and flags answers it should not be sure of."""

    def __init__(
        self, model: MLP, uncertain_below: float = 0.6, entropy_above: float = 0.35, ood: OodChecks | None = None
    ) -> None:
        self.model = model.eval()
        self.uncertain_below, self.entropy_above, self.ood = uncertain_below, entropy_above, ood

    def predict(self, pixels: np.ndarray, layers: bool = False, top: int = 0) -> Prediction:
        """Classify pixels (B, 28, 28) or (B, 784), float32 in [0, 1]; add traces or top-k neurons when asked."""
        x = torch.from_numpy(np.ascontiguousarray(pixels, dtype=np.float32)).reshape(len(pixels), -1)  # (B, 784)
        if top:
            traces, top_neurons = self._top_neurons(x, top)
        elif layers or self.ood:
            with torch.inference_mode():
                traces, top_neurons = self.model.trace(x), []
        else:
            with torch.inference_mode():
                probs = torch.softmax(self.model(x), dim=1)  # (B, 10)
            return self._judge(probs.numpy(), [], [])
        checks = self.ood.check(x, traces[-2].a.detach()) if self.ood else []
        shown = [LayerTrace(t.name, t.activation, t.z.detach().numpy(), t.a.detach().numpy()) for t in traces]
        return self._judge(shown[-1].a, shown if layers else [], top_neurons, checks)

    def _judge(
        self, probs: np.ndarray, layers: list[LayerTrace], top: list[TopNeurons], checks: list[CheckResult] = ()
    ) -> Prediction:
        """Pick the digit and decide whether the answer is too unsure to be trusted, or its input unlike a digit."""
        entropy = -(probs * np.log(np.clip(probs, 1e-12, None))).sum(axis=1) / LN_CLASSES  # (B,)
        confidence = probs.max(axis=1)
        uncertain = (confidence < self.uncertain_below) | (entropy > self.entropy_above)
        for check in checks:
            uncertain |= check.flagged
        return Prediction(probs.argmax(axis=1), probs, entropy, uncertain, layers, top, list(checks))

    def _top_neurons(self, x: torch.Tensor, k: int) -> tuple[list[LayerTrace], list[TopNeurons]]:
        """Gradient × activation: a_i · ∂z_d/∂a_i for the winning digit d (for the last layer, a_i · W_out[d, i])."""
        with torch.enable_grad():
            traces = self.model.trace(x)
            logits = traces[-1].z  # (B, 10)
            winner = logits.argmax(dim=1, keepdim=True)  # (B, 1)
            hidden = [t.a for t in traces[:-1]]
            grads = torch.autograd.grad(logits.gather(1, winner).sum(), hidden)
        return traces, [_top(t, g, k) for t, g in zip(traces[:-1], grads)]


def _top(trace: LayerTrace, grad: torch.Tensor, k: int) -> TopNeurons:
    a = trace.a.detach()  # (B, n)
    values, index = a.topk(min(k, a.shape[1]), dim=1)  # (B, k)
    contribution = (a * grad).gather(1, index)  # (B, k)
    return TopNeurons(trace.name, index.numpy(), values.numpy(), contribution.numpy())
