"""Batched augmentation on tensors: what each kind does to a batch, and what it must leave alone."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from training.augment import (
    AUGMENTS,
    _affine_grid,
    _coarse,
    _gamma,
    _gaussian,
    _pen,
    _stretch,
    augment_batch,
    blur,
    contrast,
    elastic,
    low_resolution,
    random_affine,
    stroke_width,
    widen,
)
from training.errors import UsageError
from training.settings import TrainSettings, check_settings


def _bars(n: int = 64) -> torch.Tensor:
    """n flat 28×28 images of a vertical bar in the MNIST box: pixels in [0, 1], ink at the centre."""
    x = torch.zeros(n, 28, 28)
    x[:, 4:24, 12:16] = 1.0
    return x.reshape(n, 784)


def _centre_of_mass(x: torch.Tensor) -> torch.Tensor:
    """(row, column) of the ink's centre of mass of each flat image with 28 columns."""
    img = x.view(len(x), -1, 28)
    rows, cols = torch.arange(float(img.shape[1])), torch.arange(28.0)
    mass = img.sum((1, 2))
    return torch.stack([(img.sum(2) * rows).sum(1) / mass, (img.sum(1) * cols).sum(1) / mass], 1)  # (B, 2)


@pytest.mark.parametrize("kind", AUGMENTS)
def test_every_kind_keeps_shape_range_and_leaves_the_input_alone(kind):
    torch.manual_seed(0)
    x = _bars()
    before = x.clone()
    out = augment_batch(x, kind)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert out.min() >= 0 and out.max() <= 1
    assert torch.equal(x, before)  # the dataset tensor is never modified in place


def test_none_is_the_identity_and_the_others_change_every_image():
    torch.manual_seed(1)
    x = _bars()
    assert torch.equal(augment_batch(x, "none"), x)
    for kind in ("affine", "elastic", "affine+elastic", "affine+capture"):
        changed = (augment_batch(x, kind) - x).abs().sum(1) > 0
        assert changed.all(), kind


def test_elastic_moves_ink_a_few_pixels_and_bends_it():
    torch.manual_seed(2)
    x = _bars(256)
    out = augment_batch(x, "elastic").view(-1, 28, 28)
    shift = (_centre_of_mass(out) - _centre_of_mass(x)).norm(dim=1)
    assert 0.3 < shift.mean() < 3.0  # displacements of ~2 px, smoothed over σ = 4 px
    assert (out.sum((1, 2)) / x.sum(1) - 1).abs().mean() < 0.3  # stretched or squeezed, not erased
    top, bottom = _centre_of_mass(out[:, :14].reshape(-1, 14 * 28)), _centre_of_mass(out[:, 14:].reshape(-1, 14 * 28))
    assert (top[:, 1] - bottom[:, 1]).abs().mean() > 0.1  # not a rigid move: the bar's halves shift differently


def test_affine_moves_images_by_different_amounts():
    torch.manual_seed(3)
    x = _bars(256)
    shift = _centre_of_mass(augment_batch(x, "affine")) - _centre_of_mass(x)
    assert shift.abs().max() <= 2.0 + 1.5  # ±2 px shift, plus what rotation and scaling move the bar's centre
    assert shift.std(0).min() > 0.5  # each image gets its own move


def test_the_same_seed_gives_the_same_batch():
    x = _bars(8).view(-1, 1, 28, 28)
    torch.manual_seed(4)
    first = elastic(random_affine(x))
    torch.manual_seed(4)
    assert torch.equal(elastic(random_affine(x)), first)


def test_an_unknown_kind_is_a_usage_error():
    with pytest.raises(UsageError, match="affine\\+elastic"):
        check_settings(TrainSettings(augment="cutout"))


def _width(x: torch.Tensor) -> torch.Tensor:
    """Mean width in pixels of each bar image (B, 1, 28, 28): ink mass per row over the peak, on the middle rows."""
    rows = x[:, 0, 8:20]  # (B, 12, 28)
    return (rows.sum(2) / rows.amax((1, 2)).unsqueeze(1)).mean(1)


def test_pen_makes_strokes_thinner_or_thicker_but_keeps_them():
    torch.manual_seed(5)
    x = _bars(512).view(-1, 1, 28, 28)
    out = _pen(x)
    change = _width(out) - _width(x)  # the bar is 4 px wide
    assert change.min() < -1.0 and change.max() > 1.5  # up to 2 px thinner (3×3 erosion), 2 px thicker
    assert (out.amax((1, 2, 3)) > 0.3).all()  # never erased


