"""Typeset characters for training, from the fonts matplotlib ships (DejaVu, STIX, Computer Modern).

Each character is drawn in every font at three pen weights and framed by the service's own preprocessing, so a
printed '7' reaches the network as an uploaded one would. Digits join the training images: printed numbers are
uploads too, and MNIST has none. Each font's '1' comes twice, as drawn and without its foot (flag and stem alone,
as Pillow's and many sans fonts draw it: the network read that one as a 7). The fonts' flags are short, so 54 more
1s are drawn as lines: a stem and a long falling flag (Arial's and Helvetica's shape), at three flag lengths, three
angles, upright or leaning, in the three pens (docs/experiments.md, seventh look). Letters join outlier exposure as
non-digits (without those written like a digit: O, I, l, S, Z, B, G, q…), which keeps them flagged once the
capture augmentation has taught the network thick, blurred and wide strokes. Pillow's own font is left out on
purpose: benchmarks/uploads.py and benchmarks/ood.py measure with it, so their printed digits and typeset letters
stay unseen.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from itertools import product
from math import radians, tan
from pathlib import Path

import matplotlib
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from service.preprocess import normalize
from training.data import Splits

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "STIXGeneral.ttf",
    "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf", "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf",
)  # fmt: skip
DIGITS = "0123456789"
LOOKALIKES = set("OoDIliSsZzBbGqg")  # letters written like a digit: 0, 1, 5, 2, 8, 6, 9
LETTERS = "".join(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" if c not in LOOKALIKES)
SIZE, PENS = 64, (0, 2, 5)  # font size in pixels; pen widths: regular, heavier, bold
SHARE = 0.085  # typeset digits added per training image (copies of the 516 glyphs: 9 for MNIST's 55,000)
FLAGS = (0.3, 0.42, 0.54)  # a drawn 1's flag: its length across, as a share of the stem's height
DROPS = (30, 42, 54)  # the flag's fall below the horizontal, degrees
SLANTS = (0, 8)  # the stem's lean to the right, degrees


def _draw(char: str, font: ImageFont.FreeTypeFont, pen: int, footless: bool = False) -> np.ndarray:
    """One character, light on black (without its foot if FOOTLESS), as the service's 28×28 input (H, W) float32."""
    img = Image.new("L", (2 * SIZE, 2 * SIZE), 0)
    ImageDraw.Draw(img).text((SIZE, SIZE), char, fill=255, font=font, anchor="mm", stroke_width=pen, stroke_fill=255)
    if footless:
        img = Image.fromarray(without_foot(np.asarray(img)))
    return _framed(img)


def _framed(img: Image.Image) -> np.ndarray:
    """A drawing light on black, cropped to its ink with a 4-px margin (small: never taken for a page) and framed
    by the service's own preprocessing: its 28×28 input (H, W) float32."""
    x0, y0, x1, y1 = img.getbbox()
    return normalize(img.crop((x0 - 4, y0 - 4, x1 + 4, y1 + 4))).pixels


def without_foot(a: np.ndarray) -> np.ndarray:
    """A glyph (H, W) uint8 without its foot: the bottom rows whose ink is wider than 1.6 × the stem (the median
    width over the middle third of the rows with ink) erased."""
    width = (a > 127).sum(1)  # (H,)
    rows = np.flatnonzero(width)
    stem = np.median(width[rows[len(rows) // 3 : 2 * len(rows) // 3]])
    bottom = rows[-1]
    while bottom > rows[0] and width[bottom] > 1.6 * stem:
        bottom -= 1
    out = a.copy()
    out[bottom + 1 :] = 0
    return out


def _flagged_one(flag: float, drop: float, slant: float, pen: int) -> np.ndarray:
    """A '1' drawn as two lines, a stem and a flag falling to its left, light on black, as the service's 28×28
    input (H, W) float32."""
    img = Image.new("L", (2 * SIZE, 2 * SIZE), 0)
    height = 0.8 * SIZE
    lean = tan(radians(slant)) * height
    top = (SIZE + lean / 2, SIZE - height / 2)
    bottom = (top[0] - lean, SIZE + height / 2)
    end = (top[0] - flag * height, top[1] + tan(radians(drop)) * flag * height)
    ImageDraw.Draw(img).line([end, top, bottom], fill=255, width=4 + 3 * pen // 2, joint="curve")
    return _framed(img)


@cache
def flagged_ones() -> torch.Tensor:
    """Every drawn '1' (FLAGS × DROPS × SLANTS × PENS, 784), flag by flag, then drop, slant and pen."""
    return _rows([_flagged_one(*args) for args in product(FLAGS, DROPS, SLANTS, PENS)])


@cache
def glyphs(chars: str, footless: bool = False) -> torch.Tensor:
    """Every character of CHARS in every font and pen: (fonts × chars × pens, 784), font by font, then char."""
    out = []
    for name in FONTS:
        font = ImageFont.truetype(str(FONT_DIR / name), SIZE)
        out += [_draw(c, font, pen, footless) for c in chars for pen in PENS]
    return _rows(out)


def _rows(images: list[np.ndarray]) -> torch.Tensor:
    """28×28 images as the rows of one (N, 784) tensor."""
    return torch.from_numpy(np.stack(images)).reshape(len(images), -1)


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The typeset digits (N, 784) and their labels (N,): every digit as drawn, then every '1' without its foot,
    then the drawn 1s with a long flag."""
    drawn, ones = glyphs(DIGITS), torch.cat([glyphs("1", footless=True), flagged_ones()])
    labels = torch.arange(10).repeat_interleave(len(PENS)).repeat(len(FONTS))
    return torch.cat([drawn, ones]), torch.cat([labels, torch.ones(len(ones), dtype=labels.dtype)])


def letters() -> torch.Tensor:
    """The typeset letters (N, 784): non-digits for outlier exposure."""
    return glyphs(LETTERS)


def with_digits(data: Splits) -> Splits:
    """DATA with copies of the typeset digits added to its training images, about SHARE of them (at least one
    copy); validation and test stay MNIST's own."""
    x, y = digits()
    copies = max(1, round(SHARE * len(data.train_x) / len(x)))
    device = data.train_x.device
    return replace(
        data,
        train_x=torch.cat([data.train_x, x.repeat(copies, 1).to(device)]),
        train_y=torch.cat([data.train_y, y.repeat(copies).to(device)]),
    )
