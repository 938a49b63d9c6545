"""Ruled and squared paper lines taken out of a photo's ink by morphology, leaving the pen's strokes whole.

A printed line is long, thin and lighter than a pen's ink. Along each axis, a grey opening by a short run of pixels
(RUN) keeps what extends at least that far along it: lines tilted by up to ~8° (a few degrees of rotation and of
perspective; a homography keeps them straight), and the straight stretches of strokes. Opening that across the axis
by THICK pixels keeps what is wider than a printed line (strokes, a shadow's ramp); the difference is the thin part,
sought above FAINT of the noise floor: noise does not run RUN pixels at that level, and a faint line on a noisy photo
is found whole rather than in crumbs that a blank page would otherwise be answered with.
Its connected components that run across at least LINE_SPAN of the frame with no more ink than PRINT of the peak
(or than PRINT_INK: on a blank page the lines are the peak), and reach the frame's side (or run across WHOLE_SPAN,
or lie along another piece of a line), are paper lines; shorter pieces (PIECE) as dark as those lines are too, where
they lie along one of them (a line cut by a thick stroke) or leave the frame. Each component's straight course is
fitted (least squares, refitted without what lies off it), and a line is taken out only along its course. What this
module guarantees, on an ink map (H, W) ≥ 0:

- each line's own ink is subtracted, up to CAP times its typical level, so the line goes entirely (its blurred
  edges included) while a stroke lying along it keeps what is darker than the print, and a stroke crossing it
  keeps its own ink there (it lies beyond the line on both sides): a digit is not cut where it crosses a line, even
  in a pencil no darker than the print, and a stroke along a line does not carry the rest of the line with it;
- a pencil's stroke as light as the print is not taken for a line: not a 1 as long as a third of the frame (it
  reaches no side), not a 7's bar between two lines (it lies along none), not a stroke touching a line and
  branching off it (it lies off the line's course);
- fewer than MIN_LINES long lines (plain paper, a lone straight stroke) change nothing;
- ``written`` tells writing from what a blank page leaves once its lines are out (their blurred edges, specks of
  noise): ink ABOVE_LINES times as dark as the lines somewhere, or one connected piece darker than TRACE of a line
  and at least PIECE_AREA pixels per pixel of the frame's short side: a pencil is often no darker than the print,
  but its stroke is long;
- the cost is a few separable openings and one labelling per axis on 8-bit ink, and the courses' sums: ~6.5 ms on
  a 640×480 ruled page, where the probabilistic Hough transform that found the lines before took ~20 ms and missed
  some.
"""

from __future__ import annotations

from math import ceil
from typing import NamedTuple

import cv2
import numpy as np

from service.paper import MIN_PAGE_SIDE, RIM, reaches_edge

RUN = 9  # pixels along the axis: a 2-px line tilted by 8° still runs this far on one row
THICK = 7  # pixels across: printed lines are thinner (blur included), pen strokes on a page mostly wider
LINE_SPAN = 0.3  # a piece of a paper line runs across at least this share of the frame (the digit may cut it) …
WHOLE_SPAN = 0.6  # … and reaches a side of the frame, or runs across this much: a stroke spans at most the digit
PRINT = 0.6  # a printed line's typical ink is at most this share of the ink's peak (a pen's is more) …
PRINT_INK = 0.5  # … or at most this much ink (light taken away) in itself: on a blank page the lines are the peak
CAP = 1.5  # at most this many times the line's typical ink is taken out of any pixel on it
MIN_LINES = 3  # ruled and squared paper have many lines; one straight stroke is not paper
PIECE = 0.05  # a shorter piece (a line cut by the digit, or fading) counts if it is as dark as the long lines …
LIKE = 0.35  # … within this share of their typical ink
ABOVE_LINES = 2.0  # what is left is writing if somewhere this many times as dark as the lines' typical ink …
TRACE = 0.5  # … or, in one connected piece darker than this share of their ink (above the noise floor), …
PIECE_AREA = 0.4  # … at least this many pixels per pixel of the frame's short side (blank pages: 95 % under 0.5)
TOL = 3.0  # pixels: a piece whose ends lie this close to a long line's course is a piece of it; a line's pixels
# further than this from its own course are not the line's (a stroke branching off it)
REFIT = (2 * THICK, THICK, TOL)  # a component's course refitted to its pixels within each distance of the last fit
FIT_STRIDE = 3  # … to every third of its pixels (in raster order: a line of 100 pixels has 33)
FAINT = 0.5  # thin structures are sought above this share of the noise floor: RUN pixels in a row are not noise
AXES = ((RUN, 1), (1, RUN))  # cv2 kernel sizes (width, height): along rows, along columns


