"""A sheet lying wholly inside a photo (a card or a note on a desk): found, and warped to fill the frame.

When the desk shows past every edge of the sheet, the frame's border is desk, not paper, and every step that
judges the paper by the frame (its polarity, whether its light is uneven, what lies past its edge) would judge the
desk: the sheet itself then reads as a broad light shape on a dark ground. So before any of them, ``find`` looks
for the sheet's outline, and ``Sheet.warp`` maps that quadrilateral onto a rectangle the way a document scanner
does; the rest of the preprocessing sees a page that fills its frame, and the camera's roll and perspective are
undone with it. What ``find`` guarantees, on a grayscale image (H, W) in [0, 1]:

- the sheet is the largest light region of a copy of the frame whose short side is about SHEET_SIDE long
  (paper.plan), split from the desk by Otsu's threshold after a grey closing LINES of the short side wide (printed
  lines vanish; the writing is a hole in the sheet, and is filled in), and broad: opened by SHEET_OPEN of the short
  side (the corners the opening cuts are given back), so that a stroke, even a thick light one on a dark ground, is
  never a sheet;
- it reaches no side of the frame (a page that fills the frame or runs off it is the paper the other steps expect;
  where more than half of the frame's border is light, nothing further is looked at), covers SHEET_AREA of the
  frame or more, fills SHEET_FILL of the quadrilateral its outline simplifies to, and is light over SHEET_PAPER of
  what it encloses; its corners are where lines fitted to the outline along each edge meet (the simplified
  outline's own, where the fitted ones land more than FIT_MOVE away), the first the one nearest the frame's top
  left (so a card turned by more than 45° comes out on its side: which way is up is not known);
- along each of its four edges the image steps down by SHEET_STEP or more from just inside to just outside: the
  edge of a sheet on a desk, not a shadow's ramp or light falling off;
- otherwise None, and the image is used as it is.

Cost: about 0.5 ms of a 1280×960 photo's preprocessing (docs/serving.md); on the 256-px copy the page's light is
estimated on, three times that.
"""

from __future__ import annotations

from math import ceil
from typing import NamedTuple

import cv2
import numpy as np

from service.paper import border, plan

SHEET_SIDE = 128  # px: the sheet is looked for on a copy whose short side is about this long
LINES = 0.02  # a grey closing this share of the short side wide erases printed lines (a pen's stroke is a hole)
SHEET_OPEN = 0.15  # a sheet is broader than this share of the short side; a stroke is not (MNIST's: 10 % of 28 px)
SHEET_AREA = 0.15  # … it covers this share of the frame or more …
SHEET_FILL = 0.9  # … fills this share of the quadrilateral its outline simplifies to …
SHEET_PAPER = 0.75  # … is light over this share of what it encloses (the writing is the rest) …
SHEET_STEP = 0.2  # … and the desk around it is darker by this share of the sheet's light
EDGE_OFFSET = 1.5  # pixels of that copy: the image is compared this far either side of each edge …
EDGE_SAMPLES = 24  # … at this many points along it
FIT_WIDTH = 2  # pixels of that copy: the outline's points this close to an edge are fitted with its line …
FIT_MOVE = 6  # … and the corners where the lines meet lie this close to the simplified outline's, or are not used
OUTLINE = 0.02  # the outline's simplification: points this share of its length off the quadrilateral are dropped


class Sheet(NamedTuple):
    """The sheet's corners in the image (4, 2) float32, x y, clockwise from the top left, and the homography that
    maps the image onto the rectified sheet (3, 3), of `size` (width, height)."""

    corners: np.ndarray
    homography: np.ndarray
    size: tuple[int, int]

    def warp(self, gray: np.ndarray) -> np.ndarray:
        """The sheet alone (height, width), rectified: what the camera would see square above it."""
        return cv2.warpPerspective(
            gray, self.homography, self.size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )

    def box_in_image(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """A box (x0, y0, x1, y1) on the rectified sheet as the box of its corners in the image."""
        x0, y0, x1, y1 = box
        points = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float64)
        mapped = cv2.perspectiveTransform(points, np.linalg.inv(self.homography))[0]  # (4, 2)
        (left, top), (right, bottom) = np.floor(mapped.min(0)), np.ceil(mapped.max(0))
        return int(left), int(top), int(right), int(bottom)


def find(gray: np.ndarray) -> Sheet | None:
    """The sheet lying wholly inside the photo (H, W), or None where there is none (see the module's guarantees)."""
    small, f = plan(gray, SHEET_SIDE)
    k = max(3, int(LINES * min(small.shape)) | 1)
    light = cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    _, bright = cv2.threshold(np.round(light * 255).astype(np.uint8), 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ring = border(bright)
    if np.count_nonzero(ring) > 0.5 * len(ring):
        return None  # the frame's border is mostly paper: the page fills the frame (most photos stop here)
    outline = _outline(bright)
    if outline is None:
        return None
    quad = _quadrilateral(outline, small.shape)
    if quad is None or not _mostly_paper(bright, outline):
        return None
    corners = (_fitted(quad, outline) + 0.5) * f - 0.5  # the copy's pixel centres onto the image's
    return _rectify(corners) if _edges_step_down(gray, corners, EDGE_OFFSET * f) else None


def _outline(bright: np.ndarray) -> np.ndarray | None:
    """The outline (n, 1, 2) of the largest light region (H, W) uint8, what it encloses (the writing) filled in and
    opened by SHEET_OPEN, if it reaches no side of the frame; else None."""
    regions = np.zeros_like(bright)
    cv2.drawContours(
        regions, cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0], -1, 1, cv2.FILLED
    )
    square = cv2.getStructuringElement(cv2.MORPH_RECT, (ceil(SHEET_OPEN * min(bright.shape)) | 1,) * 2)
    broad = cv2.morphologyEx(regions, cv2.MORPH_OPEN, square)
    regions &= cv2.dilate(broad, square)  # the broad regions with the corners the opening cut off
    contours, _ = cv2.findContours(regions, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)  # every boundary pixel
    if not contours:
        return None
    outline = max(contours, key=cv2.contourArea)
    x, y, w, h = cv2.boundingRect(outline)
    inside = x > 0 and y > 0 and x + w < bright.shape[1] and y + h < bright.shape[0]
    return outline if inside else None


