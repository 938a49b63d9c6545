"""Batched augmentation on tensors: what each kind does to a batch, and what it must leave alone."""

from __future__ import annotations

import pytest
import torch

from training.augment import AUGMENTS, augment_batch, elastic, random_affine
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
    for kind in ("affine", "elastic", "affine+elastic"):
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
