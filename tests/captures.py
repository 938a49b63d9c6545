"""The capture set: MNIST test digits as phone photos of paper, low-resolution scans and thin or thick pens.

python -m tests.captures OUT_DIR [--per-kind 30] [--seed 0]   # writes OUT_DIR/0000_photo_ruled_7.jpg, …

The realistic set (tests/realistic.py) re-draws digits the way canvases and clean files arrive; this one makes the
uploads that are hard to read: a digit written on plain, ruled or squared paper (in ink, or in pencil) and photographed
(light falling off by 15-40 %, sensor noise, a few degrees of rotation and perspective, JPEG quality 60-88, the digit a
quarter to half of the frame's short side anywhere in a 480-1280 px frame, sometimes a shadow at the border), scans
captured at 8×8 (17 grey levels, as in the UCI optdigits set), 12×12 or 16×16 and scaled up to 64×64, and pens far
thinner or thicker than MNIST's strokes; and a sheet photographed lying on a desk that shows past one or two of its
edges, or a card turned by up to 20° lying wholly in the frame on the desk. Every image comes from a MNIST *test*
digit and a seeded generator.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

Rng = np.random.Generator
FRAMES = ((640, 480), (960, 720), (1280, 960), (480, 640), (720, 960), (960, 1280))  # (width, height)
PENS = ((25, 25, 30), (20, 30, 110), (35, 35, 60))  # black, blue and dark ballpoint ink (RGB)
PENCILS = ((115, 115, 120), (140, 140, 145), (165, 165, 170))  # graphite, HB to 2H: often no darker than the print


def _encode(img: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def _skeleton(mask: np.ndarray) -> np.ndarray:
    """Zhang and Suen's thinning of a boolean mask down to a 1-px-wide centre line."""
    img = np.pad(mask, 1).astype(np.uint8)
    ring = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))  # P2 … P9, clockwise from north
    for _ in range(100):
        changed = False
        for first in (True, False):
            p = [np.roll(img, (-dy, -dx), (0, 1)) for dy, dx in ring]
            neighbours = sum(p)
            transitions = sum((p[i] == 0) & (p[(i + 1) % 8] == 1) for i in range(8))
            if first:
                side = (p[0] * p[2] * p[4] == 0) & (p[2] * p[4] * p[6] == 0)
            else:
                side = (p[0] * p[2] * p[6] == 0) & (p[0] * p[4] * p[6] == 0)
            kill = (img == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & side
            changed |= bool(kill.any())
            img[kill] = 0
        if not changed:
            break
    return img[1:-1, 1:-1].astype(bool)


BROAD = 1.6  # ink this many times as far from the edge as the centre line's median is a filled part, not a stroke
# (where two strokes cross, the centre is √2 ≈ 1.41 times as far)


def ink_at_4x(digit: np.ndarray) -> np.ndarray:
    """The MNIST digit's (28, 28) uint8 ink at 4× size (112, 112) bool, where the pen's path is found."""
    return np.asarray(Image.fromarray(digit).resize((112, 112), Image.Resampling.BICUBIC)) > 127


def pen_path(digit: np.ndarray) -> np.ndarray:
    """Where a pen writing the MNIST digit (28, 28) uint8 went, (112, 112) bool at 4× size: the centre line of its
    stroke (Zhang and Suen's thinning), but round each part broader than the stroke (a loop written small and
    filled by the pen, a blot): there the edge of that part, one stroke's half-width in. The centre line alone
    draws a filled loop as a line: an 8 whose lower loop is filled comes out a 9, a 9 a 1."""
    big = ink_at_4x(digit)
    centre = _skeleton(big)
    if not centre.any():
        return centre
    inside = cv2.distanceTransform(np.pad(big, 1).astype(np.uint8), cv2.DIST_L2, 5)[1:-1, 1:-1]  # px to the edge
    half = float(np.median(inside[centre]))  # the stroke's half-width
    _, parts = cv2.connectedComponents((inside > half).astype(np.uint8))  # the ink a half-width in
    broad = np.isin(parts, np.unique(parts[inside > BROAD * half])) & (parts > 0)
    outline = broad & ~cv2.erode(broad.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return centre & ~broad | outline


def _stroke(digit: np.ndarray, side: int, width: float) -> np.ndarray:
    """The digit re-written (side, side) in [0, 1] with a round pen `width` × the digit's height wide.

    The pen follows pen_path, so the width is the same everywhere, as with a real pen, and its edge is
    anti-aliased over one pixel."""
    centre = pen_path(digit)
    if not centre.any():  # a blank page (benchmarks/photo_conditions.py): nothing to write
        return np.zeros((side, side), np.float32)
    dist = cv2.distanceTransform((~centre).astype(np.uint8), cv2.DIST_L2, 5)  # (112, 112) px to the centre line
    dist = cv2.resize(dist, (side, side), interpolation=cv2.INTER_LINEAR) * (side / 112)
    radius = width * side * 20 / 28 / 2
    return np.clip(radius + 0.5 - dist, 0, 1).astype(np.float32)


# ---------- phone photos of paper ----------


@dataclass(frozen=True)
class Photo:
    """How a photo is taken: each range (low, high) is drawn uniformly, per photo; give one as (v, v) to hold it
    at v (benchmarks/photo_conditions.py holds each at its hardest end in turn)."""

    pen: tuple[float, float] = (0.03, 0.12)  # the pen's width, a share of the digit's height (MNIST's: ~0.12)
    turn: tuple[float, float] = (-4, 4)  # the digit written turned, degrees
    height: tuple[float, float] = (0.25, 0.5)  # the digit's height, a share of the frame's short side
    tilt: tuple[float, float] = (-3, 3)  # the camera turned, degrees
    corners: float = 0.03  # each corner of the frame moved up to this share of its side (perspective)
    blur: tuple[float, float] = (0.3, 1.2)  # Gaussian blur's radius, px
    falloff: tuple[float, float] = (0.15, 0.4)  # the light lost from the bright spot to the far corner
    falloff_power: tuple[float, float] = (1, 2)  # how the light falls off with distance: 1 evenly, 2 late
    noise: tuple[float, float] = (2, 7)  # sensor noise's standard deviation, grey levels
    quality: tuple[int, int] = (60, 88)  # JPEG quality, both ends included
    frame: tuple[int, int] | None = None  # (width, height); None: one of FRAMES
    shadow: bool | None = None  # a shadow at the border; None: on 30 % of photos
    pens: tuple[tuple[int, int, int], ...] = PENS  # the ink's colours (RGB), one drawn per photo
    desk: tuple[int, int] = (0, 0)  # how many of the page's edges show the desk past them, both ends included …
    desk_depth: float = 0.2  # … each reaching up to this share of the frame in (never within DESK_GAP of the digit)
    marked: bool = False  # a box printed round the digit (alone or in a row) or a circle drawn round it (_mark)


PHOTO = Photo()
DESK_GAP = 0.03  # the desk stays this share of the frame's short side away from the digit's ink


def _paper(width: int, height: int, rng: Rng, lines: str) -> Image.Image:
    """White paper, slightly tinted, with ruled or squared lines (RGB), a little larger than the frame."""
    tint = np.array([255, 255, 255]) - rng.uniform(0, 18, 3)
    page = Image.new("RGB", (width, height), tuple(int(v) for v in tint))
    draw = ImageDraw.Draw(page)
    short = min(width, height)
    colour = tuple(int(v) for v in rng.uniform([110, 150, 200], [170, 200, 240]))  # light blue
    thick = int(rng.integers(1, 4))
    if lines == "ruled":
        gap = rng.uniform(0.06, 0.1) * short
        for y in np.arange(rng.uniform(0, gap), height, gap):
            draw.line([(0, y), (width, y)], fill=colour, width=thick)
        x = rng.uniform(0.05, 0.2) * width
        draw.line([(x, 0), (x, height)], fill=(220, 120, 130), width=thick)  # the red margin
    elif lines == "squared":
        gap = rng.uniform(0.035, 0.06) * short
        grey = tuple(int(v) for v in rng.uniform([140, 160, 170], [190, 200, 225]))
        for y in np.arange(rng.uniform(0, gap), height, gap):
            draw.line([(0, y), (width, y)], fill=grey, width=thick)
        for x in np.arange(rng.uniform(0, gap), width, gap):
            draw.line([(x, 0), (x, height)], fill=grey, width=thick)
    return page


def _write(page: Image.Image, digit: np.ndarray, rng: Rng, how: Photo) -> tuple[int, int, int, int] | None:
    """Write the digit on the page in pen, its height a share of the page's short side, anywhere it fits; the box
    of its ink on the page (x0, y0, x1, y1, the ends exclusive; None for a blank page)."""
    width, height = page.size
    tall = rng.uniform(*how.height) * min(width, height) / 0.85  # the page is cropped by ~15 % later
    side = int(tall * 28 / 20)  # MNIST's digits fill 20 of 28 pixels
    ink = _stroke(digit, side, float(rng.uniform(*how.pen)))
    angle = float(rng.uniform(*how.turn))
    alpha = Image.fromarray(np.round(ink * 255 * rng.uniform(0.85, 1.0)).astype(np.uint8)).rotate(angle, Image.BICUBIC)
    pen = tuple(int(v) for v in how.pens[int(rng.integers(len(how.pens)))])
    lo, hi = (
        (int(0.08 * width), int(0.08 * height)),
        (width - side - int(0.08 * width), height - side - int(0.08 * height)),
    )
    x, y = int(rng.integers(lo[0], hi[0] + 1)), int(rng.integers(lo[1], hi[1] + 1))
    page.paste(Image.new("RGB", alpha.size, pen), (x, y), alpha)
    box = alpha.getbbox()
    return None if box is None else (box[0] + x, box[1] + y, box[2] + x, box[3] + y)


def _desk(page: Image.Image, box: tuple[int, int, int, int] | None, frame: tuple[int, int], rng: Rng, how: Photo):
    """The page lying on a wooden desk, light or dark, with its grain: past each of a few of the page's edges
    (how.desk), the desk takes a strip reaching up to how.desk_depth of the frame (width, height) in, stopping
    DESK_GAP short of the box of the digit's ink."""
    pw, ph = page.size
    w, h = frame
    x0, y0, x1, y1 = box or (pw // 2, ph // 2, pw // 2, ph // 2)
    gap = DESK_GAP * min(w, h)
    room = (y0 - gap, pw - x1 - gap, ph - y1 - gap, x0 - gap)  # from the top, right, bottom and left edges
    margin = ((ph - h) / 2, (pw - w) / 2) * 2  # the page's overhang past the frame on each side, as _perspective
    sides = rng.permutation(4)[: int(rng.integers(how.desk[0], how.desk[1] + 1))]
    depth = rng.uniform(0, how.desk_depth, 4)
    desk = np.zeros((ph, pw), bool)
    for side in sides:
        d = int(min(margin[side] + depth[side] * (w if side % 2 else h), room[side]))
        if d > 0:
            (desk[:d], desk[:, pw - d :], desk[ph - d :], desk[:, :d])[side][...] = True
    pixels = np.asarray(page, np.float32).copy()
    pixels[desk] = _wood((ph, pw), rng)[desk]
    return Image.fromarray(pixels.astype(np.uint8))


def _wood(shape: tuple[int, int], rng: Rng) -> np.ndarray:
    """A wooden desk (H, W, 3) float32 RGB in [0, 255], light or dark, its grain running across it."""
    h, w = shape
    wood = rng.uniform([60, 40, 20], [170, 120, 80]) if rng.random() < 0.7 else rng.uniform(20, 90, 3)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    grain = 12 * np.sin(ys / rng.uniform(3, 9) + 3 * np.sin(xs / rng.uniform(40, 120)))
    return np.clip(wood + grain[..., None], 0, 255).astype(np.float32)


def _perspective(page: Image.Image, size: tuple[int, int], rng: Rng, how: Photo) -> Image.Image:
    """Photograph the page: the frame's corners land on jittered points inside it (a few degrees of tilt)."""
    pw, ph = page.size
    w, h = size
    mx, my = (pw - w) / 2, (ph - h) / 2
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    turn = np.radians(rng.uniform(*how.tilt))
    centre = np.array([w / 2, h / 2])
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    src = (corners - centre) @ rot.T + centre + rng.uniform(-how.corners, how.corners, (4, 2)) * [w, h] + [mx, my]
    return page.transform(size, Image.Transform.PERSPECTIVE, _homography(corners, src), Image.Resampling.BICUBIC)


def _homography(dst: np.ndarray, src: np.ndarray) -> list[float]:
    """Pillow's 8 coefficients mapping output (dst) points to input (src) points."""
    rows = []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return np.linalg.solve(np.array(rows), src.reshape(-1)).tolist()


def _light(shape: tuple[int, int], rng: Rng, shadow: bool, how: Photo) -> np.ndarray:
    """Illumination (H, W) in (0, 1]: a falloff (15-40 %) away from a random bright spot, and a soft border shadow."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = rng.uniform(-0.2, 1.2) * h, rng.uniform(-0.2, 1.2) * w
    dist = np.hypot(ys - cy, xs - cx)
    light = 1 - rng.uniform(*how.falloff) * (dist / dist.max()) ** rng.uniform(*how.falloff_power)
    if shadow:  # the phone's or the hand's shadow over one edge, its border blurred
        side = int(rng.integers(4))
        depth = rng.uniform(0.05, 0.15) * (w if side % 2 else h)
        soft = rng.uniform(0.02, 0.06) * min(h, w)
        coord = (ys, xs, h - 1 - ys, w - 1 - xs)[side]
        light *= 1 - rng.uniform(0.25, 0.5) / (1 + np.exp((coord - depth) / soft))
    return light


def _photo(digit: np.ndarray, rng: Rng, lines: str, how: Photo = PHOTO) -> bytes:
    """A phone photo of the digit written on paper, as a JPEG."""
    w, h = how.frame or FRAMES[int(rng.integers(len(FRAMES)))]
    page = _paper(int(w * 1.15), int(h * 1.15), rng, lines)
    box = _write(page, digit, rng, how)
    if how.desk[1]:  # drawn by a generator of its own: the photo's other draws stay those it has without a desk
        page = _desk(page, box, (w, h), rng.spawn(1)[0], how)
    if how.marked and box is not None:  # the same
        _mark(page, box, rng.spawn(1)[0])
    return _camera(_perspective(page, (w, h), rng, how), rng, how)


def _mark(page: Image.Image, box: tuple[int, int, int, int], rng: Rng) -> None:
    """Frame the digit whose ink has this box on the page: half the time a box printed round it as on a form (a
    square, alone or the middle one of a row of five; black, grey, blue or red lines 1-4 px wide, a margin of
    10-35 % of the digit's height), else a circle drawn round it by hand in dark ink (an ellipse clear of the ink's
    box by 10-30 % of its height, the stroke 3-8 % of it). The frame never touches the digit."""
    draw = ImageDraw.Draw(page)
    x0, y0, x1, y1 = box
    tall = y1 - y0
    if rng.random() < 0.5:
        margin = rng.uniform(0.1, 0.35) * tall
        half = max(x1 - x0, tall) / 2 + margin
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        colour = ((30, 30, 30), (90, 90, 90), (40, 60, 160), (200, 60, 60))[int(rng.integers(4))]
        width = int(rng.integers(1, 5))
        for k in (-2, -1, 0, 1, 2) if rng.random() < 0.5 else (0,):
            left = cx - half + 2 * half * k
            draw.rectangle([left, cy - half, left + 2 * half, cy + half], outline=colour, width=width)
    else:  # an ellipse through the corners of the ink's box (half-axes √2 × its half-sides), then the margin
        margin = rng.uniform(0.1, 0.3) * tall
        width = max(2, int(rng.uniform(0.03, 0.08) * tall))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        a, b = 0.7072 * (x1 - x0) + margin + width, 0.7072 * tall + margin + width
        draw.ellipse([cx - a, cy - b, cx + a, cy + b], outline=(30, 30, 70), width=width)


def _camera(img: Image.Image, rng: Rng, how: Photo) -> bytes:
    """What the phone makes of the scene in its frame (RGB): blur, light falling off and a shadow, sensor noise,
    JPEG."""
    img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(*how.blur))))
    shadow = rng.random() < 0.3 if how.shadow is None else how.shadow
    rgb = np.asarray(img, np.float32) * _light((img.height, img.width), rng, shadow, how)[..., None]
    rgb += rng.normal(0, rng.uniform(*how.noise), rgb.shape)  # sensor noise
    out = Image.fromarray(np.clip(np.round(rgb), 0, 255).astype(np.uint8))
    return _encode(out, "JPEG", quality=int(rng.integers(how.quality[0], how.quality[1] + 1)))


def photo_plain(digit: np.ndarray, rng: Rng) -> bytes:
    """Plain paper."""
    return _photo(digit, rng, "plain")


def photo_ruled(digit: np.ndarray, rng: Rng) -> bytes:
    """Ruled paper: light-blue lines and a red margin."""
    return _photo(digit, rng, "ruled")


def photo_squared(digit: np.ndarray, rng: Rng) -> bytes:
    """Squared (grid) paper."""
    return _photo(digit, rng, "squared")


LARGE = replace(PHOTO, frame=(1280, 960))  # the largest frame: the per-request time in docs/serving.md
SMALL = replace(LARGE, height=(0.22, 0.27), shadow=True)


def photo_small(digit: np.ndarray, rng: Rng) -> bytes:
    """A small digit (a quarter of the short side) in a 1280×960 frame on any paper, a shadow at the border."""
    lines = ("plain", "ruled", "squared")[int(rng.integers(3))]
    return _photo(digit, rng, lines, SMALL)


PENCIL = replace(PHOTO, pens=PENCILS)


def photo_pencil(digit: np.ndarray, rng: Rng) -> bytes:
    """Written in pencil on any paper: grey graphite, on ruled or squared paper about as dark as the lines."""
    lines = ("plain", "ruled", "squared")[int(rng.integers(3))]
    return _photo(digit, rng, lines, PENCIL)


DESK = replace(PHOTO, desk=(1, 2))


def photo_desk(digit: np.ndarray, rng: Rng) -> bytes:
    """The sheet lying on a desk that shows past one of its edges or two (a corner, or both ends), on any paper."""
    lines = ("plain", "ruled", "squared")[int(rng.integers(3))]
    return _photo(digit, rng, lines, DESK)


MARKED = replace(PHOTO, marked=True)


def photo_marked(digit: np.ndarray, rng: Rng) -> bytes:
    """The digit framed on the page, on any paper: in a box printed as on a form (alone or in a row of them), or
    circled by hand (_mark)."""
    lines = ("plain", "ruled", "squared")[int(rng.integers(3))]
    return _photo(digit, rng, lines, MARKED)


CARD_SIZE = (0.5, 0.65)  # a card's sides, a share of the frame's: turned by CARD_TURN, it stays in the frame
CARD_TURN = 20  # degrees either way
CARD_CLEAR = 0.02  # the card keeps this share of the frame clear of its sides


def photo_card(digit: np.ndarray, rng: Rng) -> bytes:
    """A card or a note (a page half to two thirds of the frame's sides, any paper) turned by up to CARD_TURN°,
    lying wholly in the frame on a desk: the desk shows past all four of its edges, over half of the frame."""
    w, h = FRAMES[int(rng.integers(len(FRAMES)))]
    lines = ("plain", "ruled", "squared")[int(rng.integers(3))]
    size = rng.uniform(*CARD_SIZE)
    card = _paper(w, h, rng, lines)
    _write(card, digit, rng, PHOTO)
    card = card.resize((int(w * size), int(h * size)), Image.Resampling.BICUBIC)  # seen from further away
    turn = float(rng.uniform(-CARD_TURN, CARD_TURN))
    shape = Image.new("L", card.size, 255).rotate(turn, Image.Resampling.BICUBIC, expand=True)
    card = card.rotate(turn, Image.Resampling.BICUBIC, expand=True)
    (cw, ch), mx, my = card.size, int(CARD_CLEAR * w), int(CARD_CLEAR * h)
    at = int(rng.integers(mx, w - cw - mx + 1)), int(rng.integers(my, h - ch - my + 1))
    scene = Image.fromarray(_wood((h, w), rng).astype(np.uint8))
    scene.paste(card, at, shape)
    return _camera(scene, rng, PHOTO)


# ---------- low-resolution scans ----------


def _fit_box(digit: np.ndarray, side: int) -> np.ndarray:
    """The digit's ink cut to its box and scaled (aspect kept, centred) to fill side × side, in [0, 1]."""
    rows, cols = np.flatnonzero(digit.max(1) > 0), np.flatnonzero(digit.max(0) > 0)
    ink = Image.fromarray(digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    scale = side / max(ink.size)
    ink = ink.resize((max(1, round(ink.width * scale)), max(1, round(ink.height * scale))), Image.Resampling.BICUBIC)
    out = Image.new("L", (side, side), 0)
    out.paste(ink, ((side - ink.width) // 2, (side - ink.height) // 2))
    return np.asarray(out, np.float32) / 255


def _scan(cells: np.ndarray, rng: Rng) -> bytes:
    """Low-resolution ink in [0, 1] scaled up to 64×64 (bilinear or bicubic), either polarity, as a PNG."""
    grey = np.round(cells * 255).astype(np.uint8)
    if rng.random() < 0.5:
        grey = 255 - grey  # dark on light
    resample = (Image.Resampling.BILINEAR, Image.Resampling.BICUBIC)[int(rng.integers(2))]
    return _encode(Image.fromarray(grey).resize((64, 64), resample), "PNG")


def scan_8(digit: np.ndarray, rng: Rng) -> bytes:
    """optdigits' capture: a 32×32 bitmap counted in 4×4 blocks, 8×8 with 17 grey levels."""
    bitmap = _fit_box(digit, 32) > 0.5
    counts = bitmap.reshape(8, 4, 8, 4).sum((1, 3))  # (8, 8) in 0..16
    return _scan(counts / 16, rng)


def scan_12(digit: np.ndarray, rng: Rng) -> bytes:
    """12×12, averaged from a 36×36 fit."""
    return _scan(_fit_box(digit, 36).reshape(12, 3, 12, 3).mean((1, 3)), rng)


def scan_16(digit: np.ndarray, rng: Rng) -> bytes:
    """16×16, averaged from a 32×32 fit."""
    return _scan(_fit_box(digit, 32).reshape(16, 2, 16, 2).mean((1, 3)), rng)


# ---------- pens ----------


def _pen(digit: np.ndarray, rng: Rng, width: float) -> bytes:
    """Ink of the given width on white, a 300×300 PNG or a JPEG (quality 85), the digit 150-250 px tall."""
    side = int(rng.integers(150, 251) * 28 / 20)
    ink = _stroke(digit, side, width)
    canvas = np.zeros((420, 420), np.float32)
    y, x = (int(v) for v in rng.integers(0, 420 - side + 1, 2))
    canvas[y : y + side, x : x + side] = ink
    img = Image.fromarray(np.round(255 - 230 * canvas).astype(np.uint8)).resize((300, 300), Image.Resampling.BOX)
    return _encode(img, "PNG") if rng.random() < 0.5 else _encode(img.convert("RGB"), "JPEG", quality=85)


def pen_thin(digit: np.ndarray, rng: Rng) -> bytes:
    """A fine pen: strokes 2-3.5 % of the digit's height (MNIST's are ~12 %)."""
    return _pen(digit, rng, float(rng.uniform(0.02, 0.035)))


def pen_thick(digit: np.ndarray, rng: Rng) -> bytes:
    """A marker: strokes 18-25 % of the digit's height."""
    return _pen(digit, rng, float(rng.uniform(0.18, 0.25)))


FIRST = {
    f.__name__: f
    for f in (photo_plain, photo_ruled, photo_squared, photo_small, scan_8, scan_12, scan_16, pen_thin, pen_thick)
}  # the set as first made and measured
# kinds added since, in the order they came: each draws with its own generator
ADDED = {f.__name__: f for f in (photo_pencil, photo_desk, photo_card, photo_marked)}
KINDS = FIRST | ADDED
GROUPS = {kind: kind.split("_")[0] for kind in KINDS}  # photo, scan or pen


def build_capture_set(images, labels, per_kind: int = 30, seed: int = 0) -> list[tuple[bytes, int, str]]:
    """(file bytes, label, kind): per_kind different MNIST test digits for each kind, drawn with one seed. The first
    kinds share one generator; each added kind has its own, seeded (seed, its place), so adding one leaves the
    uploads of the others byte for byte as they were (and the figures measured on them comparable)."""
    images, labels = np.asarray(images, np.uint8), np.asarray(labels)
    groups = [(np.random.default_rng(seed), FIRST)]
    groups += [(np.random.default_rng([seed, i]), {kind: make}) for i, (kind, make) in enumerate(ADDED.items(), 1)]
    out = []
    for rng, kinds in groups:
        picks = rng.choice(len(images), size=per_kind * len(kinds), replace=False).reshape(len(kinds), per_kind)
        for (kind, make), row in zip(kinds.items(), picks):
            out += [(make(images[j], rng), int(labels[j]), kind) for j in row]
    return out


def main(argv=None) -> int:
    """Write the set as files named index_kind_label.ext."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write into")
    parser.add_argument("--per-kind", type=int, default=30, help="uploads of each kind (default: 30)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="MNIST folder (default: data)")
    args = parser.parse_args(argv)
    from tests.realistic import write_set
    from training.data import load_mnist

    mnist = load_mnist(args.data_dir)
    write_set(args.out, build_capture_set(mnist.test_x, mnist.test_y, args.per_kind, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