def test_blur_is_a_gaussian_convolution():
    torch.manual_seed(6)
    x = torch.rand(4, 1, 28, 28)
    got = _gaussian(x, (0.8, 0.8))
    k = torch.exp(-(torch.arange(-3, 4.0) ** 2) / (2 * 0.8**2))
    k = k / k.sum()
    reference = F.conv2d(F.conv2d(F.pad(x, (3, 3, 3, 3)), k.view(1, 1, 1, 7)), k.view(1, 1, 7, 1))  # zero padding
    assert torch.allclose(got, reference, atol=1e-5)


def test_low_resolution_is_a_block_average_scaled_back_up():
    torch.manual_seed(7)
    x = _bars(4).view(-1, 1, 28, 28)
    out = _coarse(x, (10, 10))  # the 20-px box at 10 px: the 28-px frame at 14, 2×2 blocks
    blocks = x.view(4, 1, 14, 2, 14, 2).mean((3, 5))
    assert torch.allclose(F.interpolate(blocks, size=28, mode="bilinear", align_corners=False), out, atol=1e-6)
    assert (out[:, 0, 14, 11] > 0).all() and (out[:, 0, 14, 11] < 1).all()  # the bar's edge is blurred


def test_contrast_bends_grey_levels_and_keeps_black_and_white():
    torch.manual_seed(8)
    x = torch.linspace(0, 1, 28).repeat(64, 1, 28, 1)  # (64, 1, 28, 28), a grey ramp in each row
    out = contrast(x, p=1.0)
    assert torch.equal(out[..., 0], x[..., 0]) and torch.allclose(out[..., -1], x[..., -1])
    middle = out[:, 0, 0, 14] / x[0, 0, 0, 14]
    assert middle.min() < 0.8 and middle.max() > 1.2  # gamma from 0.5 to 2


@pytest.mark.parametrize("step", [stroke_width, blur, low_resolution, contrast, widen])
def test_each_capture_step_touches_about_its_share_of_the_batch(step):
    torch.manual_seed(9)
    x = _bars(1000).view(-1, 1, 28, 28) * 0.5  # grey ink: every step changes every image it is applied to
    changed = ((step(x, p=0.3) - x).abs().amax((1, 2, 3)) > 1e-6).float().mean()
    assert 0.3 - 3 * 0.0145 < changed <= 0.3 + 3 * 0.0145  # binomial σ = √(0.3 · 0.7 / 1000) ≈ 1.45 %


def test_affine_grid_is_torchs():
    torch.manual_seed(10)
    theta = torch.randn(16, 2, 3)
    for h, w in ((28, 28), (20, 28)):
        reference = F.affine_grid(theta, [16, 1, h, w], align_corners=False)
        assert torch.allclose(_affine_grid(theta, h, w), reference, atol=1e-6)


def test_low_resolution_at_any_side_is_torchs_area_then_bilinear():
    torch.manual_seed(11)
    x = torch.rand(8, 1, 28, 28)
    for side in (8, 13, 16):  # the frame at 11, 18, 22 px: area averages over uneven blocks
        reference = F.interpolate(F.interpolate(x, size=round(28 * side / 20), mode="area"), size=28, mode="bilinear")
        assert torch.allclose(_coarse(x, (side, side)), reference.clamp(0, 1), atol=1e-5), side


def test_gamma_is_a_power_that_keeps_black():
    torch.manual_seed(12)
    x = torch.rand(16, 1, 28, 28) * (torch.rand(16, 1, 28, 28) > 0.7)  # mostly exact zeros, as digits are
    g = torch.exp(torch.empty(16, 1, 1, 1).uniform_(math.log(0.5), math.log(2.0)))
    got = _gamma(x, g)
    assert torch.equal(got[x == 0], torch.zeros(int((x == 0).sum())))
    assert torch.allclose(got.double(), x.double() ** g.double(), atol=1e-5, rtol=0)  # float64 reference


def test_stretch_widens_the_ink_box_up_to_the_digit_box_and_keeps_its_height():
    """A 4-px bar (columns 12-15, rows 4-23) stays as it is at t = 0, fills 20 px across at t = 1 (columns 4-23,
    the box centred), about 12 px at t = 0.5; rows and total height never change; a blank image stays blank."""
    x = _bars(3).view(-1, 1, 28, 28)
    out = _stretch(x, torch.tensor([0.0, 1.0, 0.5]))
    cols = out[:, 0].amax(1) > 0.5  # (3, 28): columns with ink
    assert torch.allclose(out[0], x[0], atol=1e-5)
    assert torch.equal(torch.nonzero(cols[1]).flatten(), torch.arange(4, 24))
    assert 11 <= int(cols[2].sum()) <= 13 and abs(torch.nonzero(cols[2]).flatten().float().mean().item() - 13.5) < 0.6
    rows = out[:, 0].amax(2) > 0.5
    assert torch.equal(rows, x[:, 0].amax(2) > 0.5)
    assert torch.equal(_stretch(torch.zeros(2, 1, 28, 28)), torch.zeros(2, 1, 28, 28))
