"""Photographs of paper: the page's light divided out, its ruled or squared lines removed, the digit picked out.

A phone photo is not a canvas: the light falls off across the page, a hand or the phone casts a shadow at the
border, the paper carries printed lines, and the digit covers a small part of the frame. What this module
guarantees, on a grayscale image (H, W) in [0, 1]:

- ``flatten``: whether the page needs a background map at all (``Page.uneven``: the paper, seen through a grey
  closing that erases the ink, varies along the border by more than UNEVEN), and if so the ink as
  1 − image / background, so a gradient or a shadow is not ink and faint ink in a dark corner is not lost;
- ``remove_lines``: three or more distinct straight lines across most of the frame, near-horizontal or
  near-vertical (ruled or squared paper, not a digit's stroke), erased where they are no darker than the printed
  line itself, so a stroke crossing a line is kept;
- ``pick_digit``: connected components of the ink (hysteresis: faint stretches joined to strong ink), without
  specks and far-away components, and in a photo without what touches the frame (shadows, the ends of lines).
OpenCV does the image work (morphology, the probabilistic Hough transform, connected components); what it costs
per request, and why OpenCV rather than scikit-image, is in docs/serving.md.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

cv2.setNumThreads(1)  # one request per worker per core (service/gunicorn_conf.py): no thread pool of its own

PLAN_SIDE = 256  # the page's light is estimated on a copy whose short side is about this long
CLOSING = 1 / 5  # kernel of the grey closing, as a share of the short side: wider than any pen's stroke on a page
UNEVEN = 0.06  # the closed paper varying along the border by more than this share of its level: a photograph
LINE_SPAN = 0.6  # a paper line runs across at least this share of the frame
LINE_ANGLE = 12  # … within this many degrees of horizontal or vertical
LINE_GAP = 0.03  # … with gaps no wider than this share of the frame
MIN_LINES = 3  # ruled and squared paper have many lines; one straight stroke is not paper
LINE_WIDTH = 8  # printed lines are at most this many pixels wide, blur included (after the reduction to 1024 px)
MIN_PAGE_SIDE = 96  # smaller images are canvases or scans, never photographs of a page
SPECK = 0.015  # components smaller than this share of the largest are specks
NEAR = 0.5  # pieces of the digit lie within this share of the main component's size from its box


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


def remove_lines(ink: np.ndarray, floor: float) -> tuple[np.ndarray, int]:
    """Erase ruled or squared paper lines from the ink map; return it and the number of lines found."""
    h, w = ink.shape
    if min(h, w) < MIN_PAGE_SIDE:
        return ink, 0
    mask = (ink > max(floor, 0.08)).astype(np.uint8)
    thin = mask - cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((LINE_WIDTH + 1,) * 2, np.uint8))  # no pen strokes
    lines = _hough(thin, w, h)
    if _distinct(lines, w, h) < MIN_LINES:
        return ink, 0
    drawn = np.zeros((h, w), np.float32)
    for i, (x0, y0, x1, y1) in enumerate(lines, 1):
        cv2.line(drawn, (x0, y0), (x1, y1), float(i), 1)
    core = cv2.dilate(drawn, np.ones((5, 5), np.uint8)).astype(np.int64)  # the pixels its width and blur cover
    on = core > 0
    level = np.zeros(len(lines) + 1, np.float32)  # how dark each printed line gets: 95th percentile along it
    level[1:] = _quantile_by_label(ink[on], core[on], 0.95, len(lines) + 1)[1:]
    near = cv2.dilate(drawn, np.ones((9, 9), np.uint8)).astype(np.int64)  # … and where a slightly bent one may lie
    out = np.where(ink <= level[near] * 1.2 + floor, 0, ink)  # a stroke crossing a line is darker: kept
    solid = cv2.morphologyEx((out > floor).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    return np.where(near > 0, out * solid, ink), len(lines)  # … and wider than the speckle a line leaves


def _hough(thin: np.ndarray, w: int, h: int) -> list[tuple[int, int, int, int]]:
    """End points of the straight segments across at least LINE_SPAN of the frame, within LINE_ANGLE of the axes."""
    span = LINE_SPAN * min(h, w)
    found = cv2.HoughLinesP(thin * 255, 1, np.pi / 360, int(span / 2), None, minLineLength=span,
                            maxLineGap=LINE_GAP * max(h, w))  # fmt: skip
    segments = [tuple(int(v) for v in seg) for seg in (found.reshape(-1, 4) if found is not None else [])]
    return [seg for seg in segments if _axis_aligned(seg, w, h)]


def _quantile_by_label(values: np.ndarray, labels: np.ndarray, q: float, n: int) -> np.ndarray:
    """The q-quantile of the values of each label 0 … n − 1 (0 where a label has none)."""
    order = np.lexsort((values, labels))
    counts = np.bincount(labels, minlength=n)
    starts = np.cumsum(counts) - counts
    at = np.minimum(starts + (q * np.maximum(counts - 1, 0)).astype(np.int64), len(values) - 1)
    return np.where(counts > 0, values[order][at], 0)


def _distinct(lines: list[tuple[int, int, int, int]], w: int, h: int) -> int:
    """How many different lines were found (the transform answers a printed line with several neighbours)."""
    rows = {round((y0 + y1) / 2 / (0.02 * h)) for x0, y0, x1, y1 in lines if abs(x1 - x0) >= abs(y1 - y0)}
    cols = {round((x0 + x1) / 2 / (0.02 * w)) for x0, y0, x1, y1 in lines if abs(x1 - x0) < abs(y1 - y0)}
    return len(rows) + len(cols)


def _axis_aligned(seg: tuple[int, int, int, int], w: int, h: int) -> bool:
    """Near-horizontal across most of the width, or near-vertical across most of the height."""
    dx, dy = abs(seg[2] - seg[0]), abs(seg[3] - seg[1])
    angle = np.degrees(np.arctan2(min(dx, dy), max(dx, dy)))
    span = dx / w if dx >= dy else dy / h
    return angle <= LINE_ANGLE and span >= LINE_SPAN


def pick_digit(ink: np.ndarray, low: float, high: float, photo: bool) -> tuple[np.ndarray, int]:
    """The mask (H, W) bool of the digit's components, and how many were kept: regions of ink above low that reach
    high somewhere (hysteresis: a faint stretch of a stroke stays joined to the rest). In a photo, what touches the
    frame is a shadow or the end of a line, not the digit; a canvas or a scan may be filled by the digit."""
    mask = (ink > low).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    strong = np.zeros(count, bool)
    strong[labels[ink > high]] = True
    labels = labels * strong[labels]
    area = np.where(strong[1:], stats[1:, cv2.CC_STAT_AREA], 0).astype(float)  # (n,) component 0 is the background
    if strong[1:].sum() <= 1:
        return labels > 0, int(strong[1:].sum())
    x0, y0 = stats[1:, cv2.CC_STAT_LEFT], stats[1:, cv2.CC_STAT_TOP]
    x1, y1 = x0 + stats[1:, cv2.CC_STAT_WIDTH], y0 + stats[1:, cv2.CC_STAT_HEIGHT]
    h, w = ink.shape
    edge = ((x0 == 0) | (y0 == 0) | (x1 == w) | (y1 == h)) & photo
    strength = np.bincount(labels.ravel(), ink.ravel(), count)[1:] / np.maximum(area, 1)  # mean ink
    score = np.where(edge, 0.25, 1.0) * area * strength  # a shadow or the page's edge touches the frame
    main = int(np.argmax(score))
    mx, my = NEAR * (x1[main] - x0[main]), NEAR * (y1[main] - y0[main])
    near = (x1 >= x0[main] - mx) & (x0 <= x1[main] + mx) & (y1 >= y0[main] - my) & (y0 <= y1[main] + my)
    keep = near & (area > 0) & (area >= SPECK * area[main]) & ~edge
    keep[main] = True
    return np.concatenate([[False], keep])[labels], int(keep.sum())
