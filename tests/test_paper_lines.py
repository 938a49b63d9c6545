"""Paper lines (service/paper_lines.py) on ink maps drawn by hand: the lines' own ink goes, a pen's stroke stays."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from service.paper_lines import MIN_LINES, PIECE_AREA, remove_lines, written

LINE = 0.25  # a light-blue printed line's ink (light taken away)
PEN = 0.9  # a ballpoint's
Q = 1 / 255  # the module works on 8-bit ink: levels are exact to one step


def ruled(lines: int = 6, h: int = 240, w: int = 320) -> np.ndarray:
    """(h, w) float32 ink: `lines` 2-px horizontal lines of ink LINE, 40 px apart, from y = 20."""
    ink = np.zeros((h, w), np.float32)
    for y in range(20, 20 + 40 * lines, 40):
        ink[y : y + 2] = LINE
    return ink


def test_the_lines_go_entirely_and_are_counted():
    got = remove_lines(ruled(), floor=0.02, peak=LINE)
    assert got.lines == 6 and got.level == pytest.approx(LINE, abs=Q)
    assert got.ink.max() <= Q  # a blank page: nothing left (preprocess answers 422)


def test_a_stroke_crossing_a_line_keeps_what_is_darker_than_the_print():
    ink = ruled()
    ink[10:230, 150:156] = PEN  # a 6-px vertical stroke, narrower than RUN: the line runs on under it
    got = remove_lines(ink, floor=0.02, peak=PEN)
    assert got.ink[60:62, 150:156] == pytest.approx(PEN - LINE, abs=2 * Q)  # on the line: the line taken out
    assert (got.ink[62:100, 150:156] == PEN).all()  # off the lines: untouched
    assert got.ink[:, :140].max() <= Q and got.ink[:, 170:].max() <= Q  # the lines themselves: gone


def test_a_stroke_along_a_line_is_kept_whole_and_does_not_keep_the_line():
    ink = ruled()
    ink[95:107, 100:220] = PEN  # a 12-px thick stroke lying over the line at y = 100 (thicker than a line)
    got = remove_lines(ink, floor=0.02, peak=PEN)
    assert (got.ink[95:107, 100 + 9 : 220 - 9] == PEN).all()  # its ends aside, the stroke is untouched
    assert got.ink[:, :95].max() <= Q and got.ink[:, 225:].max() <= Q  # the line beside it is gone


def test_tilted_lines_go_too():
    ink = np.zeros((240, 320), np.float32)
    for y in range(20, 240, 40):  # anti-aliased lines at 5°, 2 px wide
        cv2.line(ink, (0, y), (319, y + round(319 * np.tan(np.radians(5)))), LINE, 2, cv2.LINE_AA)
    got = remove_lines(ink, floor=0.02, peak=LINE)
    assert got.lines >= MIN_LINES and got.ink.max() < 0.3 * LINE  # at most a faint trace of the anti-aliasing


@pytest.mark.parametrize("lines", [1, MIN_LINES - 1])
def test_fewer_lines_than_paper_has_change_nothing(lines):
    ink = ruled(lines)
    got = remove_lines(ink, floor=0.02, peak=LINE)
    assert got.lines == 0 and got.ink is ink


def test_small_images_and_pen_lines_are_left_alone():
    small = ruled(2, h=90, w=90)
    assert remove_lines(small, floor=0.02, peak=LINE).ink is small  # a canvas or a scan, not a page
    pen = ruled() * (PEN / LINE)  # as dark as a pen: strokes, not print (a drawing of lines)
    assert remove_lines(pen, floor=0.02, peak=PEN).lines == 0


# ---------- what is left: writing, or a blank page's crumbs ----------

PENCIL = 1.2 * LINE  # graphite, hardly darker than the print: under ABOVE_LINES (2) times the lines' ink


def test_a_blank_page_leaves_no_writing():
    assert not written(remove_lines(ruled(), floor=0.02, peak=LINE), floor=0.02)


@pytest.mark.parametrize("length, expected", [(23, False), (25, True)])
def test_a_pencil_stroke_as_light_as_the_print_is_writing_when_it_is_long_enough(length, expected):
    ink = ruled()  # 240 × 320: PIECE_AREA × 240 = 96 pixels make a piece of writing
    ink[65 : 65 + length, 100:104] = PENCIL  # a 4-px upright stroke between the lines at y = 60 and y = 100
    got = remove_lines(ink, floor=0.02, peak=PENCIL)
    assert got.lines == 6 and got.peak == got.ink.max() == pytest.approx(PENCIL, abs=Q)  # untouched, under 2×
    assert 4 * 23 < PIECE_AREA * 240 < 4 * 25
    assert written(got, floor=0.02) is expected


def test_crumbs_of_pencil_are_not_writing():
    ink = ruled()
    for y, x in np.random.default_rng(0).integers([5, 5], [235, 315], (30, 2)):
        ink[y : y + 3, x : x + 3] = PENCIL  # 30 specks of 9 pixels: 270 in all, none of them 96
    got = remove_lines(ink, floor=0.02, peak=PENCIL)
    assert not written(got, floor=0.02)
    ink[200:203, 40:100] = 2 * LINE + 0.01  # one short pen's stroke, twice as dark as the print: writing
    assert written(remove_lines(ink, floor=0.02, peak=2 * LINE + 0.01), floor=0.02)
