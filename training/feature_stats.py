"""Feature statistics that tell digits from inputs unlike MNIST, computed once after training, kept beside the weights.

Three checks, each with a threshold at a high percentile of the held-out validation images' scores:
  - Mahalanobis distance on the last hidden layer (Lee et al., 2018): class means μ_c, one shared covariance Σ,
    score min_c (a − μ_c)ᵀ Σ⁻¹ (a − μ_c);
  - pixel residual: distance of the 784 pixels from the nearest digit class's k-dimensional PCA subspace;
  - solid ink: the half-width of the thickest solid ink (model.ood.solid_core): a pen's stroke has a thin solid core, a
    filled shape (a silhouette, a blot) a broad one (docs/experiments.md, eleventh look).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save as st_save

from model.config import NUM_CLASSES
from model.files import atomic_write_bytes, file_sha256
from model.mlp import MLP
from model.ood import FORMAT, SOLID, nearest_whitened_distance, solid_core, subspace_residual, threshold_at

CLASSES = NUM_CLASSES
BATCH = 4096
PIXEL_BATCH = 512  # (b, 10, 784) float64 differences: 32 MB
RIDGE = 1e-3  # × mean variance, added to Σ's diagonal: dead ReLUs would make Σ singular
PIXEL_COMPONENTS = 30  # principal components kept per digit class
# Softmax thresholds already flag 1–6 % of MNIST; these keep the checks' own false flags to ~0.2 %, ~0.5 % and at
# most 0.5 % (the solid-ink scores are a few distinct distances: 0.2 % of the validation digits with the default).
HIDDEN_PERCENTILE = 99.8
PIXEL_PERCENTILE = 99.5
SOLID_PERCENTILE = 99.5


@torch.inference_mode()
def last_hidden(model: MLP, x: torch.Tensor, batch: int = BATCH) -> torch.Tensor:
    """The last hidden layer's activations a (N, n) for pixels x (N, 784), computed in batches, on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model.trace(x[i : i + batch].to(device))[-2].a.float().cpu() for i in range(0, len(x), batch)])


def class_means(a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean of each digit's rows (10, n), in float64."""
    return torch.stack([a[y == c].double().mean(dim=0) for c in range(CLASSES)])


def shared_precision(a: torch.Tensor, y: torch.Tensor, means: torch.Tensor, ridge: float = RIDGE) -> torch.Tensor:
    """P = Σ⁻¹ (n, n) of the within-class covariance shared by all digits, its diagonal lifted by ridge × mean var."""
    cov = torch.zeros(a.shape[1], a.shape[1], dtype=torch.float64)
    for i in range(0, len(a), BATCH):
        d = a[i : i + BATCH].double() - means[y[i : i + BATCH]]  # (b, n)
        cov += d.T @ d
    cov /= len(a)
    cov.diagonal().add_(ridge * cov.diagonal().mean())
    return torch.linalg.inv(cov)


def mahalanobis(a: torch.Tensor, means: torch.Tensor, precision: torch.Tensor) -> torch.Tensor:
    """min_c (a − μ_c)ᵀ P (a − μ_c) for each row (N,), via P = L Lᵀ: one n×n product per image."""
    L = torch.linalg.cholesky(precision.double())  # (n, n)
    return torch.from_numpy(nearest_whitened_distance(a.double().numpy(), L.numpy(), (means.double() @ L).numpy()))


def class_subspaces(x: torch.Tensor, y: torch.Tensor, k: int = PIXEL_COMPONENTS) -> tuple[torch.Tensor, torch.Tensor]:
    """Each digit's mean pixels (10, 784) and its top-k principal directions (10, 784, k)."""
    means, bases = class_means(x, y), []
    for c in range(CLASSES):
        d = x[y == c].double() - means[c]  # (N_c, 784)
        _, vectors = torch.linalg.eigh(d.T @ d)  # eigenvalues ascending
        bases.append(vectors[:, -k:].flip(-1))
    return means, torch.stack(bases)


def pixel_residual(x: torch.Tensor, means: torch.Tensor, bases: torch.Tensor) -> torch.Tensor:
    """Squared distance (N,) of each image from the nearest class's subspace: ‖d‖² − ‖Vᵀd‖², d = x − mean."""
    means, bases = means.double().numpy(), bases.double().numpy()
    batches = (x[i : i + PIXEL_BATCH].double().cpu().numpy() for i in range(0, len(x), PIXEL_BATCH))
    scores = [subspace_residual(batch, means, bases) for batch in batches]
    return torch.from_numpy(np.concatenate(scores))


def feature_stats(
    model: MLP, train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The checks' statistics from the training images, thresholds from the validation images (training if none)."""
    train_y, calib = train_y.cpu(), val_x if len(val_x) else train_x
    a = last_hidden(model, train_x)  # (N, n)
    means = class_means(a, train_y)
    precision = shared_precision(a, train_y, means)
    hidden_val = mahalanobis(last_hidden(model, calib), means, precision).sort().values  # (V,)
    pixel_means, bases = class_subspaces(train_x.cpu(), train_y)
    pixel_val = pixel_residual(calib, pixel_means, bases).sort().values  # (V,)
    solid_val = torch.from_numpy(solid_core(calib.float().cpu().numpy())).sort().values  # (V,)
    stats = {
        "means": means,
        "precision": precision,
        "val_scores": hidden_val,
        "threshold": threshold_at(hidden_val, HIDDEN_PERCENTILE),
        "percentile": torch.tensor(HIDDEN_PERCENTILE),
        "pixel_means": pixel_means,
        "pixel_components": bases,
        "pixel_val_scores": pixel_val,
        "pixel_threshold": threshold_at(pixel_val, PIXEL_PERCENTILE),
        "pixel_percentile": torch.tensor(PIXEL_PERCENTILE),
        "solid_val_scores": solid_val,
        "solid_threshold": threshold_at(solid_val, SOLID_PERCENTILE),
        "solid_percentile": torch.tensor(SOLID_PERCENTILE),
    }
    return {k: v.float().contiguous() for k, v in stats.items()}


def save_feature_stats(
    path: Path, model: MLP, train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor, weights_path: Path
) -> None:
    """Compute the statistics and write them as safetensors, tied to the weights file by its sha256."""
    stats = feature_stats(model, train_x, train_y, val_x)
    meta = {
        "format": FORMAT,
        "layer": model.layer_names[-2],
        "weights_sha256": file_sha256(weights_path),
        "ridge": str(RIDGE),
        "pixel_components": str(stats["pixel_components"].shape[-1]),
        "solid": str(SOLID),
        "calibrated_on": f"{'validation' if len(val_x) else 'training'} images ({len(stats['val_scores'])})",
    }
    atomic_write_bytes(path, st_save(stats, metadata=meta))
