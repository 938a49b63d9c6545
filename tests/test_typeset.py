"""Typeset digits and letters from matplotlib's fonts: counts, labels, framing, and how they join a run."""

from itertools import product
from math import radians, tan

import numpy as np
import torch

from model import MLP, MLPConfig
from model.config import DIGIT_BOX, DIGIT_CENTRE
from training import typeset
from training.data import Splits
from training.loop import Learner, train_step
from training.outliers import make_outliers
from training.settings import TrainSettings
from training.typeset import DIGITS, FONTS, LETTERS, LOOKALIKES, PENS, digits, letters, with_digits, without_foot


def test_every_digit_in_every_font_and_pen_with_its_label():
    x, y = digits()
    per, drawn = len(FONTS) * len(PENS), len(typeset.flagged_ones())  # 42, 54
    assert x.shape == (11 * per + drawn, 784)  # ten digits, then the footless 1s, then the drawn ones
    assert y.tolist()[: 10 * len(PENS)] == [d for d in range(10) for _ in PENS]  # font by font, digit by digit
    assert torch.bincount(y).tolist() == [per, 2 * per + drawn] + [per] * 8 and (y[10 * per :] == 1).all()
    assert torch.equal(x[11 * per :], typeset.flagged_ones())
    ink = x[: 10 * per].sum(1).view(len(FONTS), 10, len(PENS))  # a '1' carries less ink than an '8' in every font
    assert (ink[:, 1] < ink[:, 8]).all()


def test_a_foot_is_the_bottom_rows_wider_than_the_stem():
    a = np.zeros((60, 40), np.uint8)
    a[10:50, 18:22] = 255  # a stem 4 px wide
    a[5:10, 12:18] = 255  # a flag at the top, 6 px wide (under 1.6 × 4): kept
    a[50:55, 8:32] = 255  # a foot 24 px wide
    out = without_foot(a)
    assert not out[50:].any() and np.array_equal(out[:50], a[:50])
    assert np.array_equal(without_foot(out), out)  # a footless glyph stays as it is


def test_a_drawn_one_is_a_stem_with_a_long_flag_to_its_left_and_no_foot():
    ink = typeset.flagged_ones().view(-1, 28, 28) > 0.3
    for i, (flag, drop, slant, pen) in enumerate(product(typeset.FLAGS, typeset.DROPS, typeset.SLANTS, PENS)):
        rows = ink[i].any(1).nonzero().flatten()
        top, bottom = rows[0].item(), rows[-1].item()
        widths = ink[i, top : bottom + 1].sum(1)
        assert widths[-1] <= widths[len(widths) // 2 :].median()  # the bottom row no wider than the stem: no foot
        # The flag's tip lies left of the stem's foot by the flag's length less the stem's lean, both scaled as
        # normalize scales the drawing (its height, stem plus pen, to the rows the ink spans here).
        height = 0.8 * typeset.SIZE
        scale = (bottom - top + 1) / (height + 4 + 3 * pen // 2)
        reach = (flag - tan(radians(slant))) * height * scale
        tip, foot = ink[i].any(0).nonzero().min().item(), ink[i, bottom].nonzero().min().item()
        assert abs((foot - tip) - reach) <= 3.5, (flag, drop, slant, pen)
        assert foot - tip >= 2  # even the shortest flag on the leaning stem reaches past its foot


def test_letters_leave_out_those_written_like_a_digit():
    assert not LOOKALIKES & set(LETTERS) and not set(DIGITS) & set(LETTERS)
    assert len(LETTERS) == 52 - len(LOOKALIKES) == 37
    assert letters().shape == (len(FONTS) * 37 * len(PENS), 784)


def test_glyphs_are_framed_as_the_service_frames_an_upload():
    x = torch.cat([digits()[0], letters()]).view(-1, 28, 28)
    assert x.min() >= 0 and torch.allclose(x.amax((1, 2)), torch.ones(len(x)))  # peak stretched to 1
    ink = x > 0.3
    rows, cols = ink.any(2), ink.any(1)
    span = lambda m: (27 - m.flip(1).float().argmax(1)) - m.float().argmax(1) + 1  # noqa: E731
    assert torch.maximum(span(rows), span(cols)).max() <= DIGIT_BOX + 2  # longest side in the 20-px box
    grid = torch.arange(28.0)
    mass = x.sum((1, 2))
    cy, cx = (x.sum(2) @ grid) / mass, (x.sum(1) @ grid) / mass
    assert ((cy - DIGIT_CENTRE).abs() <= 1).all() and ((cx - DIGIT_CENTRE).abs() <= 1).all()  # mass on (14, 14)


def _splits(n):
    x, y = torch.rand(n, 784), torch.randint(0, 10, (n,))
    return Splits(x, y, x[:5], y[:5], x[:7], y[:7], torch.zeros(7, 28, 28, dtype=torch.uint8), "f")


def test_typeset_digits_join_the_training_images_only():
    x, y = digits()
    big, small = with_digits(_splits(56_000)), with_digits(_splits(100))
    assert len(x) == 516 and len(big.train_x) == 56_000 + 9 * 516  # 8.5 % of 56,000 is 4,760: 9.2 copies of 516
    assert len(small.train_x) == 100 + len(x)  # at least one copy
    assert torch.equal(big.train_x[56_000 : 56_000 + len(x)], x) and torch.equal(big.train_y[-len(y) :], y)
    assert len(big.val_x) == 5 and len(big.test_x) == 7


def test_letters_take_a_quarter_of_the_outliers():
    x, y = torch.rand(32, 784), torch.arange(32) % 10
    bank = letters()
    out = make_outliers(x, y, 40, bank, "none")  # no augmentation: the letters come out as drawn
    quarter = out[20:30]  # pairs, turned digits, letters, scribbles: 10 each
    assert all((bank == row).all(1).any() for row in quarter)
    assert not any((bank == row).all(1).any() for row in out[30:])


def test_the_default_recipe_learns_typeset_characters_and_the_best_one_does_not():
    from training.cli import parse_settings

    assert TrainSettings().typeset and TrainSettings().augment == "affine+capture"
    assert not parse_settings(["--recipe", "best"]).typeset


def test_a_mixed_precision_step_augments_its_typeset_outliers_in_fp32():
    torch.manual_seed(0)
    model = MLP(MLPConfig(hidden=(16,)))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.rand(64, 784), torch.randint(0, 10, (64,))
    learner = Learner(model, opt, None, "affine+capture", amp=True, outlier_weight=0.5, letters=letters()[:100])
    loss = train_step(learner, x, y, step=0)  # step 0 adds outliers; under bf16 autocast the capture steps failed
    assert torch.isfinite(loss)
