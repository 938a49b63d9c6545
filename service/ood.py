"""OodChecks: is an input unlike the digits the model was trained on? Scored from feature_stats.safetensors.

training/feature_stats.py writes the file beside the weights: a Mahalanobis check on the last hidden layer
(Lee et al., 2018), a pixel check (distance from the nearest digit's PCA subspace) and a solid-ink check (the
thickest solid ink's half-width), each with a threshold taken at a high percentile of the validation images'
scores. Files written before the solid-ink check hold no statistics for it: the other two checks apply.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open

from model import INPUT_SIZE, MLP, NUM_CLASSES
from model.files import FEATURE_STATS, beside
from model.ood import FORMAT, Subspaces, Whitened, solid_core, threshold_at
from model.products import product

log = logging.getLogger(__name__)

TENSORS = (
    "means",
    "precision",
    "threshold",
    "val_scores",
    "pixel_means",
    "pixel_components",
    "pixel_threshold",
    "pixel_val_scores",
)
SOLID_TENSORS = ("solid_threshold", "solid_val_scores")  # absent from files written before the check


@dataclass
class CheckResult:
    """One check's scores for a batch and the threshold above which an input is flagged."""

    name: str
    score: np.ndarray  # (B,)
    threshold: float

    @property
    def flagged(self) -> np.ndarray:
        return self.score > self.threshold  # (B,) bool


class OodChecks:
    """The statistics, turned into what a request needs: whitened class means and per-class pixel bases."""

    def __init__(self, stats: dict[str, torch.Tensor], percentile: float | None = None) -> None:
        whiten = torch.linalg.cholesky(stats["precision"].double())  # (n, n): P = L Lᵀ
        rows = np.ascontiguousarray(whiten.float().numpy())  # rows by hidden neuron (model/products.py)
        self.whitened = Whitened(rows, (stats["means"].double() @ whiten).numpy())  # class means: μ L (10, n)
        means, bases = stats["pixel_means"].numpy(), stats["pixel_components"].numpy()  # (10, 784), (10, 784, k)
        self.subspaces = Subspaces(means, bases)
        self.threshold = _threshold(stats, "", percentile)
        self.pixel_threshold = _threshold(stats, "pixel_", percentile)
        self.solid_threshold = _threshold(stats, "solid_", percentile) if set(SOLID_TENSORS) <= set(stats) else None

    @property
    def riders(self) -> dict[int, np.ndarray]:
        """What the checks multiply the network's inputs by, per layer (model/frozen.py): the pixels (the first
        layer's input) by the subspaces' projection, the last hidden activations (the output layer's) by L."""
        return {0: self.subspaces.project, -1: self.whitened.whiten}

    def check(self, x: np.ndarray, hidden: np.ndarray) -> list[CheckResult]:
        """Score pixels x (B, 784) and last-hidden activations (B, n), float32 (the first two: min over classes)."""
        return self.scores(x, {0: product(x, self.subspaces.project), -1: product(hidden, self.whitened.whiten)})

    def scores(self, x: np.ndarray, rides: Mapping[int, np.ndarray]) -> list[CheckResult]:
        """check(), from the riders' products (keys as in riders) for pixels x (B, 784)."""
        checks = [
            CheckResult("mahalanobis", self.whitened.distance_whitened(rides[-1]), self.threshold),
            CheckResult("pixel_residual", self.subspaces.residual_projected(x, rides[0]), self.pixel_threshold),
        ]
        if self.solid_threshold is not None:
            checks.append(CheckResult("solid_ink", solid_core(x), self.solid_threshold))
        return checks


def _threshold(stats: dict[str, torch.Tensor], prefix: str, percentile: float | None) -> float:
    """The stored threshold, or the given percentile of the stored validation scores."""
    if percentile is None:
        return float(stats[f"{prefix}threshold"])
    return float(threshold_at(stats[f"{prefix}val_scores"], percentile))


def load_ood(weights_path: Path, model: MLP, weights_sha256: str, percentile: float | None = None) -> OodChecks | None:
    """Load the statistics beside the weights; None (logged) when absent, unreadable or made for other weights."""
    path = beside(weights_path, FEATURE_STATS)
    if not path.is_file():
        log.info("no %s beside the weights: uncertainty from the probabilities alone", FEATURE_STATS)
        return None
    try:
        with safe_open(str(path), "pt") as fh:
            meta, stats = fh.metadata() or {}, {k: fh.get_tensor(k) for k in fh.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        log.warning("ignoring %s: unreadable (%s)", path, exc)
        return None
    problem = _mismatch(meta, stats, weights_sha256, model)
    if problem:
        log.warning("ignoring %s: %s", path, problem)
        return None
    checks = OodChecks(stats, percentile)
    if checks.solid_threshold is None:
        log.info("%s predates the solid-ink check: two checks apply (training again writes all three)", path)
    return checks


def _mismatch(meta: dict[str, str], stats: dict[str, torch.Tensor], weights_sha256: str, model: MLP) -> str | None:
    """Why these statistics cannot be used with this model, or None."""
    if meta.get("format") != FORMAT:
        return f"format {meta.get('format')!r}, expected {FORMAT!r}"
    if set(TENSORS) - set(stats):
        return f"missing tensors {sorted(set(TENSORS) - set(stats))}"
    if meta.get("weights_sha256") != weights_sha256:
        return f"made for other weights (sha256 {meta.get('weights_sha256', '?')[:12]}…), a stale file"
    n = model.config.hidden[-1]
    shapes = {"means": (NUM_CLASSES, n), "precision": (n, n), "pixel_means": (NUM_CLASSES, INPUT_SIZE)}
    if meta.get("layer") != model.layer_names[-2] or any(tuple(stats[k].shape) != s for k, s in shapes.items()):
        return f"statistics do not fit layer {model.layer_names[-2]} ({n} neurons)"
    if not all(torch.isfinite(t).all() for t in stats.values()):
        return "statistics are not finite (a digit missing from the training images?)"
    return None
