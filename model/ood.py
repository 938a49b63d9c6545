"""Out-of-distribution scores, shared by training (which calibrates them) and the service (which applies them)."""

from __future__ import annotations

import torch

FORMAT = "digits-feature-stats/1"


def threshold_at(scores: torch.Tensor, percentile: float) -> torch.Tensor:
    """The score below which `percentile` % of the (validation) scores lie."""
    return torch.quantile(scores.double(), percentile / 100)


def nearest_whitened_distance(a: torch.Tensor, whiten: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """min_c ‖a L − μ_c L‖² = min_c (a − μ_c)ᵀ P (a − μ_c) for P = L Lᵀ; a (N, n), centres = μ L (10, n) → (N,)."""
    return torch.cdist(a @ whiten, centres).pow(2).min(dim=1).values


def subspace_residual(x: torch.Tensor, means: torch.Tensor, bases: torch.Tensor) -> torch.Tensor:
    """Squared distance of each row of x (N, 784) from the nearest class's subspace: ‖d‖² − ‖Vᵀd‖², d = x − mean."""
    d = x[:, None, :] - means  # (N, 10, 784)
    kept = torch.einsum("bcp,cpk->bck", d, bases)  # (N, 10, k)
    return (d.pow(2).sum(-1) - kept.pow(2).sum(-1)).min(dim=1).values.clamp_min(0)
