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


class Subspaces:
    """Each digit's mean μ_c and PCA basis V_c, arranged so that a batch needs one matrix product: the residual
    ‖d‖² − ‖V_cᵀd‖² with d = x − μ_c expands to ‖x‖² − 2 x·μ_c + ‖μ_c‖² − ‖V_cᵀx − V_cᵀμ_c‖², and x·μ_c and V_cᵀx
    for every class come out of x @ [V_1 … V_10 | μᵀ] at once (no (N, 10, 784) differences)."""

    def __init__(self, means: torch.Tensor, bases: torch.Tensor) -> None:
        classes, pixels, k = bases.shape  # (10, 784, k)
        self.classes, self.k = classes, k
        self.project = torch.cat([bases.permute(1, 0, 2).reshape(pixels, classes * k), means.T], 1)  # (784, 10k + 10)
        self.projected_means = torch.einsum("cp,cpk->ck", means, bases)  # (10, k): V_cᵀ μ_c
        self.mean_norms = means.pow(2).sum(1)  # (10,): ‖μ_c‖²

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """Squared distance of each row of x (N, 784) from the nearest class's subspace (N,)."""
        both = x @ self.project  # (N, 10k + 10)
        kept = both[:, : self.classes * self.k].view(-1, self.classes, self.k) - self.projected_means  # (N, 10, k)
        distance = x.pow(2).sum(1, keepdim=True) - 2 * both[:, self.classes * self.k :] + self.mean_norms  # (N, 10)
        return (distance - kept.pow(2).sum(-1)).min(dim=1).values.clamp_min(0)


def subspace_residual(x: torch.Tensor, means: torch.Tensor, bases: torch.Tensor) -> torch.Tensor:
    """Squared distance of each row of x (N, 784) from the nearest class's subspace: ‖d‖² − ‖Vᵀd‖², d = x − mean."""
    return Subspaces(means, bases).residual(x)
