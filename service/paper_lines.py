"""Ruled and squared paper lines taken out of a photo's ink by morphology, leaving the pen's strokes whole.

A printed line is long, thin and lighter than a pen's ink. Along each axis, a grey opening by a short run of pixels
(RUN) keeps what extends at least that far along it: lines tilted by up to ~8° (a few degrees of rotation and of
perspective; a homography keeps them straight), and the straight stretches of strokes. Opening that across the axis
by THICK pixels keeps what is wider than a printed line (strokes, a shadow's ramp); the difference is the thin part.
Its connected components that run across at least LINE_SPAN of the frame with no more ink than PRINT of the peak
(or than PRINT_INK: on a blank page the lines are the peak) are paper lines; shorter pieces (PIECE) as dark as
those lines are too (a line cut by a thick stroke). What this module guarantees, on an ink map (H, W) ≥ 0:

- each line's own ink is subtracted, up to CAP times its typical level, so the line goes entirely (its blurred
  edges included) while a stroke crossing it or lying along it keeps what is darker than the print: a digit is not
  cut where it crosses a line, and a stroke along a line does not carry the rest of the line with it;
- fewer than MIN_LINES long lines (plain paper, a lone straight stroke) change nothing;
- ``written`` tells writing from what a blank page leaves once its lines are out (their blurred edges, specks of
  noise): ink ABOVE_LINES times as dark as the lines somewhere, or one connected piece darker than TRACE of a line
  and at least PIECE_AREA pixels per pixel of the frame's short side: a pencil is often no darker than the print,
  but its stroke is long;
- the cost is a few separable openings and one labelling per axis on 8-bit ink: ~5 ms on a 640×480 image, where
  the probabilistic Hough transform that found the lines before took ~20 ms and missed some.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

from service.paper import MIN_PAGE_SIDE

RUN = 9  # pixels along the axis: a 2-px line tilted by 8° still runs this far on one row
THICK = 7  # pixels across: printed lines are thinner (blur included), pen strokes on a page mostly wider
LINE_SPAN = 0.3  # a piece of a paper line runs across at least this share of the frame (the digit may cut it)
PRINT = 0.6  # a printed line's typical ink is at most this share of the ink's peak (a pen's is more) …
PRINT_INK = 0.5  # … or at most this much ink (light taken away) in itself: on a blank page the lines are the peak
CAP = 1.5  # at most this many times the line's typical ink is taken out of any pixel on it
MIN_LINES = 3  # ruled and squared paper have many lines; one straight stroke is not paper
PIECE = 0.05  # a shorter piece (a line cut by the digit, or fading) counts if it is as dark as the long lines …
LIKE = 0.35  # … within this share of their typical ink
ABOVE_LINES = 2.0  # what is left is writing if somewhere this many times as dark as the lines' typical ink …
TRACE = 0.5  # … or, in one connected piece darker than this share of their ink (above the noise floor), …
PIECE_AREA = 0.4  # … at least this many pixels per pixel of the frame's short side (blank pages: 95 % under 0.5)
AXES = ((RUN, 1), (1, RUN))  # cv2 kernel sizes (width, height): along rows, along columns


class Thin(NamedTuple):
    """The thin structures along one axis: the opening that finds them, and their connected components."""

    run: np.ndarray  # (H, W) uint8, ink × 255 opened along the axis: what extends at least RUN pixels that way
    at: np.ndarray  # (n,) flat indices of the pixels in a component
    labels: np.ndarray  # (n,) their components, 1 … count − 1
    extent: np.ndarray  # (count,) how far each runs along the axis, as a share of the frame
    level: np.ndarray  # (count,) each one's typical ink
    across: tuple[int, int]  # the cv2 kernel size across the axis, THICK long


class Cleaned(NamedTuple):
    """The ink without the page's lines, how many long lines were found, and how dark they typically were."""

    ink: np.ndarray  # (H, W) ≥ 0
    lines: int
    level: float  # the lines' typical ink (0 when none): what a pen's stroke must exceed to be seen at all
    peak: float  # the ink's largest value (the peak given, when no lines were found)


