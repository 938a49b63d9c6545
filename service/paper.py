"""Photographs of paper: the page's light divided out, the digit picked out (ruled and squared lines: paper_lines).

A phone photo is not a canvas: the light falls off across the page, a hand or the phone casts a shadow at the
border, the paper carries printed lines, and the digit covers a small part of the frame. What this module
guarantees, on a grayscale image (H, W) in [0, 1]:

- ``flatten``: whether the page needs a background map at all (``Page.uneven``: the paper, seen through a grey
  closing that erases the ink, varies along the border by more than UNEVEN), and if so the ink as
  1 − image / background, so a gradient or a shadow is not ink and faint ink in a dark corner is not lost;
- ``beyond_page``: what the photo shows past the sheet's edge (a desk, a sleeve; a shadow's edge along the border
  passes for it too): wide ink reaching the frame, never further in than BEYOND_DEPTH (a filled shape is on the
  page), where such ink lies along BEYOND_SIDE of a side or more (a digit's stroke leaving the frame covers its
  width), and the band BEYOND_BAND deep along it. The grey closing fills a desk narrower than its kernel, so the
  desk is strong "ink", and its grain breaks into pieces; preprocess takes it out of the ink, and the band is the
  page's edge wherever the frame's side is (``reaches_edge``): a line ending there leaves the page (paper_lines), a
  piece reaching it is an edge piece and one lying mostly in it is never the digit (the page's edge, left as a bar);
- ``pick_digit``: connected components of the ink (hysteresis: faint stretches joined to strong ink), without
  specks and far-away components, and in a photo without what touches the frame (shadows, the ends of lines); a
  piece that lies within RIM of a side of the frame (the page's edge, a shadow's, and their crumbs) or spans less
  than CRUMB of its short side (noise, dust) is never the digit, so a blank page whose only ink is such has no
  digit at all (preprocess answers 422); and a frame round the digit (a box printed on a form, a row of them, a
  circle drawn round the answer: ``frames``, ink that hides other ink from the outside) is not part of it, nor is
  a ring drawn round it that the digit touches (``without_ring``: one piece of ink with the digit);
- ``stands_out``: whether the digit picked from a photo has a piece that is more than a crumb at a solid level
  (preprocess: MIN_CONTRAST above the noise floor). Hysteresis judges ink against the frame's own peak, which on a
  blank page is the noise's: a cluster of noise then passes for a digit whose strongest pixel or two are all that
  stand out.
OpenCV does the image work (morphology, connected components); what it costs per request, and why OpenCV rather
than scikit-image, is in docs/serving.md.
"""

from __future__ import annotations

from math import ceil
from typing import NamedTuple

import cv2
import numpy as np

cv2.setNumThreads(1)  # one request per worker per core (service/serve.py): no thread pool of its own