def _quadrilateral(outline: np.ndarray, shape: tuple[int, int]) -> np.ndarray | None:
    """The outline's four corners (4, 2) float32, clockwise from the top left, if it is large and simplifies to a
    quadrilateral it fills; else None."""
    area = cv2.contourArea(outline)
    if area < SHEET_AREA * shape[0] * shape[1]:
        return None
    hull = cv2.convexHull(outline)
    quad = cv2.approxPolyDP(hull, OUTLINE * cv2.arcLength(hull, True), True).reshape(-1, 2).astype(np.float32)
    if len(quad) != 4 or area < SHEET_FILL * cv2.contourArea(quad):
        return None
    start = int(np.argmin(quad.sum(1)))  # the top left: the smallest x + y
    quad = np.roll(quad, -start, axis=0)
    (ax, ay), (bx, by) = quad[1] - quad[0], quad[3] - quad[0]
    clockwise = ax * by - ay * bx > 0  # the cross product; y points down, so a clockwise turn is positive
    return quad if clockwise else quad[[0, 3, 2, 1]]


def _fitted(quad: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """The quadrilateral's corners (4, 2) where lines fitted to the outline along its edges meet: the simplified
    outline's corners are points of the outline near the corners, which the opening and the blur round off. The
    corners as they are where an edge has too few points beside it."""
    points = outline.reshape(-1, 2).astype(np.float32)
    lines = []
    for a, b in zip(quad, np.roll(quad, -1, axis=0)):
        length = float(np.hypot(*(b - a)))
        (ux, uy), rel = (b - a) / length, points - a  # the edge's direction; the points from its start (n, 2)
        along, across = rel @ [ux, uy], np.abs(rel @ [-uy, ux])
        beside = (along > 0.15 * length) & (along < 0.85 * length) & (across < FIT_WIDTH)
        if np.count_nonzero(beside) < 5:
            return quad
        lines.append(cv2.fitLine(points[beside], cv2.DIST_HUBER, 0, 0.01, 0.01).reshape(4))  # vx, vy, x0, y0
    fitted = np.array([_meet(lines[i - 1], lines[i]) for i in range(4)], np.float32)
    moved = np.abs(fitted - quad).max()  # NaN where two fitted lines are parallel
    return fitted if moved <= FIT_MOVE else quad  # a far corner: an outline that is no sheet's, kept as it was


def _meet(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Where two lines (vx, vy, x0, y0) cross (2,): (NaN, NaN) where they are parallel."""
    (u1, v1, x1, y1), (u2, v2, x2, y2) = first, second
    det = u2 * v1 - u1 * v2
    if abs(det) < 1e-6:
        return np.full(2, np.nan)
    s = (u2 * (y2 - y1) - v2 * (x2 - x1)) / det
    return np.array([x1 + s * u1, y1 + s * v1])


def _mostly_paper(bright: np.ndarray, outline: np.ndarray) -> bool:
    """Is what the outline encloses light over SHEET_PAPER of it (paper, not a light ring round a dark hole)?"""
    inside = cv2.drawContours(np.zeros(bright.shape, np.uint8), [outline], -1, 1, thickness=cv2.FILLED) > 0
    return np.count_nonzero(bright[inside]) >= SHEET_PAPER * np.count_nonzero(inside)


def _edges_step_down(gray: np.ndarray, corners: np.ndarray, offset: float) -> bool:
    """Along every edge of the quadrilateral (4, 2) in the image (H, W), is the image just outside darker than just
    inside by SHEET_STEP or more (medians of EDGE_SAMPLES points OFFSET px either side)? A sheet's edge on a desk
    is a step; a shadow's edge is a ramp, a few per cent over so short a distance."""
    t = np.linspace(0.1, 0.9, EDGE_SAMPLES)[:, None]  # (n, 1): along each edge, clear of the corners
    h, w = gray.shape
    for a, b in zip(corners, np.roll(corners, -1, axis=0)):
        e = b - a
        out = np.array([e[1], -e[0]]) / np.hypot(*e)  # the outward normal of a clockwise quadrilateral (y down)
        sides = [np.round(a + t * e + s * offset * out).astype(int) for s in (1, -1)]  # (n, 2) x y each
        outside, within = (np.median(gray[np.clip(p[:, 1], 0, h - 1), np.clip(p[:, 0], 0, w - 1)]) for p in sides)
        if outside > (1 - SHEET_STEP) * within:
            return False
    return True


def _rectify(corners: np.ndarray) -> Sheet:
    """The sheet of these corners (4, 2) in the image, mapped onto a rectangle as wide as its wider of top and
    bottom edges and as tall as the taller of its sides."""
    tl, tr, br, bl = corners
    width = int(round(max(np.hypot(*(tr - tl)), np.hypot(*(br - bl)))))
    height = int(round(max(np.hypot(*(bl - tl)), np.hypot(*(br - tr)))))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    return Sheet(corners, cv2.getPerspectiveTransform(corners, target), (width, height))