def remove_lines(ink: np.ndarray, floor: float, peak: float) -> Cleaned:
    """Take the page's printed lines out of the ink (H, W)."""
    if min(ink.shape) < MIN_PAGE_SIDE:
        return Cleaned(ink, 0, 0.0, peak)
    grey = cv2.convertScaleAbs(ink, alpha=255)  # (H, W) uint8: OpenCV's morphology is several times faster on it
    print_max = max(PRINT * peak, PRINT_INK)
    found = [_thin(grey, max(floor, 0.05 * peak), print_max, size) for size in AXES]
    long = [(t.extent >= LINE_SPAN) & (t.level > 0) & (t.level <= print_max) for t in found]
    count = int(sum(line.sum() for line in long))
    if count < MIN_LINES:
        return Cleaned(ink, 0, 0.0, peak)
    paper = np.maximum(*(_subtract(t, line) for t, line in zip(found, long)))
    level = float(np.median(np.concatenate([t.level[line] for t, line in zip(found, long)])))
    cleaned = np.maximum(ink - paper, 0)
    return Cleaned(cleaned, count, level, float(cleaned.max()))


def written(cleaned: Cleaned, floor: float) -> bool:
    """Is there writing left on lined paper (cleaned.lines > 0) once its lines are out, above the noise floor?"""
    if cleaned.peak - floor >= ABOVE_LINES * cleaned.level:
        return True  # a pen: far darker than the print
    trace = (cleaned.ink > floor + TRACE * cleaned.level).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(trace, 8, cv2.CV_32S, cv2.CCL_GRANA)
    return count > 1 and int(stats[1:, cv2.CC_STAT_AREA].max()) >= PIECE_AREA * min(trace.shape)


def _thin(grey: np.ndarray, threshold: float, ceiling: float, size: tuple[int, int]) -> Thin:
    """Structures that extend RUN pixels along the axis and are thinner than THICK across it, with more ink than
    threshold; pixels with more than ceiling are a pen's, never print, and split what they cross."""
    run = cv2.morphologyEx(grey, cv2.MORPH_OPEN, np.ones(size[::-1], np.uint8))
    across = (1, THICK) if size[0] > 1 else (THICK, 1)
    thin = cv2.subtract(run, cv2.morphologyEx(run, cv2.MORPH_OPEN, np.ones(across[::-1], np.uint8)))
    mask = ((thin > 255 * threshold) & (grey <= 255 * ceiling)).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones(size[::-1], np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
    along = (cv2.CC_STAT_WIDTH, 1) if size[0] > 1 else (cv2.CC_STAT_HEIGHT, 0)  # the stat and the frame's side
    extent = stats[:, along[0]] / grey.shape[along[1]]
    extent[0] = 0  # label 0: no thin ink
    at = np.flatnonzero(mask)
    labels = labels.ravel()[at]
    return Thin(run, at, labels, extent, _typical(thin.ravel()[at], labels, count) / 255, across)


def _subtract(thin: Thin, long: np.ndarray) -> np.ndarray:
    """What to take out (H, W): the long lines and the pieces as dark as they are, each capped at CAP × its level,
    over the line and its blurred edges."""
    if not long.any():
        return np.zeros(thin.run.shape, np.float32)
    ref = float(np.median(thin.level[long]))
    line = long | ((thin.extent >= PIECE) & (np.abs(thin.level - ref) <= LIKE * ref))
    cap = np.zeros(thin.run.shape, np.float32)  # (H, W) 0 off the lines
    cap.flat[thin.at] = np.where(line, CAP * thin.level, 0)[thin.labels]
    return np.minimum(thin.run * np.float32(1 / 255), cv2.dilate(cap, np.ones(thin.across[::-1], np.uint8)))


def _typical(values: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Each label's typical value: the mean of its values no more than twice its mean (a stroke along a line is
    darker and far smaller than the line; leaving it out keeps the line's own level)."""
    mean = np.bincount(labels, values, count) / np.maximum(np.bincount(labels, minlength=count), 1)
    low = values <= 2 * mean[labels]
    return np.bincount(labels[low], values[low], count) / np.maximum(np.bincount(labels[low], minlength=count), 1)
