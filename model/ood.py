"""Out-of-distribution scores, shared by training (which calibrates them) and the service (which applies them).

numpy arrays in and out, float32 or float64 as given: the service scores one image at a time, where numpy's
overhead per operation is a fraction of torch's; training passes float64 copies of its tensors.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from model.products import product

FORMAT = "digits-feature-stats/1"
SOLID = 0.95  # a pixel this dark (1 = full ink) is solid ink


def threshold_at(scores: torch.Tensor, percentile: float) -> torch.Tensor:
    """The score below which `percentile` % of the (validation) scores lie."""
    return torch.quantile(scores.double(), percentile / 100)


def nearest_whitened_distance(a: np.ndarray, whiten: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """min_c ‖a L − μ_c L‖² = min_c (a − μ_c)ᵀ P (a − μ_c) for P = L Lᵀ; a (N, n), centres = μ L (10, n) → (N,)."""
    return Whitened(whiten, centres).distance(a)


class Whitened:
    """The whitening L (n, n) and the class means in whitened space μ L (10, n), with what every distance needs of
    the means (their float64 copy doubled, their squared norms) computed once."""

    def __init__(self, whiten: np.ndarray, centres: np.ndarray) -> None:
        self.whiten = whiten
        c = centres.astype(np.float64)  # (10, n)
        self.twice_centres = 2 * c  # (10, n): 2 μ_c L, exactly (a power of two)
        self.centre_norms = (c * c).sum(1)  # (10,)

    def distance(self, a: np.ndarray) -> np.ndarray:
        """min_c ‖a L − μ_c L‖² of each row of a (N, n) (N,)."""
        return self.distance_whitened(product(a, self.whiten))

    def distance_whitened(self, aw: np.ndarray) -> np.ndarray:
        """distance(a) from a L (N, n), made elsewhere (the serving network's last product: model/frozen.py)."""
        aw = aw.astype(np.float64)  # the expansion below in float64, where it cannot cancel badly
        distance = (aw * aw).sum(1, keepdims=True) - aw @ self.twice_centres.T + self.centre_norms  # (N, 10)
        return np.maximum(distance.min(axis=1), 0)


class Subspaces:
    """Each digit's mean μ_c and PCA basis V_c, arranged so that a batch needs one matrix product: the residual
    ‖d‖² − ‖V_cᵀd‖² with d = x − μ_c expands to ‖x‖² − 2 x·μ_c + ‖μ_c‖² − ‖V_cᵀx − V_cᵀμ_c‖², and x·μ_c and V_cᵀx
    for every class come out of x @ [V_1 … V_10 | −2μᵀ] at once (no (N, 10, 784) differences)."""

    def __init__(self, means: np.ndarray, bases: np.ndarray) -> None:
        classes, pixels, k = bases.shape  # (10, 784, k)
        self.classes, self.k = classes, k
        project = np.concatenate([bases.transpose(1, 0, 2).reshape(pixels, classes * k), -2 * means.T], 1)
        self.project = np.ascontiguousarray(project)  # (784, 10k + 10): the means doubled and negated, exactly
        self.projected_means = np.einsum("cp,cpk->ck", means, bases)  # (10, k): V_cᵀ μ_c
        self.mean_norms = (means * means).sum(1)  # (10,): ‖μ_c‖²

    def residual(self, x: np.ndarray) -> np.ndarray:
        """Squared distance of each row of x (N, 784) from the nearest class's subspace (N,)."""
        return self.residual_projected(x, product(x, self.project))

    def residual_projected(self, x: np.ndarray, both: np.ndarray) -> np.ndarray:
        """residual(x) from x @ project (N, 10k + 10), made elsewhere (the serving network's first product)."""
        kept = both[:, : self.classes * self.k].reshape(-1, self.classes, self.k) - self.projected_means  # (N, 10, k)
        distance = (x * x).sum(1, keepdims=True) + both[:, self.classes * self.k :] + self.mean_norms  # (N, 10)
        return np.maximum((distance - (kept * kept).sum(-1)).min(axis=1), 0)


def subspace_residual(x: np.ndarray, means: np.ndarray, bases: np.ndarray) -> np.ndarray:
    """Squared distance of each row of x (N, 784) from the nearest class's subspace: ‖d‖² − ‖Vᵀd‖², d = x − mean."""
    return Subspaces(means, bases).residual(x)


def solid_core(x: np.ndarray) -> np.ndarray:
    """The half-width of each image's thickest solid ink (N,): the largest distance, in pixels, from a pixel of solid
    ink (≥ SOLID) to the nearest one that is not, beyond the image's edge included; x (N, 784) in [0, 1]. A pen's
    stroke, even a marker's, has a thin solid core; a filled shape (a silhouette, a blot) a broad one.
    cv2.distanceTransform with its 5×5 mask: within 2 % of the exact Euclidean distance (exact along rows and
    columns), a quarter of the exact transform's 8 µs on one image. All the images in one call: each framed by one
    pixel of background, stacked into one tall image, so that no distance crosses from one into the next."""
    n = len(x)
    if n == 0:
        return np.zeros(0, np.float32)  # cv2 takes no empty image
    solid = np.zeros((n, 30, 30), np.uint8)
    solid[:, 1:29, 1:29] = x.reshape(n, 28, 28) >= SOLID
    distance = cv2.distanceTransform(solid.reshape(n * 30, 30), cv2.DIST_L2, 5)
    return distance.reshape(n, 900).max(axis=1)  # (N,) float32