PLAN_SIDE = 256  # the page's light is estimated on a copy whose short side is about this long
# Kernel of the grey closing, as a share of the short side: wider than a pen's stroke on a page (up to ~7 %), and
# narrow enough that a shadow reaching more than half of it in from the border is taken for light, not for ink.
CLOSING = 1 / 10
# A loop the pen filled in (a blot) can be wider than that: up to ~13 % across where the digit is half the short
# side. What a closing this wide takes out as well, where it is BLOT_CONTRAST darker than the light it finds there
# and lies clear of the frame's border (a shadow reaches it), is ink: there the page's light is this closing's.
BLOT, BLOT_CONTRAST = 1 / 7, 0.2
UNEVEN = 0.06  # the closed paper varying along the border by more than this share of its level: a photograph
MIN_PAGE_SIDE = 96  # smaller images are canvases or scans, never photographs of a page
SPECK = 0.015  # components smaller than this share of the largest are specks
RIM = 0.06  # in a photo, a piece of ink wholly within this share of the frame from one side is the page's edge
CRUMB = 0.015  # … and one whose box spans less than this share of the short side is a crumb (a 20-px digit: 2 %)
BEYOND_WIDTH = 7  # px: what lies beyond the page is wider than this (a printed line is not, paper_lines.THICK) …
BEYOND_SIDE = 0.2  # … along a side of the frame it covers this share of the short side (a stroke: its width) …
BEYOND_DEPTH = 0.35  # … it lies wholly within this share of the frame's width or height from a side …
BEYOND_BAND = 0.04  # … and ink within this share of the short side from it lies along the sheet's edge
NEAR = 0.75  # pieces of the digit lie within this share of the main component's size from its box (a 5's loose bar)
ENCLOSED = 0.25  # ink hidden from the outside by other ink, this share of the ink's height: the other is a frame …
THIN = 5  # … if what it hides is this many times as tall as the frame's line is half wide (a box's line and a circle
# drawn round a digit: 13 times or more; a bold 0's ring round the dot inside it, a monospace font's zero: 2.3)
GAP = 5  # px: gaps in a frame (where a printed line was taken out) closed before it is seen from outside
# A ring drawn round the digit and touching it: ink whose outline is ROUND convex (its area over its convex hull's:
# circled digits 0.99, other digits with ink as far in 0.84-0.94, a 0 up to 0.98), holding ink more than two of its
# thickest line's widths in from the outside that is HELD of its height (circled digits 0.56 or more, a 0's curl
# inside it 0.33, an 8's crossing at most 0.41)
ROUND, HELD = 0.95, 0.45
SIDES = ((0, slice(None)), (-1, slice(None)), (slice(None), 0), (slice(None), -1))  # top, bottom, left, right


class Beyond(NamedTuple):
    """What a photo shows past the sheet's edge (a desk, a sleeve), and the band along it, as (H, W) bool masks."""

    cut: np.ndarray  # not the page: its ink is no ink
    band: np.ndarray  # cut, grown by BEYOND_BAND of the short side: ink reaching it reaches the page's edge


class Page(NamedTuple):
    """The ink (light on black, 0 = paper) of a dark-on-light page, and whether its light was uneven."""

    ink: np.ndarray  # (H, W) float32, ≥ 0
    uneven: bool