class Thin(NamedTuple):
    """The thin structures along one axis: the opening that finds them, and their connected components."""

    run: np.ndarray  # (H, W) uint8, ink × 255 opened along the axis: what extends at least RUN pixels that way
    at: np.ndarray  # (n,) flat indices of the pixels in a component
    labels: np.ndarray  # (n,) their components, 1 … count − 1
    extent: np.ndarray  # (count,) how far each runs along the axis, as a share of the frame
    level: np.ndarray  # (count,) each one's typical ink
    edge: np.ndarray  # (count,) bool: it reaches the page's edge (a line leaving the page)
    across: tuple[int, int]  # the cv2 kernel size across the axis, THICK long
    course: np.ndarray | None = None  # (count, 3) each one's straight fit (_course), once lines may be there
    off: np.ndarray | None = None  # (n,) how far each pixel lies from its component's course, in pixels

    @property
    def horizontal(self) -> bool:
        """Along rows (the axis of ruled lines), not along columns."""
        return self.across == (1, THICK)


class Cleaned(NamedTuple):
    """The ink without the page's lines, how many long lines were found, and how dark they typically were."""

    ink: np.ndarray  # (H, W) ≥ 0
    lines: int
    level: float  # the lines' typical ink (0 when none): what a pen's stroke must exceed to be seen at all
    peak: float  # the ink's largest value (the peak given, when no lines were found)


def remove_lines(ink: np.ndarray, floor: float, peak: float, band: np.ndarray | None = None) -> Cleaned:
    """Take the page's printed lines out of the ink (H, W); a line reaching the BAND along the sheet's edge
    (paper.Beyond.band) leaves the page as one reaching the frame's side does."""
    if min(ink.shape) < MIN_PAGE_SIDE:
        return Cleaned(ink, 0, 0.0, peak)
    grey = cv2.convertScaleAbs(ink, alpha=255)  # (H, W) uint8: OpenCV's morphology is several times faster on it
    print_max = max(PRINT * peak, PRINT_INK)
    floor = max(floor, 0.05 * peak)
    found = [_thin(grey, FAINT * floor, floor, print_max, size, band) for size in AXES]
    if sum(int(_spans(t, print_max).sum()) for t in found) < MIN_LINES:
        return Cleaned(ink, 0, 0.0, peak)  # plain paper: too few candidates to make lines, no courses fitted
    found = [_course(t) for t in found]
    long = [_long(t, print_max) for t in found]
    count = int(sum(line.sum() for line in long))
    if count < MIN_LINES:
        return Cleaned(ink, 0, 0.0, peak)
    papers = [_subtract(t, line) for t, line in zip(found, long)]
    level = float(np.median(np.concatenate([t.level[line] for t, line in zip(found, long)])))
    cleaned = np.maximum(ink - np.maximum(*papers), 0)
    trace = cleaned > floor + TRACE * level  # (H, W): a stroke, where the print is out
    papers = [np.where(_crossed(trace, t.horizontal), 0, paper) for t, paper in zip(found, papers)]
    cleaned = np.maximum(ink - np.maximum(*papers), 0)
    return Cleaned(cleaned, count, level, float(cleaned.max()))


def written(cleaned: Cleaned, floor: float) -> bool:
    """Is there writing left on lined paper (cleaned.lines > 0) once its lines are out, above the noise floor?"""
    if cleaned.peak - floor >= ABOVE_LINES * cleaned.level:
        return True  # a pen: far darker than the print
    trace = (cleaned.ink > floor + TRACE * cleaned.level).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(trace, 8, cv2.CV_32S, cv2.CCL_GRANA)
    return count > 1 and int(stats[1:, cv2.CC_STAT_AREA].max()) >= PIECE_AREA * min(trace.shape)


