"""Outlier exposure (Hendrycks et al., ICLR 2019): synthetic non-digits made from each batch, trained towards uniform.

Every generator works on whole batches of tensors and draws its randomness from the global torch RNG, so
--resume stays exact. Outliers are framed like the service frames a drawing: longest side 20 px, centre of mass
on (14, 14).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from model.config import DIGIT_BOX, DIGIT_CENTRE, INPUT_SIDE
from training.augment import augment_batch

BOX, CENTRE, SIDE = float(DIGIT_BOX), DIGIT_CENTRE, INPUT_SIDE
EVERY = 4  # outlier steps: one in EVERY
PER_DIGIT = 0.5  # outliers per digit of the batch on an outlier step


def fit_box(img: torch.Tensor) -> torch.Tensor:
    """Scale each image (N, 1, H, W) so its ink's longest side is 20 px and move its centre of mass to (14, 14)."""
    n, _, h, w = img.shape
    ink = img[:, 0] > 0.1  # (N, H, W)
    extent = torch.maximum(_extent(ink.any(1)), _extent(ink.any(2))).clamp(min=1)  # (N,)
    mass = img.sum((1, 2, 3)).clamp(min=1e-6)
    com_x = (img.sum((1, 2)) * (torch.arange(w, device=img.device) + 0.5)).sum(1) / mass  # (N,)
    com_y = (img.sum((1, 3)) * (torch.arange(h, device=img.device) + 0.5)).sum(1) / mass
    s = BOX / extent  # output pixels per input pixel
    zero = torch.zeros_like(s)
    theta = torch.stack(
        [
            torch.stack([SIDE / (s * w), zero, 2 * com_x / w - 1], 1),
            torch.stack([zero, SIDE / (s * h), 2 * com_y / h - 1], 1),
        ],
        1,
    )  # (N, 2, 3)
    grid = F.affine_grid(theta, [n, 1, SIDE, SIDE], align_corners=False)
    out = F.grid_sample(img, grid, align_corners=False, padding_mode="zeros")
    return out / out.amax((2, 3), keepdim=True).clamp(min=1e-6)  # peak re-stretched to 1, as the service does


def _extent(cols: torch.Tensor) -> torch.Tensor:
    """Width of the span of True along the last axis of (N, L)."""
    first = cols.float().argmax(1)
    last = cols.shape[1] - 1 - cols.flip(1).float().argmax(1)
    return (last - first + 1).float()


def side_by_side(img: torch.Tensor) -> torch.Tensor:
    """Two digits next to each other, slightly overlapping: a '10', a '42'."""
    n = len(img)
    other = img[torch.randint(n, (n,), device=img.device)]
    canvas = img.new_zeros(n, 1, SIDE, 2 * SIDE - 8)
    canvas[..., :SIDE] = img
    canvas[..., SIDE - 8 :] = torch.maximum(canvas[..., SIDE - 8 :], other)
    return canvas


def rotated(img: torch.Tensor, labels: torch.Tensor, n: int) -> torch.Tensor:
    """n digits turned by ±90° (never a 0, which stays a 0 when turned)."""
    pick = torch.multinomial((labels != 0).float() + 1e-6, n, replacement=True)
    turned = torch.rot90(img[pick], 1, (2, 3))
    flip = torch.rand(n, 1, 1, 1, device=img.device) < 0.5
    return torch.where(flip, turned.flip((2, 3)), turned)


def polylines(n: int, device: torch.device, vertices: int = 9, steps: int = 16) -> torch.Tensor:
    """Points (N, P, 2) along random polylines of 4-9 vertices: scribbles, letters, shapes."""
    v = torch.rand(n, vertices, 2, device=device)
    count = torch.randint(4, vertices + 1, (n, 1), device=device)
    keep = torch.minimum(torch.arange(vertices, device=device), count - 1)  # repeat the last vertex
    v = torch.gather(v, 1, keep.unsqueeze(-1).expand(-1, -1, 2))
    t = torch.linspace(0, 1, steps, device=device).view(1, 1, -1, 1)
    return (v[:, :-1, None] * (1 - t) + v[:, 1:, None] * t).reshape(n, (vertices - 1) * steps, 2)


def random_walks(n: int, device: torch.device, steps: int = 96) -> torch.Tensor:
    """Points (N, P, 2) along smooth random walks: turning headings summed into curvy paths."""
    turn = torch.randn(n, steps, device=device).mul_(0.35).add_(torch.randn(n, 1, device=device) * 0.15)
    heading = torch.rand(n, 1, device=device) * 6.2832 + torch.cumsum(turn, 1)
    return torch.cumsum(torch.stack([heading.cos(), heading.sin()], -1), 1)