def plan(image: np.ndarray, side: int = PLAN_SIDE) -> tuple[np.ndarray, int]:
    """The image (H, W) box-reduced by an integer factor so that its short side is about SIDE long (itself where
    it is shorter than twice that), and the factor."""
    h, w = image.shape
    f = max(1, min(h, w) // side)
    return (cv2.resize(image, (w // f, h // f), interpolation=cv2.INTER_AREA) if f > 1 else image), f


def border(image: np.ndarray) -> np.ndarray:
    """The pixels of the image's (H, W) 1-pixel border, each once where it is 2×2 or larger (the top and bottom rows,
    then the columns between them)."""
    return np.concatenate([image[0], image[-1], image[1:-1, 0], image[1:-1, -1]])


def flatten(gray: np.ndarray, inverted: bool) -> Page:
    """Divide the page's light out of a grayscale image; `inverted` = dark ink on light paper."""
    page = gray if inverted else 1 - gray  # (H, W), dark ink on light paper either way
    h, w = page.shape
    small, f = plan(page)
    closed = _closed(small, CLOSING)
    border = np.concatenate([closed[0], closed[-1], closed[:, 0], closed[:, -1]])
    lo, mid, hi = np.percentile(border, [5, 50, 95])
    if hi - lo <= UNEVEN * max(mid, 1e-3):
        return Page(np.empty(0, np.float32), False)
    closed = _with_blots(small, closed)  # after the test: an evenly lit image never needs the wider closing
    light = cv2.resize(closed, (w, h), interpolation=cv2.INTER_LINEAR) if f > 1 else closed
    return Page(np.clip(1 - page / np.maximum(light, 1e-3), 0, 1).astype(np.float32), True)


def _closed(page: np.ndarray, share: float) -> np.ndarray:
    """A grey closing of the page (dark ink on light paper) with a square SHARE of its short side wide: its light
    where no darker thing is that wide."""
    k = max(3, int(share * min(page.shape)) | 1)
    return cv2.morphologyEx(page, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))


def _with_blots(page: np.ndarray, closed: np.ndarray) -> np.ndarray:
    """The page's light (H, W): its CLOSING closing CLOSED, but the BLOT closing's over the blots that one keeps
    (dark parts as wide as CLOSING, BLOT_CONTRAST below the wider light, reaching no side of the frame: so the
    border, which tells a photograph, is CLOSED's)."""
    wide = _closed(page, BLOT)
    count, parts = cv2.connectedComponents((wide - closed > BLOT_CONTRAST * wide).astype(np.uint8))
    if count == 1:
        return closed
    blot = np.ones(count, bool)
    blot[0] = False
    blot[border(parts)] = False  # a dark part reaching the frame's side is a shadow or the desk, not ink
    return np.where(blot[parts], wide, closed)


def beyond_page(ink: np.ndarray, level: float) -> Beyond | None:
    """What lies past the sheet's edge in a flattened photo's ink (H, W): ink above LEVEL, wider than BEYOND_WIDTH
    pixels, lying wholly within BEYOND_DEPTH of the frame's sides and reaching within BEYOND_BAND of them, where
    within that depth of one side it covers BEYOND_SIDE of the short side or more (None where none does). Judged on
    a copy whose short side is about PLAN_SIDE long, like the page's light: the grain of a desk joins up there, a
    printed line and a thin stroke vanish."""
    h, w = ink.shape
    small, f = plan(ink)
    k = max(3, ceil(BEYOND_WIDTH / f) | 1)
    mask = cv2.morphologyEx((small > level).astype(np.uint8), cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    count, labels = cv2.connectedComponents(mask, connectivity=8)
    dy, dx = (ceil(BEYOND_DEPTH * side) for side in small.shape)
    along = np.ones(count, bool)
    along[labels[dy:-dy, dx:-dx]] = False  # ink reaching further into the frame is on the page (a filled shape)
    labels = labels * along[labels]
    g = ceil(BEYOND_BAND * min(small.shape))
    strips = (labels[:g], labels[-g:], labels[:, :g].T, labels[:, -g:].T)  # along each side, g deep
    if max(np.count_nonzero(s.any(0)) for s in strips) < BEYOND_SIDE * min(small.shape):
        return None  # nothing lies along a side: wide ink reaching the frame is the digit, or a shadow's ramp
    beyond = np.zeros(count, bool)
    beyond[np.concatenate([s.ravel() for s in strips])] = True
    beyond[0] = False
    cut = beyond[labels].astype(np.uint8)
    band = cv2.dilate(cut, np.ones((2 * g + 1, 2 * g + 1), np.uint8))
    return Beyond(*(cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST) > 0 for m in (cut, band)))


def pick_digit(
    ink: np.ndarray, low: float, high: float, photo: bool, band: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """The mask (H, W) bool of the digit's components, and how many were kept: regions of ink above low that reach
    high somewhere (hysteresis: a faint stretch of a stroke stays joined to the rest). In a photo, what touches the
    frame or the band along the sheet's edge (Beyond.band) is a shadow, the page's edge or the end of a line, not
    the digit; a canvas or a scan may be filled by the digit."""
    mask = (ink > low).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
    strong = np.zeros(count, bool)
    above = ink > high  # strong ink: what makes a component strong, and what the digit must keep some of
    strong[labels[above]] = True
    if photo:
        strong &= ~_rim_or_crumb(boxes(stats), ink.shape)
        if band is not None:  # … as is a piece lying mostly in the band along the sheet's edge
            strong &= np.bincount(labels[band], minlength=count) <= 0.5 * stats[:, cv2.CC_STAT_AREA]
    strong &= ~frames(labels, strong, stats)
    labels = labels * strong[labels]
    area = np.where(strong[1:], stats[1:, cv2.CC_STAT_AREA], 0).astype(float)  # (n,) component 0 is the background
    if strong[1:].sum() <= 1:
        return without_ring(labels > 0, above), int(strong[1:].sum())
    box = boxes(stats[1:])
    x0, y0, x1, y1 = box
    edge = reaches_edge(labels, count, band)[1:] & photo
    strength = np.bincount(labels.ravel(), ink.ravel(), count)[1:] / np.maximum(area, 1)  # mean ink
    score = np.where(edge, 0.25, 1.0) * area * strength  # a shadow or the page's edge touches the frame
    main = int(np.argmax(score))
    mx, my = NEAR * (x1[main] - x0[main]), NEAR * (y1[main] - y0[main])
    near = (x1 >= x0[main] - mx) & (x0 <= x1[main] + mx) & (y1 >= y0[main] - my) & (y0 <= y1[main] + my)
    keep = near & (area > 0) & (area >= SPECK * area[main]) & ~edge
    keep[main] = True
    return without_ring(np.concatenate([[False], keep])[labels], above), int(keep.sum())


def frames(labels: np.ndarray, strong: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """Which strong components (count,) bool are a frame round the digit: a box printed on a form, a row of them, a
    circle drawn round the answer. The strong ink, its gaps of up to GAP px closed (taking a ruled line out cuts a
    circle where it crosses), is seen from outside its box: where it hides ink from the outside, ENCLOSED of its
    height or more and THIN times the frame's line's half-width, the components the outside reaches are the frame.
    A digit's loop hides nothing but crumbs or a dot as wide as its own stroke (a zero with a dot inside), and the
    pieces a line's removal cuts a stroke into each reach the outside."""
    out = np.zeros(len(stats), bool)
    kept = strong.copy()
    kept[0] = False
    if kept.sum() < 2:
        return out
    ink = kept[labels]
    x, y, w, h = cv2.boundingRect(ink.astype(np.uint8))
    window = (slice(y, y + h), slice(x, x + w))
    outside = _outside(ink, (x, y, w, h))
    seen = cv2.dilate(outside.astype(np.uint8), np.ones((3, 3), np.uint8))[1:-1, 1:-1] > 0
    reached = np.bincount(labels[window][seen & ink[window]], minlength=len(stats)) > 0
    hidden = kept & ~reached
    if not hidden.any():
        return out
    _, y0, _, y1 = boxes(stats)
    tall = y1[hidden].max() - y0[hidden].min()
    frame = kept & reached
    if tall < ENCLOSED * h or tall < THIN * _half_width(frame[labels[window]]):
        return out
    return frame


def _half_width(mask: np.ndarray) -> float:
    """The half-width of the thickest line in mask (H, W) bool: its largest distance from what is not it, in px."""
    return float(cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 3).max())


def _outside(mask: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """What the outside of mask (H, W) bool reaches in its window RECT (x, y, w, h), (h + 2, w + 2) bool, the window
    framed by a pixel of outside: its gaps of up to GAP px closed (where a printed line was taken out), 4-connected.
    On a side of the window that lies on the frame's side, the frame cuts what runs past it, so the outside does not
    come in there between the first and the last of the mask's pixels along it: a circle the photo's edge cuts
    still holds what is inside it."""
    x, y, w, h = rect
    window = mask[y : y + h, x : x + w].astype(np.uint8)
    closed = cv2.morphologyEx(window, cv2.MORPH_CLOSE, np.ones((GAP, GAP), np.uint8))
    outside = np.pad(closed == 0, 1, constant_values=True).astype(np.uint8)
    cut = (y == 0, y + h == mask.shape[0], x == 0, x + w == mask.shape[1])  # in the order of SIDES
    for (row, col), on_frame in zip(SIDES, cut):
        ink = np.flatnonzero(closed[row, col])
        if on_frame and len(ink):
            outside[row, col][ink[0] + 1 : ink[-1] + 2] = 0  # the frame's edge, along the mask's pixels on it
    rows, cols = outside.shape
    for corner in ((0, 0), (cols - 1, 0), (0, rows - 1), (cols - 1, rows - 1)):  # no side's closed run takes one
        if outside[corner[1], corner[0]] == 1:
            cv2.floodFill(outside, None, corner, 2)  # 2: what the outside reaches, 1: what it does not
    return outside == 2


def without_ring(digit: np.ndarray, strong: np.ndarray) -> np.ndarray:
    """The digit's mask (H, W) bool without a ring drawn round it that it touches, which frames() cannot take apart
    (it is one piece of ink with the digit). Where the ink's outline is ROUND and what lies more than two of its
    thickest line's widths from the outside is HELD of the ink's height and THIN times that line's half-width
    tall, that is the digit, grown back by as much within the ink, but not into the ring's line (one line's width
    from the outside), if any of it is strong ink (STRONG (H, W) bool); otherwise the mask as it was. A digit's
    own strokes all lie within a line's width of the outside: only a curl inside a loop or a crossing reaches
    further in, and neither is HELD of its height."""
    x, y, w, h = cv2.boundingRect(digit.astype(np.uint8))
    if not w:
        return digit
    mask = digit[y : y + h, x : x + w]
    outside = _outside(digit, (x, y, w, h))
    if _convexity(~outside) < ROUND:
        return digit  # an outline no ring round a digit has
    half = _half_width(mask)
    inside = ~outside
    inside[[0, -1]] = inside[:, [0, -1]] = False  # ink is as near the outside as to a side of the frame it meets
    far = cv2.distanceTransform(inside.astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]  # px from the outside
    inner = mask & (far > 4 * half)
    rows = np.flatnonzero(inner.any(1))
    if not len(rows) or rows[-1] + 1 - rows[0] < max(HELD * h, THIN * half):
        return digit
    grown = cv2.distanceTransform((~inner).astype(np.uint8), cv2.DIST_L2, 3) <= 4 * half + 1
    kept = mask & grown & (far > 2 * half + 1)
    if not (kept & strong[y : y + h, x : x + w]).any():
        return digit
    out = np.zeros_like(digit)
    out[y : y + h, x : x + w] = kept
    return out


def _convexity(region: np.ndarray) -> float:
    """The area of the largest outline in region (H, W) bool over its convex hull's: 1 for a convex shape."""
    contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outline = max(contours, key=cv2.contourArea)
    return cv2.contourArea(outline) / max(cv2.contourArea(cv2.convexHull(outline)), 1.0)


def boxes(stats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The components' boxes from cv2's stats (n, 5): x0, y0, x1, y1 (n,) each, the ends exclusive."""
    x0, y0 = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    return x0, y0, x0 + stats[:, cv2.CC_STAT_WIDTH], y0 + stats[:, cv2.CC_STAT_HEIGHT]


def reaches_edge(labels: np.ndarray, count: int, band: np.ndarray | None = None) -> np.ndarray:
    """Which of the count components labelled in labels (H, W) reach the page's edge (count,) bool: a side of the
    frame, or the band along the sheet's edge where the photo shows what lies past it (Beyond.band)."""
    edge = border(labels) if band is None else np.concatenate([border(labels), labels[band]])
    return np.bincount(edge, minlength=count) > 0


def _rim_or_crumb(box: tuple[np.ndarray, ...], shape: tuple[int, int]) -> np.ndarray:
    """Which components (their boxes) lie wholly within RIM of one side of the frame, or span less than CRUMB of
    its short side."""
    x0, y0, x1, y1 = box
    h, w = shape
    rim = (x1 <= RIM * w) | (x0 >= (1 - RIM) * w) | (y1 <= RIM * h) | (y0 >= (1 - RIM) * h)
    return rim | _crumb(box, shape)


def _crumb(box: tuple[np.ndarray, ...], shape: tuple[int, int]) -> np.ndarray:
    """Which components (their boxes) span less than CRUMB of the frame's (H, W) short side."""
    x0, y0, x1, y1 = box
    return np.maximum(x1 - x0, y1 - y0) < CRUMB * min(shape)


def stands_out(ink: np.ndarray, digit: np.ndarray, solid: float) -> bool:
    """Does the digit (mask (H, W) of ink (H, W)) hold a connected piece of ink above SOLID whose box spans CRUMB of
    the frame's short side or more? A pen's or a pencil's stroke does; noise rises above SOLID in crumbs."""
    x, y, w, h = cv2.boundingRect(digit.astype(np.uint8))  # (0, 0, 0, 0) for an empty mask
    if not w:
        return False
    window = (slice(y, y + h), slice(x, x + w))
    above = (digit[window] & (ink[window] > solid)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(above, 8, cv2.CV_32S, cv2.CCL_GRANA)
    return count > 1 and not bool(_crumb(boxes(stats[1:]), ink.shape).all())
