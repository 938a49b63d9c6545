"""Data augmentation on whole batches of tensors: random affine moves, elastic distortions, and the capture gap.

The capture steps make MNIST look like what phones and scanners deliver after the service's preprocessing:
thinner or thicker pens, blur, low resolution and uneven contrast, each on its own random share of the batch, each
image re-stretched to a peak of 1 as preprocessing does. What each buys is in docs/experiments.md.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from model.config import DIGIT_BOX, INPUT_SIDE

SIGMA = (0.5, 1.2)  # blur: σ in pixels
SIDES = (8, 16)  # low resolution: the digit's height when captured
GAMMA = (0.5, 2.0)  # contrast: the exponent, drawn log-uniformly


def random_affine(x: torch.Tensor, degrees: float = 10.0, shift: float = 2.0, scale: float = 0.1) -> torch.Tensor:
    """Rotate, shift (pixels) and scale each image of x (B, 1, 28, 28) by its own random amount."""
    b, _, h, _ = x.shape
    angle = (torch.rand(b, device=x.device) * 2 - 1) * math.radians(degrees)
    s = 1 + (torch.rand(b, device=x.device) * 2 - 1) * scale
    t = (torch.rand(b, 2, device=x.device) * 2 - 1) * (2 * shift / h)  # pixels → grid units
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos, -sin, t[:, 0]], 1), torch.stack([sin, cos, t[:, 1]], 1)], 1)  # (B, 2, 3)
    return F.grid_sample(x, _affine_grid(theta, h, x.shape[-1]), align_corners=False, padding_mode="zeros")


def _affine_grid(theta: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """F.affine_grid(theta, (B, 1, H, W), align_corners=False) as one (2B, 3) × (3, H·W) matrix product: torch's
    own runs B tiny (H·W, 3) × (3, 2) products and took 5 of the 7 ms of a batch of 256 on the CPU."""
    xs = (torch.arange(w, device=theta.device) * 2 + 1) / w - 1  # pixel centres in grid units
    ys = (torch.arange(h, device=theta.device) * 2 + 1) / h - 1
    base = torch.stack([xs.repeat(h), ys.repeat_interleave(w), torch.ones(h * w, device=theta.device)])  # (3, H·W)
    return (theta.reshape(-1, 3) @ base).view(-1, 2, h, w).permute(0, 2, 3, 1)  # (B, H, W, 2)


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
    return _on_share_(x.clone(), p, step)


def _on_share_(out: torch.Tensor, p: float, step) -> torch.Tensor:
    """Apply step in place to a random share p of the batch out (B, 1, H, W), each image it moves re-stretched to a
    peak of 1 as preprocessing does. index_select and index_copy_: out[chosen] and out[chosen] = … take torch's
    general indexing path, several times slower."""
    chosen = torch.nonzero(torch.rand(len(out), device=out.device) < p).flatten()
    if len(chosen):
        moved = step(out.index_select(0, chosen))
        out.index_copy_(0, chosen, moved / moved.amax((1, 2, 3), keepdim=True).clamp_min(1e-6))
    return out


def _dilate(x: torch.Tensor) -> torch.Tensor:
    """Grey dilation by a 3×3 square, as two 3-tap maxima (max_pool2d with stride 1 is several times slower)."""
    x = F.pad(x, (1, 1, 0, 0))
    x = torch.maximum(torch.maximum(x[..., :-2], x[..., 1:-1]), x[..., 2:])
    x = F.pad(x, (0, 0, 1, 1))
    return torch.maximum(torch.maximum(x[..., :-2, :], x[..., 1:-1, :]), x[..., 2:, :])


def _pen(x: torch.Tensor) -> torch.Tensor:
    """Blend each image a random way towards its 3×3 erosion (a thinner pen) or dilation (a thicker one).
    One dilation serves both: the erosion of x is −dilate(−x), so each image is dilated with its own sign."""
    t = torch.rand(len(x), 1, 1, 1, device=x.device) * 1.7 - 0.7  # (B, 1, 1, 1): < 0 thinner, > 0 thicker
    sign = torch.where(t < 0, -1.0, 1.0)
    moved = torch.lerp(x, sign * _dilate(sign * x), t.abs())
    return torch.where(moved.amax((1, 2, 3), keepdim=True) > 0.3, moved, x)  # never erode a faint digit away


def stroke_width(x: torch.Tensor, p: float = 0.5) -> torch.Tensor:
    """Thinner or thicker pens on about p of the images (B, 1, H, W)."""
    return _on_share(x, p, _pen)


def _separable(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """M · X · Mᵀ for each image X of x (B, 1, H, H), with m one (H, H) matrix or one per image (B, H, H)."""
    b, _, h, _ = x.shape
    return (m @ x.view(b, h, h) @ m.transpose(-1, -2)).view_as(x)


@functools.cache
def _bands(h: int, device: torch.device) -> torch.Tensor:
    """(7, H·H): the diagonals −3 … 3 of an (H, H) matrix as 0/1 masks, flattened."""
    d = torch.arange(h, device=device).view(-1, 1) - torch.arange(h, device=device).view(1, -1)  # row − column
    return torch.stack([(d == k).float().flatten() for k in range(-3, 4)])


def _gaussian(x: torch.Tensor, sigma: tuple[float, float] = SIGMA) -> torch.Tensor:
    """Blur each image with its own σ drawn from SIGMA: G · X · Gᵀ with G (B, H, H) a banded Gaussian (3 taps each
    side, zeros beyond the edge), two batched matrix products instead of a grouped convolution. G is each image's
    7 taps times the 7 diagonals, one (B, 7) × (7, H·H) product: indexing the taps into G took as long as the blur."""
    b, _, h, _ = x.shape
    s = torch.empty(b, 1, device=x.device).uniform_(*sigma)
    taps = torch.exp(-(torch.arange(-3.0, 4.0, device=x.device) ** 2) / (2 * s**2))  # (B, 7)
    g = (taps / taps.sum(1, keepdim=True)) @ _bands(h, x.device)  # (B, H·H)
    return _separable(x, g.view(b, h, h))


def blur(x: torch.Tensor, p: float = 0.3, sigma: tuple[float, float] = SIGMA) -> torch.Tensor:
    """Out-of-focus captures: a Gaussian blur on about p of the images."""
    return _on_share(x, p, lambda chosen: _gaussian(chosen, sigma))


@functools.cache
def _coarse_matrices(h: int, sides: tuple[int, int], device: torch.device) -> torch.Tensor:
    """(S, H, H): for each side in SIDES, the 1-D operator of F.interpolate 'area' down to H · side / DIGIT_BOX
    then 'linear' back up to H, read off by interpolating the identity (both modes are separable in 2-D)."""
    eye = torch.eye(h, device=device).view(h, 1, h)  # H signals of length H, one per unit impulse
    mats = []
    for side in range(sides[0], sides[1] + 1):
        small = F.interpolate(eye, size=round(h * side / DIGIT_BOX), mode="area")
        mats.append(F.interpolate(small, size=h, mode="linear", align_corners=False).view(h, h).T)
    return torch.stack(mats)


def _coarse(x: torch.Tensor, sides: tuple[int, int] = SIDES) -> torch.Tensor:
    """The 20-px digit box averaged down to a side drawn from SIDES for each image and scaled back up bilinearly:
    L · X · Lᵀ with L that image's (H, H) operator."""
    mats = _coarse_matrices(x.shape[-1], sides, x.device)
    pick = torch.randint(len(mats), (len(x),), device=x.device)
    return _separable(x, mats.index_select(0, pick)).clamp(0, 1)


