"""Photographs of paper: the page's light divided out, the digit picked out (ruled and squared lines: paper_lines).

A phone photo is not a canvas: the light falls off across the page, a hand or the phone casts a shadow at the
border, the paper carries printed lines, and the digit covers a small part of the frame. What this module
guarantees, on a grayscale image (H, W) in [0, 1]:

- ``flatten``: whether the page needs a background map at all (``Page.uneven``: the paper, seen through a grey
  closing that erases the ink, varies along the border by more than UNEVEN), and if so the ink as
  1 − image / background, so a gradient or a shadow is not ink and faint ink in a dark corner is not lost;
- ``pick_digit``: connected components of the ink (hysteresis: faint stretches joined to strong ink), without
  specks and far-away components, and in a photo without what touches the frame (shadows, the ends of lines); a
  piece that lies within RIM of a side of the frame (the page's edge, a shadow's, and their crumbs) or spans less
  than CRUMB of its short side (noise, dust) is never the digit, so a blank page whose only ink is such has no
  digit at all (preprocess answers 422);
- ``stands_out``: whether the digit picked from a photo has a piece that is more than a crumb at a solid level
  (preprocess: MIN_CONTRAST above the noise floor). Hysteresis judges ink against the frame's own peak, which on a
  blank page is the noise's: a cluster of noise then passes for a digit whose strongest pixel or two are all that
  stand out.
OpenCV does the image work (morphology, connected components); what it costs per request, and why OpenCV rather
than scikit-image, is in docs/serving.md.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

cv2.setNumThreads(1)  # one request per worker per core (service/serve.py): no thread pool of its own

PLAN_SIDE = 256  # the page's light is estimated on a copy whose short side is about this long
# Kernel of the grey closing, as a share of the short side: wider than a pen's stroke on a page (up to ~7 %), and
# narrow enough that a shadow reaching more than half of it in from the border is taken for light, not for ink.
CLOSING = 1 / 10
UNEVEN = 0.06  # the closed paper varying along the border by more than this share of its level: a photograph
MIN_PAGE_SIDE = 96  # smaller images are canvases or scans, never photographs of a page
SPECK = 0.015  # components smaller than this share of the largest are specks
RIM = 0.06  # in a photo, a piece of ink wholly within this share of the frame from one side is the page's edge
CRUMB = 0.015  # … and one whose box spans less than this share of the short side is a crumb (a 20-px digit: 2 %)
NEAR = 0.75  # pieces of the digit lie within this share of the main component's size from its box (a 5's loose bar)


class Page(NamedTuple):
    """The ink (light on black, 0 = paper) of a dark-on-light page, and whether its light was uneven."""

    ink: np.ndarray  # (H, W) float32, ≥ 0
    uneven: bool


def flatten(gray: np.ndarray, inverted: bool) -> Page:
    """Divide the page's light out of a grayscale image; `inverted` = dark ink on light paper."""
    page = gray if inverted else 1 - gray  # (H, W), dark ink on light paper either way
    h, w = page.shape
    f = max(1, min(h, w) // PLAN_SIDE)
    small = cv2.resize(page, (w // f, h // f), interpolation=cv2.INTER_AREA) if f > 1 else page
    k = max(3, int(CLOSING * min(small.shape)) | 1)
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    border = np.concatenate([closed[0], closed[-1], closed[:, 0], closed[:, -1]])
    lo, mid, hi = np.percentile(border, [5, 50, 95])
    if hi - lo <= UNEVEN * max(mid, 1e-3):
        return Page(np.empty(0, np.float32), False)
    light = cv2.resize(closed, (w, h), interpolation=cv2.INTER_LINEAR) if f > 1 else closed
    return Page(np.clip(1 - page / np.maximum(light, 1e-3), 0, 1).astype(np.float32), True)


def pick_digit(ink: np.ndarray, low: float, high: float, photo: bool) -> tuple[np.ndarray, int]:
    """The mask (H, W) bool of the digit's components, and how many were kept: regions of ink above low that reach
    high somewhere (hysteresis: a faint stretch of a stroke stays joined to the rest). In a photo, what touches the
    frame is a shadow or the end of a line, not the digit; a canvas or a scan may be filled by the digit."""
    mask = (ink > low).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
    strong = np.zeros(count, bool)
    strong[labels[ink > high]] = True
    if photo:
        strong &= ~_rim_or_crumb(boxes(stats), ink.shape)
    labels = labels * strong[labels]
    area = np.where(strong[1:], stats[1:, cv2.CC_STAT_AREA], 0).astype(float)  # (n,) component 0 is the background
    if strong[1:].sum() <= 1:
        return labels > 0, int(strong[1:].sum())
    box = boxes(stats[1:])
    x0, y0, x1, y1 = box
    edge = touches_frame(box, ink.shape) & photo
    strength = np.bincount(labels.ravel(), ink.ravel(), count)[1:] / np.maximum(area, 1)  # mean ink
    score = np.where(edge, 0.25, 1.0) * area * strength  # a shadow or the page's edge touches the frame
    main = int(np.argmax(score))
    mx, my = NEAR * (x1[main] - x0[main]), NEAR * (y1[main] - y0[main])
    near = (x1 >= x0[main] - mx) & (x0 <= x1[main] + mx) & (y1 >= y0[main] - my) & (y0 <= y1[main] + my)
    keep = near & (area > 0) & (area >= SPECK * area[main]) & ~edge
    keep[main] = True
    return np.concatenate([[False], keep])[labels], int(keep.sum())


def boxes(stats: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The components' boxes from cv2's stats (n, 5): x0, y0, x1, y1 (n,) each, the ends exclusive."""
    x0, y0 = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    return x0, y0, x0 + stats[:, cv2.CC_STAT_WIDTH], y0 + stats[:, cv2.CC_STAT_HEIGHT]


def touches_frame(box: tuple[np.ndarray, ...], shape: tuple[int, int]) -> np.ndarray:
    """Which components (their boxes) reach a side of the frame (H, W)."""
    x0, y0, x1, y1 = box
    h, w = shape
    return (x0 == 0) | (y0 == 0) | (x1 == w) | (y1 == h)


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
