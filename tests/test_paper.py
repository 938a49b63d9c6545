"""service/paper.py's stands_out on ink maps drawn by hand: what rises above the solid level must be more than a
crumb (CRUMB of the frame's short side) in one connected piece."""

from __future__ import annotations

import numpy as np
import pytest

from service.paper import CRUMB, stands_out

SIDE, SOLID = 200, 0.1  # CRUMB × 200 = 3 px


def _noise_cluster() -> tuple[np.ndarray, np.ndarray]:
    """A 40×40 cluster of noise just under SOLID, the digit's mask around it, and the rest of the frame empty."""
    ink = np.zeros((SIDE, SIDE), np.float32)
    ink[80:120, 80:120] = np.random.default_rng(0).uniform(0.02, 0.09, (40, 40))
    return ink, ink > 0.02


def test_noise_whose_strongest_pixels_are_crumbs_does_not_stand_out():
    ink, digit = _noise_cluster()
    ink[[85, 95, 110], [90, 100, 115]] = 0.3  # three pixels far above SOLID, apart: each spans 1 px
    ink[100, 82:84] = 0.3  # two side by side span 2 px, under CRUMB × 200
    assert CRUMB * SIDE == 3 and not stands_out(ink, digit, SOLID)


@pytest.mark.parametrize("length, expected", [(2, False), (3, True), (20, True)])
def test_a_stroke_stands_out_once_it_spans_a_crumb(length, expected):
    ink, digit = _noise_cluster()
    ink[100:102, 85 : 85 + length] = 0.3  # 2 px wide
    assert stands_out(ink, digit, SOLID) is expected


def test_ink_outside_the_digit_does_not_count():
    ink, digit = _noise_cluster()
    ink[10:12, 10:60] = 0.5  # a long stroke, but not among the digit's components
    assert not stands_out(ink, digit, SOLID)
    digit[10:12, 10:60] = True
    assert stands_out(ink, digit, SOLID)


def test_nothing_above_the_solid_level_does_not_stand_out():
    ink, digit = _noise_cluster()
    assert not stands_out(ink, digit, SOLID) and not stands_out(ink, np.zeros_like(digit), SOLID)