def low_resolution(x: torch.Tensor, p: float = 0.3, sides: tuple[int, int] = SIDES) -> torch.Tensor:
    """Low-resolution scans (the digit captured 8 to 16 px tall, scaled up) on about p of the images."""
    return _on_share(x, p, lambda chosen: _coarse(chosen, sides))


def _gamma(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """x ** g for x ≥ 0, as exp(g · log x) and exactly 0 where x is 0. On the CPU a power with a tensor exponent,
    the log of an exact 0 and an exp that underflows into subnormals are each several times slower than this: the
    log is taken of at least 1e-6 (far below a grey level of 1/255), so exp stays in normal floats."""
    return torch.where(x > 0, torch.exp(g * x.clamp_min(1e-6).log()), 0.0)


def _gammas(n: int, gamma: tuple[float, float], device: torch.device) -> torch.Tensor:
    """(n, 1, 1, 1) exponents drawn log-uniformly from GAMMA."""
    lo, hi = math.log(gamma[0]), math.log(gamma[1])
    return torch.exp(torch.rand(n, 1, 1, 1, device=device) * (hi - lo) + lo)


def _contrasted(x: torch.Tensor, gamma: tuple[float, float] = GAMMA) -> torch.Tensor:
    """Each image of x to the power of its own exponent drawn log-uniformly from GAMMA."""
    return _gamma(x, _gammas(len(x), gamma, x.device))


def contrast(x: torch.Tensor, p: float = 0.3, gamma: tuple[float, float] = GAMMA) -> torch.Tensor:
    """Pen pressure and exposure: a gamma drawn log-uniformly from GAMMA on about p of the images."""
    return _on_share(x, p, lambda chosen: _contrasted(chosen, gamma))


def _stretch(x: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
    """Each digit's ink box widened to a width between its own (t = 0) and the 20-px box (t = 1), t drawn per image
    unless given (B,), height and rows unchanged, the box centred across: what scanners that size-normalise a
    digit to a square make of it (in UCI optdigits a '1' is as wide as an '8'). One affine resampling each."""
    b, _, h, w = x.shape
    cols = x[:, 0].amax(1) > 0.2  # (B, W): columns with ink
    index = torch.arange(w, device=x.device, dtype=x.dtype)
    first = torch.where(cols, index, float(w)).amin(1)
    last = torch.where(cols, index, -1.0).amax(1)
    width = (last - first + 1).clamp_min(1)
    t = torch.rand(b, device=x.device) if t is None else t
    target = width + t * (DIGIT_BOX - width).clamp_min(0)
    centre = torch.where(last >= first, (first + last + 1) / 2, w / 2)  # empty images: identity
    zero, one = torch.zeros_like(width), torch.ones_like(width)
    theta = torch.stack(
        [torch.stack([width / target, zero, 2 * centre / w - 1], 1), torch.stack([zero, one, zero], 1)], 1
    )
    return F.grid_sample(x, _affine_grid(theta, h, w), align_corners=False, padding_mode="zeros")


def widen(x: torch.Tensor, p: float = 0.2) -> torch.Tensor:
    """Other scanners' size normalisation (_stretch) on about p of the images."""
    return _on_share(x, p, _stretch)


def capture(x: torch.Tensor) -> torch.Tensor:
    """The capture gap in one step: pen width, contrast, blur, a wider box and low resolution, each on its own
    share (one copy of the batch, changed in place)."""
    out = _on_share_(x.clone(), 0.4, _pen)
    out = _on_share_(out, 0.2, _contrasted)
    out = _on_share_(out, 0.2, _gaussian)
    out = _on_share_(out, 0.2, _stretch)
    return _on_share_(out, 0.2, _coarse)


STEPS = {
    "affine": random_affine,
    "elastic": elastic,
    "stroke": stroke_width,
    "blur": blur,
    "lowres": low_resolution,
    "contrast": contrast,
    "widen": widen,
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
    "affine+widen",
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
