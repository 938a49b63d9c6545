"""Data augmentation on whole batches of tensors: random affine moves, elastic distortions, and the capture gap.

The capture steps make MNIST look like what phones and scanners deliver after the service's preprocessing:
thinner or thicker pens, blur, low resolution and uneven contrast, each on its own random share of the batch, each
image re-stretched to a peak of 1 as preprocessing does. What each buys is in docs/experiments.md.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from model.config import DIGIT_BOX, INPUT_SIDE


def random_affine(x: torch.Tensor, degrees: float = 10.0, shift: float = 2.0, scale: float = 0.1) -> torch.Tensor:
    """Rotate, shift (pixels) and scale each image of x (B, 1, 28, 28) by its own random amount."""
    b, _, h, _ = x.shape
    angle = (torch.rand(b, device=x.device) * 2 - 1) * math.radians(degrees)
    s = 1 + (torch.rand(b, device=x.device) * 2 - 1) * scale
    t = (torch.rand(b, 2, device=x.device) * 2 - 1) * (2 * shift / h)  # pixels → grid units
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos, -sin, t[:, 0]], 1), torch.stack([sin, cos, t[:, 1]], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


def _gaussian_kernel(sigma: float, device: torch.device) -> torch.Tensor:
    radius = int(math.ceil(3 * sigma))
    k = torch.exp(-(torch.arange(-radius, radius + 1, device=device, dtype=torch.float32) ** 2) / (2 * sigma**2))
    return k / k.sum()


def elastic(x: torch.Tensor, alpha: float = 34.0, sigma: float = 4.0) -> torch.Tensor:
    """Simard et al.'s elastic distortion: a smoothed random displacement field per image."""
    b, _, h, w = x.shape
    field = torch.rand(b * 2, 1, h, w, device=x.device) * 2 - 1  # (2B, 1, H, W)
    k = _gaussian_kernel(sigma, x.device)
    pad = len(k) // 2
    field = F.conv2d(F.pad(field, (pad, pad, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    field = F.conv2d(F.pad(field, (0, 0, pad, pad), mode="reflect"), k.view(1, 1, -1, 1))
    disp = field.view(b, 2, h, w).permute(0, 2, 3, 1) * (alpha * 2 / h)  # pixels → grid units, (B, H, W, 2)
    ys, xs = torch.meshgrid(
        torch.linspace(-1, 1, h, device=x.device), torch.linspace(-1, 1, w, device=x.device), indexing="ij"
    )
    base = torch.stack([xs, ys], -1).unsqueeze(0)  # (1, H, W, 2)
    return F.grid_sample(x, base + disp, align_corners=True, padding_mode="zeros")


def _on_share(x: torch.Tensor, p: float, step) -> torch.Tensor:
    """Apply step to a random share p of the batch x (B, 1, H, W); the rest unchanged, x itself untouched."""
    chosen = torch.nonzero(torch.rand(len(x), device=x.device) < p).flatten()
    out = x.clone()
    if len(chosen):
        moved = step(x[chosen])
        out[chosen] = moved / moved.amax((1, 2, 3), keepdim=True).clamp_min(1e-6)  # peak → 1, as preprocessing does
    return out


def _dilate(x: torch.Tensor) -> torch.Tensor:
    """Grey dilation by a 3×3 square, as two 3-tap maxima (max_pool2d with stride 1 is several times slower)."""
    x = F.pad(x, (1, 1, 0, 0))
    x = torch.maximum(torch.maximum(x[..., :-2], x[..., 1:-1]), x[..., 2:])
    x = F.pad(x, (0, 0, 1, 1))
    return torch.maximum(torch.maximum(x[..., :-2, :], x[..., 1:-1, :]), x[..., 2:, :])


def _pen(x: torch.Tensor) -> torch.Tensor:
    """Blend each image a random way towards its 3×3 erosion (a thinner pen) or dilation (a thicker one)."""
    t = torch.rand(len(x), 1, 1, 1, device=x.device) * 1.7 - 0.7  # (B, 1, 1, 1): < 0 thinner, > 0 thicker
    thick, thin = _dilate(x), -_dilate(-x)
    moved = x + t.clamp_min(0) * (thick - x) + (-t).clamp_min(0) * (thin - x)
    return torch.where(moved.amax((1, 2, 3), keepdim=True) > 0.3, moved, x)  # never erode a faint digit away


def stroke_width(x: torch.Tensor, p: float = 0.5) -> torch.Tensor:
    """Thinner or thicker pens on about p of the images (B, 1, H, W)."""
    return _on_share(x, p, _pen)


def _gaussian(x: torch.Tensor, sigma: tuple[float, float]) -> torch.Tensor:
    """Blur each image with its own σ drawn from SIGMA: G · X · Gᵀ with G (B, H, H) a banded Gaussian (3 taps each
    side, zeros beyond the edge), two batched matrix products instead of a grouped convolution."""
    b, _, h, _ = x.shape
    s = torch.empty(b, 1, 1, device=x.device).uniform_(*sigma)
    r = torch.arange(h, device=x.device, dtype=x.dtype)
    d = r.view(1, -1, 1) - r.view(1, 1, -1)  # (1, H, H): row − column
    g = torch.exp(-(d**2) / (2 * s**2)) * (d.abs() <= 3)
    g = g / torch.exp(-(torch.arange(-3, 4, device=x.device) ** 2) / (2 * s**2)).sum(-1, keepdim=True)
    img = x.view(b, h, h)
    return (g @ img @ g.transpose(1, 2)).view_as(x)


def blur(x: torch.Tensor, p: float = 0.3, sigma: tuple[float, float] = (0.5, 1.2)) -> torch.Tensor:
    """Out-of-focus captures: a Gaussian blur on about p of the images."""
    return _on_share(x, p, lambda chosen: _gaussian(chosen, sigma))


def _coarse(x: torch.Tensor, sides: tuple[int, int]) -> torch.Tensor:
    """The 20-px digit box averaged down to a side drawn from SIDES (one per call: few, large operations) and
    scaled back up bilinearly."""
    h = x.shape[-1]
    side = int(torch.randint(sides[0], sides[1] + 1, ()))
    small = F.interpolate(x, size=round(h * side / DIGIT_BOX), mode="area")  # (B, 1, s, s)
    return F.interpolate(small, size=h, mode="bilinear", align_corners=False).clamp(0, 1)


def low_resolution(x: torch.Tensor, p: float = 0.3, sides: tuple[int, int] = (8, 16)) -> torch.Tensor:
    """Low-resolution scans (the digit captured 8 to 16 px tall, scaled up) on about p of the images."""
    return _on_share(x, p, lambda chosen: _coarse(chosen, sides))


def contrast(x: torch.Tensor, p: float = 0.3, gamma: tuple[float, float] = (0.5, 2.0)) -> torch.Tensor:
    """Pen pressure and exposure: a gamma drawn log-uniformly from GAMMA on about p of the images."""
    lo, hi = math.log(gamma[0]), math.log(gamma[1])
    g = lambda n: torch.exp(torch.rand(n, 1, 1, 1, device=x.device) * (hi - lo) + lo)
    return _on_share(x, p, lambda chosen: chosen.clamp_min(0) ** g(len(chosen)))


def capture(x: torch.Tensor) -> torch.Tensor:
    """The capture gap in one step: pen width, contrast, blur and low resolution, each on its own share."""
    return low_resolution(blur(contrast(stroke_width(x, 0.4), 0.2), 0.2), 0.2)


STEPS = {
    "affine": random_affine,
    "elastic": elastic,
    "stroke": stroke_width,
    "blur": blur,
    "lowres": low_resolution,
    "contrast": contrast,
    "capture": capture,
}
AUGMENTS = (
    "none",
    "affine",
    "elastic",
    "affine+elastic",
    "affine+stroke",
    "affine+blur",
    "affine+lowres",
    "affine+contrast",
    "affine+capture",
    "elastic+capture",
)


def augment_batch(x: torch.Tensor, kind: str = "elastic") -> torch.Tensor:
    """Augment a batch of flat inputs (B, 784) as KIND (one of AUGMENTS) names: its steps (STEPS) joined by '+',
    applied in that order; same shape back. Elastic alone beat affine + elastic by 0.2 point in the best recipe
    (docs/benchmarks.md)."""
    if kind == "none":
        return x
    img = x.view(-1, 1, INPUT_SIDE, INPUT_SIDE)
    for step in kind.split("+"):
        img = STEPS[step](img)
    return img.clamp(0, 1).reshape(x.shape)
