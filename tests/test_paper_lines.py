"""Paper lines (service/paper_lines.py) on ink maps drawn by hand: the lines' own ink goes, a pen's stroke stays."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from service.paper_lines import MIN_LINES, PIECE_AREA, remove_lines, written

LINE = 0.25  # a light-blue printed line's ink (light taken away)
PEN = 0.9  # a ballpoint's
PENCIL = 1.2 * LINE  # graphite, hardly darker than the print: under ABOVE_LINES (2) times the lines' ink
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


@pytest.mark.parametrize("stroke", [PEN, 1.2 * LINE])  # ballpoint, and a pencil hardly darker than the print
def test_a_stroke_crossing_a_line_is_not_cut_there(stroke):
    ink = ruled()
    ink[30:150, 150:156] = stroke  # a 6-px upright stroke across 3 lines, narrower than RUN: they run on under it
    got = remove_lines(ink, floor=0.02, peak=stroke)
    assert (got.ink[30:150, 150:156] == stroke).all()  # on the lines too: the pixel is the stroke's
    assert got.ink[:, :140].max() <= Q and got.ink[:, 170:].max() <= Q  # the lines themselves: gone


def test_a_stroke_ending_on_a_line_keeps_what_is_darker_than_the_print():
    ink = ruled()
    ink[25:62, 150:156] = PEN  # from between two lines down onto the one at y = 60–61, not beyond it
    got = remove_lines(ink, floor=0.02, peak=PEN)
    assert got.ink[60:62, 150:156] == pytest.approx(PEN - LINE, abs=2 * Q)  # on the line: the line taken out
    assert (got.ink[25:58, 150:156] == PEN).all()  # off the line: untouched


def test_a_shadow_along_the_frame_does_not_keep_the_lines_it_crosses():
    ink = ruled()
    ink[:, :12] += 0.2  # a shadow's ramp left at the frame's side: ink on both sides of every line
    got = remove_lines(ink, floor=0.02, peak=0.2 + LINE)
    assert got.ink[:, :12].max() == pytest.approx(0.2, abs=2 * Q)  # not a stroke crossing: the lines go


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


# ---------- which thin, light structures are the page's lines ----------


def test_a_pencil_stroke_as_long_as_a_line_piece_is_not_one():
    ink = ruled()  # 240 × 320
    ink[25:125, 200:204] = PENCIL  # a 1: upright, across 100 px = 0.42 of the frame (LINE_SPAN 0.3), inside it
    ink[145:149, 40:120] = PENCIL  # a 7's bar between the lines at y = 140 and 180, 80 px (over PIECE's 16)
    got = remove_lines(ink, floor=0.02, peak=PENCIL)
    assert got.lines == 6
    assert (got.ink[25:125, 200:204] == PENCIL).all() and (got.ink[145:149, 40:120] == PENCIL).all()
    assert got.ink[:, 210:].max() <= Q  # the lines go


def test_a_pencil_stroke_branching_off_a_line_it_touches_is_kept():
    ink = ruled()
    cv2.line(ink, (100, 100), (220, 125), PENCIL, 4)  # leaves the line at y = 100 at 12° (one piece with it)
    got = remove_lines(ink, floor=0.02, peak=PENCIL)
    assert got.ink[113:118, 160:170].max() == pytest.approx(PENCIL, abs=Q)  # 13-17 px off the line's course
    assert got.ink[:, 240:].max() <= Q  # the line itself goes


def test_the_pieces_of_a_line_cut_by_a_stroke_go_with_it():
    ink = ruled()
    ink[140:142, 100:130] = 0  # the line at y = 140 in three pieces: 0–100 reaches the side, 130–160 does
    ink[140:142, 160:190] = 0  # not (30 px: a piece, PIECE 16), 190–320 reaches the side
    got = remove_lines(ink, floor=0.02, peak=LINE)
    assert got.ink.max() <= Q


def test_faint_lines_broken_by_noise_and_a_page_smaller_than_the_frame():
    ink = np.zeros((240, 320), np.float32)
    for y in range(20, 240, 40):  # each line in two pieces, 110 and 120 px (0.34 and 0.38 of the frame), which
        ink[y : y + 2, 20:130] = ink[y : y + 2, 150:270] = LINE  # reach no side
    got = remove_lines(ink, floor=0.02, peak=LINE)
    assert got.lines == 12 and got.ink.max() <= Q
    page = np.zeros((240, 320), np.float32)
    page[20:220:40, 40:280] = LINE  # 1-px lines across 240 px = 0.75 of the frame, on a page inside it
    assert remove_lines(page, floor=0.02, peak=LINE).ink.max() <= Q


def test_faint_lines_at_the_noise_floor_are_found_whole_on_a_blank_page():
    ink = ruled() * (0.08 / LINE) + np.random.default_rng(0).normal(0, 0.02, (240, 320)).astype(np.float32)
    ink = np.maximum(ink, 0)  # lines at 0.08 under noise of σ 0.02: the floor (3σ) cuts them into crumbs
    got = remove_lines(ink, floor=0.06, peak=float(ink.max()))
    assert got.lines == 6 and not written(got, floor=0.06)  # found along their whole length: a blank page


# ---------- what is left: writing, or a blank page's crumbs ----------


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