def render(points: torch.Tensor) -> torch.Tensor:
    """Draw points (N, P, 2) as a pen stroke on 28×28 images (N, 1, 28, 28): scatter the path, blur, saturate."""
    n, p, _ = points.shape
    lo, hi = points.amin(1, keepdim=True), points.amax(1, keepdim=True)
    size = BOX * torch.ones(n, 1, 2, device=points.device)
    size.scatter_(
        2,
        torch.randint(2, (n, 1, 1), device=points.device),
        BOX * (0.5 + 0.5 * torch.rand(n, 1, 1, device=points.device)),
    )
    points = (points - (lo + hi) / 2) * (size / (hi - lo).clamp(min=1e-6)) + CENTRE  # never a thin '1'-like bar
    ix = points.long().clamp_(0, SIDE - 1)  # (N, P, 2) pixel (x, y)
    flat = (torch.arange(n, device=points.device).view(n, 1) * SIDE + ix[..., 1]) * SIDE + ix[..., 0]  # (N, P)
    canvas = points.new_zeros(n * SIDE * SIDE).index_fill_(0, flat.reshape(-1), 1.0).view(n, 1, SIDE, SIDE)
    ink = F.conv2d(canvas, _PEN.to(points.device), padding=2)
    gain = 1.2 + 1.3 * torch.rand(n, 1, 1, 1, device=points.device)  # a higher gain saturates a wider line
    return (ink * gain).clamp_(max=1)


def _pen(sigma: float = 0.9) -> torch.Tensor:
    r = torch.arange(-2, 3, dtype=torch.float32)
    k = torch.exp(-(r.view(-1, 1) ** 2 + r.view(1, -1) ** 2) / (2 * sigma**2))
    return (k / k.max()).view(1, 1, 5, 5)


_PEN = _pen()


def strokes(n: int, device: torch.device) -> torch.Tensor:
    """Scribbles: half straight-segment polylines, half smooth random walks."""
    half = n // 2
    return torch.cat([render(polylines(half, device)), render(random_walks(n - half, device))])


def make_outliers(
    x: torch.Tensor, y: torch.Tensor, n: int, letters: torch.Tensor | None = None, augment: str = "none"
) -> torch.Tensor:
    """n non-digits (n, 784) built from the flat digits x (B, 784) with labels y: pairs, turned digits, scribbles,
    and, given LETTERS (N, 784), typeset letters moved and distorted as AUGMENT moves the digits."""
    img = x.view(-1, 1, SIDE, SIDE)
    k = n // (3 if letters is None else 4)
    pick = torch.randint(len(img), (k,), device=x.device)
    parts = [fit_box(side_by_side(img[pick])), rotated(img, y, k)]  # the others sit in the box already
    if letters is not None:
        chosen = letters[torch.randint(len(letters), (k,), device=x.device)]
        parts.append(augment_batch(chosen, augment).view(-1, 1, SIDE, SIDE))
    parts.append(strokes(n - len(parts) * k, x.device))
    return torch.cat(parts).reshape(n, -1)


def uniform_cross_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy from each row's softmax to the uniform distribution, averaged over rows."""
    return -F.log_softmax(logits.float(), 1).mean(1).mean()


def with_outliers(
    x: torch.Tensor,
    y: torch.Tensor,
    weight: float,
    step: int,
    letters: torch.Tensor | None = None,
    augment: str = "none",
) -> torch.Tensor:
    """The batch to run forward: the digits x (B, 784), then on every EVERY-th step B × PER_DIGIT outliers made from
    them (with weight 0 or on other steps, x itself). One forward for both is cheaper than two.

    Making outliers costs mostly fixed per-call overhead, so one large set every few steps is far cheaper than a small
    set every step; it depends only on the step number, so resuming mid-epoch replays it exactly.
    """
    if not weight or step % EVERY:
        return x
    outliers = make_outliers(x, y, max(int(len(x) * PER_DIGIT), 3), letters, augment)
    return torch.cat([x, outliers.to(x.dtype)])


def outlier_loss(logits: torch.Tensor, weight: float) -> torch.Tensor | float:
    """The term outlier exposure adds to the loss: weight × cross-entropy to uniform of the outliers' logits
    (the rows after the digits); 0 on a step without outliers."""
    return weight * uniform_cross_entropy(logits) if len(logits) else 0.0