def _thin(
    grey: np.ndarray,
    threshold: float,
    floor: float,
    ceiling: float,
    size: tuple[int, int],
    band: np.ndarray | None = None,
) -> Thin:
    """Structures that extend RUN pixels along the axis and are thinner than THICK across it, with more ink than
    threshold, their level judged on their pixels above floor where they have some; pixels with more than ceiling
    are a pen's, never print, and split what they cross. Those reaching the page's edge (paper.reaches_edge: the
    frame's side, or the band along the sheet's edge) leave the page."""
    run = cv2.morphologyEx(grey, cv2.MORPH_OPEN, np.ones(size[::-1], np.uint8))
    across = (1, THICK) if size[0] > 1 else (THICK, 1)
    thin = cv2.subtract(run, cv2.morphologyEx(run, cv2.MORPH_OPEN, np.ones(across[::-1], np.uint8)))
    mask = ((thin > 255 * threshold) & (grey <= 255 * ceiling)).astype(np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones(size[::-1], np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
    stat, side = (cv2.CC_STAT_WIDTH, 1) if size[0] > 1 else (cv2.CC_STAT_HEIGHT, 0)  # its length, the frame's
    extent = stats[:, stat] / grey.shape[side]
    extent[0] = 0  # label 0: no thin ink
    edge = reaches_edge(labels, count, band)
    at = np.flatnonzero(mask)
    labels = labels.ravel()[at]
    level = _typical(thin.ravel()[at], labels, count, 255 * floor) / 255
    return Thin(run, at, labels, extent, level, edge, across)


def _long(thin: Thin, print_max: float) -> np.ndarray:
    """Which components (count,) are long paper lines, with ink no darker than print: across WHOLE_SPAN of the
    frame, or across LINE_SPAN and reaching its side (a line the digit cuts, or one fading into a dark corner) or
    lying along another piece of one (a faint line broken by noise). A pencil's long straight stroke, a 1, is none
    of these."""
    span = _spans(thin, print_max)
    alone = span & ~thin.edge & (thin.extent < WHOLE_SPAN)
    return span & ~alone | _on_a_line(thin, _pieces(thin, print_max), alone)


def _pieces(thin: Thin, print_max: float) -> np.ndarray:
    """Which components (count,) may be pieces of lines: across PIECE of the frame, no darker than print."""
    return _print(thin, print_max) & (thin.extent >= PIECE)


def _print(thin: Thin, print_max: float) -> np.ndarray:
    """Which components (count,) have ink no darker than print."""
    return (thin.level > 0) & (thin.level <= print_max)


def _spans(thin: Thin, print_max: float) -> np.ndarray:
    """Which components (count,) may be long lines: across LINE_SPAN of the frame, no darker than print."""
    return _print(thin, print_max) & (thin.extent >= LINE_SPAN)


def _crossed(trace: np.ndarray, horizontal: bool) -> np.ndarray:
    """Where a stroke crosses a line (H, W) bool: the trace lies THICK pixels beyond it on both sides, on a
    straight path through the pixel (up to 40° from the line's normal). There the pixel is the stroke's, and
    taking the line out would cut it. Not near the frame's sides, where a shadow's ramp lies beyond the lines."""
    d = THICK
    t = trace if horizontal else trace.T  # a horizontal line: the stroke above it and below it
    w = t.shape[1]
    out = np.zeros_like(t)
    for k in range(1 - d, d, 2):  # the stroke passes (y − d, x + k), (y, x) and (y + d, x − k); a stroke 2 px
        # wide or more meets one of every other k
        a, b = abs(k), w - abs(k)  # x ± k inside the frame
        out[d:-d, a:b] |= t[: -2 * d, a + k : b + k] & t[2 * d :, a - k : b - k]
    out = out if horizontal else out.T
    mh, mw = ceil(RIM * out.shape[0]), ceil(RIM * out.shape[1])
    inner = np.zeros_like(out)
    inner[mh:-mh, mw:-mw] = True
    return out & inner


def _subtract(thin: Thin, long: np.ndarray) -> np.ndarray:
    """What to take out (H, W): the long lines and the pieces as dark as they are that lie along one or leave the
    frame, each capped at CAP × its level, along its course and over its blurred edges."""
    if not long.any():
        return np.zeros(thin.run.shape, np.float32)
    ref = float(np.median(thin.level[long]))
    piece = (thin.extent >= PIECE) & (np.abs(thin.level - ref) <= LIKE * ref) & ~long
    line = long | (piece & (thin.edge | _on_a_line(thin, long, piece & ~thin.edge)))
    cap = np.zeros(thin.run.shape, np.float32)  # (H, W) 0 off the lines
    cap.flat[thin.at] = np.where(line[thin.labels] & (thin.off <= TOL), (CAP * thin.level)[thin.labels], 0)
    return np.minimum(thin.run * np.float32(1 / 255), cv2.dilate(cap, np.ones(thin.across[::-1], np.uint8)))


def _on_a_line(thin: Thin, lines: np.ndarray, which: np.ndarray) -> np.ndarray:
    """Which of the components `which` (count,) lie along one of `lines` (another one), both their ends within TOL
    pixels of its course (a homography keeps a printed line straight): a line's own pieces, not a pen's stroke
    beside it."""
    mx, my, slope = thin.course.T
    h, w = thin.run.shape
    half = 0.5 * thin.extent * (w if thin.horizontal else h)  # half of each one's length, in pixels
    ours, theirs = np.flatnonzero(which), np.flatnonzero(lines)
    near = ours[:, None] != theirs  # (p, l): the piece lies along that line
    for end in (-1, 1):
        x = mx[ours, None] + end * half[ours, None]  # (p, 1): one of the piece's ends along the axis
        y = my[ours, None] + slope[ours, None] * (x - mx[ours, None])
        near &= np.abs(y - (my[theirs] + slope[theirs] * (x - mx[theirs]))) <= TOL
    out = np.zeros(len(thin.extent), bool)
    out[ours] = near.any(axis=1)
    return out


def _course(thin: Thin) -> Thin:
    """THIN with each component's straight course (count, 3: centre along and across the axis, slope) and each
    pixel's distance from its component's course. Least squares, refitted to the pixels within each of REFIT's
    distances of the last fit in turn: a stroke that touches a line and branches off it is one component with the
    line, and is left out of the line's course."""
    w = thin.run.shape[1]
    along, off = (thin.at % w, thin.at // w) if thin.horizontal else (thin.at // w, thin.at % w)
    labels, count = thin.labels, len(thin.extent)
    x, y = along.astype(float), off.astype(float)
    fx, fy, fl = x[::FIT_STRIDE], y[::FIT_STRIDE], labels[::FIT_STRIDE]  # the fit's pixels: every few, sooner
    xx, xy, keep = fx * fx, fx * fy, np.ones(len(fx))
    for radius in (*REFIT, 0):
        n = np.maximum(np.bincount(fl, keep, count), 1)
        mx, my = np.bincount(fl, keep * fx, count) / n, np.bincount(fl, keep * fy, count) / n
        var = np.bincount(fl, keep * xx, count) / n - mx**2
        slope = (np.bincount(fl, keep * xy, count) / n - mx * my) / np.maximum(var, 1e-9)
        if radius:
            keep = (np.abs(fy - my[fl] - slope[fl] * (fx - mx[fl])) <= radius).astype(float)
    dist = np.abs(y - my[labels] - slope[labels] * (x - mx[labels]))
    return thin._replace(course=np.stack([mx, my, slope], axis=1), off=dist)


def _typical(values: np.ndarray, labels: np.ndarray, count: int, above: float) -> np.ndarray:
    """Each label's typical value: the mean of its values above ABOVE (all of them, where none is) and no more than
    twice their mean (a stroke along a line is darker and far smaller than the line; leaving it out keeps the line's
    own level; the line's faint edges would lower it)."""
    strong = values > above
    some = np.bincount(labels[strong], minlength=count) > 0
    use = strong | ~some[labels]
    values, labels = values[use], labels[use]
    mean = np.bincount(labels, values, count) / np.maximum(np.bincount(labels, minlength=count), 1)
    low = values <= 2 * mean[labels]
    return np.bincount(labels[low], values[low], count) / np.maximum(np.bincount(labels[low], minlength=count), 1)
