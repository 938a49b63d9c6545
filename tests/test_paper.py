"""service/paper.py on ink maps drawn by hand: stands_out (what rises above the solid level must be more than a crumb,
CRUMB of the frame's short side, in one connected piece), and what a photo shows past the sheet's edge (beyond_page,
reaches_edge, and pick_digit's use of the band along that edge)."""

from __future__ import annotations

import numpy as np
import pytest

from service.paper import (
    BEYOND_BAND,
    BEYOND_DEPTH,
    BEYOND_SIDE,
    CRUMB,
    ENCLOSED,
    beyond_page,
    flatten,
    pick_digit,
    reaches_edge,
    stands_out,
)

SIDE, SOLID = 200, 0.1  # CRUMB × 200 = 3 px


def _noise_cluster() -> tuple[np.ndarray, np.ndarray]:
    """A 40×40 cluster of noise just under SOLID, the digit's mask around it, and the rest of the frame empty."""
    ink = np.zeros((SIDE, SIDE), np.float32)
    ink[80:120, 80:120] = np.random.default_rng(0).uniform(0.02, 0.09, (40, 40))
    return ink, ink > 0.02


def test_noise_whose_strongest_pixels_are_crumbs_does_not_stand_out():
    ink, digit = _noise_cluster()
    ink[[85, 95, 110], [90, 100, 115]] = 0.3  # three pixels far above SOLID, apart: each spans 1 px
    ink[100, 82:84] = 0.3  # two side by side span 2 px, under CRUMB × 200
    assert CRUMB * SIDE == 3 and not stands_out(ink, digit, SOLID)


@pytest.mark.parametrize("length, expected", [(2, False), (3, True), (20, True)])
def test_a_stroke_stands_out_once_it_spans_a_crumb(length, expected):
    ink, digit = _noise_cluster()
    ink[100:102, 85 : 85 + length] = 0.3  # 2 px wide
    assert stands_out(ink, digit, SOLID) is expected


def test_ink_outside_the_digit_does_not_count():
    ink, digit = _noise_cluster()
    ink[10:12, 10:60] = 0.5  # a long stroke, but not among the digit's components
    assert not stands_out(ink, digit, SOLID)
    digit[10:12, 10:60] = True
    assert stands_out(ink, digit, SOLID)


def test_nothing_above_the_solid_level_does_not_stand_out():
    ink, digit = _noise_cluster()
    assert not stands_out(ink, digit, SOLID) and not stands_out(ink, np.zeros_like(digit), SOLID)


# ---------- past the sheet's edge: a 300×400 ink map, judged at full scale (its short side is under 2 × PLAN_SIDE) ----

H, W, LEVEL = 300, 400, 0.05
GROW = int(np.ceil(BEYOND_BAND * H))  # 12 px: the band reaches this far past what lies beyond the page


def _desk_on_the_left() -> np.ndarray:
    """The desk past the left edge, 60 px deep: its grain as stripes of ink 8 rows tall, 8 apart (at the level of
    the light it is divided by, the wood's light grain is no ink); a pen's stroke 10 px wide in the page."""
    ink = np.zeros((H, W), np.float32)
    ink[(np.arange(H) // 8) % 2 == 0, :60] = 0.3
    ink[100:200, 200:210] = 0.8
    return ink


def test_the_desk_past_an_edge_is_cut_and_grown_into_the_band():
    beyond = beyond_page(_desk_on_the_left(), LEVEL)
    assert GROW == 12 and BEYOND_SIDE * H == 60  # the grain covers 150 rows of the left side: a desk
    assert beyond.cut[0:8, :60].all() and not beyond.cut[8:16].any()  # its grain, not the wood between
    assert not beyond.cut[:, 60:].any()  # the pen's stroke is on the page
    assert beyond.band[:, : 59 + GROW + 1].all() and not beyond.band[:, 59 + GROW + 1 :].any()


def test_a_corner_of_desk_is_beyond_the_page():
    ink = np.zeros((H, W), np.float32)
    ink[:40, :150] = ink[:100, :60] = 0.4  # the desk past the top and the left edges, as an L
    beyond = beyond_page(ink, LEVEL)
    assert (beyond.cut == (ink > 0)).all()


@pytest.mark.parametrize(
    "where",
    [np.s_[100:300, 200:212], np.s_[150:153, :]],
    ids=["a stroke leaving the frame", "a printed line across the frame"],
)
def test_what_does_not_lie_along_a_side_is_not_beyond_the_page(where):
    """A pen's stroke leaves the frame over its width (12 px, under BEYOND_SIDE), and a printed line (3 px) is
    thinner than BEYOND_WIDTH: neither is a desk."""
    ink = np.zeros((H, W), np.float32)
    ink[where] = 0.8
    assert beyond_page(ink, LEVEL) is None


def test_a_filled_shape_reaching_into_the_frame_is_on_the_page():
    """A silhouette cut by the frame's left side over 200 of its 300 rows reaches 250 px in, past BEYOND_DEPTH
    (0.35 × 400 = 140 px): the page's subject, not a desk."""
    assert BEYOND_DEPTH * W == 140
    ink = np.zeros((H, W), np.float32)
    ink[50:250, :250] = 0.8
    assert beyond_page(ink, LEVEL) is None
    ink[50:250, 130:250] = 0  # the same, 130 px deep: along the side
    assert beyond_page(ink, LEVEL).cut[50:250, :130].all()


def test_reaches_edge_is_the_frame_or_the_band():
    labels = np.zeros((10, 10), np.int32)
    labels[0:3, 4] = 1  # touches the top side
    labels[5, 5] = 2  # in the middle
    labels[5, 8] = 3  # in the band along the right, not on the frame
    band = np.zeros((10, 10), bool)
    band[:, 7:] = True
    assert reaches_edge(labels, 4)[1:].tolist() == [True, False, False]
    assert reaches_edge(labels, 4, band)[1:].tolist() == [True, False, True]


def test_the_sheets_edge_in_the_band_is_never_the_digit():
    """What is left of the page's edge, lying mostly in the band, is not the digit even alone (a blank page on a
    desk), and beside a digit it is left out."""
    band = np.zeros((H, W), bool)
    band[:, :72] = True
    edge = np.zeros((H, W), np.float32)
    edge[50:250, 62:68] = 0.8  # a thin bar beside the desk: 6 px wide, wholly in the band
    assert not pick_digit(edge, 0.1, 0.3, True, band)[0].any()
    with_digit = np.maximum(edge, _desk_on_the_left() * (np.arange(W) >= 60))  # the pen's stroke, no desk
    digit, kept = pick_digit(with_digit, 0.1, 0.3, True, band)
    assert kept == 1 and digit[100:200, 200:210].all() and not digit[:, :72].any()


# ---------- frames round the digit (pick_digit: frames) ----------


def _seven(ink: np.ndarray) -> None:
    """A 7 drawn 6 px wide in the middle of a 200×200 ink map: the bar rows 70-76, the stem down to row 130."""
    ink[70:76, 80:120] = 0.8
    for row in range(76, 130):
        col = 118 - (row - 76) * 30 // 54
        ink[row, col - 3 : col + 3] = 0.8


def _picked(ink: np.ndarray, photo: bool = True) -> np.ndarray:
    return pick_digit(ink, 0.1, 0.3, photo)[0]


@pytest.mark.parametrize("photo", [True, False])
def test_a_box_round_the_digit_is_not_part_of_it(photo):
    ink = np.zeros((SIDE, SIDE), np.float32)
    _seven(ink)
    alone = _picked(ink.copy(), photo)
    ink[50:150, 50] = ink[50:150, 149] = ink[50, 50:150] = ink[149, 50:150] = 0.8  # a printed square, 1 px lines
    assert np.array_equal(_picked(ink, photo), alone) and alone.sum() > 400


def test_a_circle_round_the_digit_with_gaps_is_not_part_of_it():
    """A circle drawn round the 7 in the same pen, cut in four places 3 px wide (where printed lines were taken
    out): still a frame. Cut 8 px wide (over GAP) it no longer closes, and is kept as a piece of the digit."""
    ink = np.zeros((SIDE, SIDE), np.float32)
    _seven(ink)
    alone = _picked(ink.copy())
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    ring = np.abs(np.hypot(ys - 100, xs - 100) - 55) < 3
    for cut in (3, 8):
        circled = ink.copy()
        circled[ring] = 0.8
        for at in (45, 100, 155):
            circled[at - cut // 2 : at - cut // 2 + cut] *= ~ring[at - cut // 2 : at - cut // 2 + cut]
        assert np.array_equal(_picked(circled), alone) == (cut == 3), cut


def test_a_loop_that_holds_a_crumb_or_a_cut_stroke_is_the_digit():
    """A 0 keeps its loop when a speck lies in it, and when a line's removal cut it in two (each piece reaches the
    outside); a small 0 written inside a big one (ENCLOSED: a third of its height) is still framed by it."""
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    zero = ((np.hypot((ys - 100) / 1.4, xs - 100) - 40) ** 2 < 16).astype(np.float32) * 0.8
    with_speck = zero.copy()
    with_speck[99:102, 99:103] = 0.8  # 4 px: a speck, under a quarter of the 0's height
    assert (_picked(with_speck, photo=False) & (zero > 0)).sum() == (zero > 0).sum()  # the loop kept …
    cut = zero.copy()
    cut[98:101] = 0  # … and cut across the middle, both halves reach the outside
    assert _picked(cut).sum() == (cut > 0.1).sum()
    inner = zero.copy()
    inner += ((np.hypot((ys - 100) / 1.4, xs - 100) - 12) ** 2 < 9) * 0.8
    picked = _picked(inner)
    assert picked.sum() == ((np.hypot((ys - 100) / 1.4, xs - 100) - 12) ** 2 < 9).sum()


def test_a_bold_zero_with_a_dot_inside_is_the_digit_not_a_frame_round_the_dot():
    """A monospace font's zero printed bold: a ring 16 px wide round a dot 29 % of its height (over ENCLOSED).
    The ring hides the dot from the outside as a box hides its digit, but the dot is only about as tall as the
    ring's line is wide (under THIN times its half-width): both are the digit. Drawn thin, the same ring round the
    same dot is a circle round it, and is taken out."""
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    dot = ((ys - 100) / 20) ** 2 + ((xs - 100) / 5) ** 2 < 1  # 39 px tall, 9 wide
    for width, framed in ((8, False), (2, True)):
        ring = np.abs(np.hypot((ys - 100) / 1.4, xs - 100) - 40) < width  # 123 px tall at width 8
        ink = ((ring | dot) * 0.8).astype(np.float32)
        assert dot.any(1).sum() > ENCLOSED * ring.any(1).sum()  # the dot alone would make the ring a frame
        assert np.array_equal(_picked(ink), dot if framed else ring | dot), width


def test_a_circle_the_digit_touches_is_not_part_of_it_and_a_zero_with_a_curl_inside_is_whole():
    """A 7 whose bar runs on into the circle drawn round it (one piece of ink: frames() cannot part them) is read
    without the circle, all but where the two meet; a 0 whose pen curled inside it at the end keeps its loop and
    its curl (a curl reaches in less than HELD of its height); the 7 alone keeps every pixel."""
    ink = np.zeros((SIDE, SIDE), np.float32)
    _seven(ink)
    ink[70:76, 48:80] = 0.8  # the bar, on to the circle's inner edge (at x ≈ 52 on these rows)
    seven = ink > 0
    assert np.array_equal(_picked(ink.copy()), seven)
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    ring = np.abs(np.hypot(ys - 100, xs - 100) - 55) < 3
    ink[ring] = 0.8
    picked = _picked(ink)
    assert not (picked & ring & (xs > 60)).any()  # the circle is gone but where the bar meets it …
    assert not (seven & ~picked & (xs > 64)).any()  # … and the 7 is whole but within 12 px (a line's width
    assert not (picked & ~seven & ~ring).any()  # from the outside, and its own) of where it meets the circle
    zero = np.abs(np.hypot((ys - 100) / 1.4, xs - 100) - 40) < 5
    curl = (np.abs(np.hypot(ys - 60, xs - 100) - 12) < 3) & (ys > 58)  # a hook hanging from the top of the loop
    written = ((zero | curl) * 0.8).astype(np.float32)
    assert np.array_equal(_picked(written), zero | curl)


@pytest.mark.parametrize("photo", [True, False])
def test_a_circle_the_frame_cuts_still_holds_the_digit(photo):
    """A circle drawn round a 7 near the top of the photo runs off it: the frame cuts the circle, and the outside
    would come in through the cut. It does not: the frame's edge closes what runs past it, so the circle is a frame
    round the 7 and is taken out, apart from the 7 or touched by its bar. A 4 open at the top, its two arms running
    off the frame, closes nothing round ink and is whole."""
    ink = np.zeros((SIDE, SIDE), np.float32)
    _seven(ink)
    seven = ink > 0
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    ring = np.abs(np.hypot(ys - 100, xs - 100) - 55) < 3
    ink[ring] = 0.8
    top = 50  # the photo's top edge: rows 42-49 of the circle lie past it
    seven, ring, xs = seven[top:], ring[top:], xs[top:]
    assert ring[0].any()
    assert np.array_equal(_picked(ink[top:].copy(), photo), seven)
    ink[70:76, 48:80] = 0.8  # the bar, on to the circle's inner edge (at x ≈ 52 on these rows)
    picked = _picked(ink[top:].copy(), photo)
    assert not (picked & ring & (xs > 60)).any()  # the circle is gone but where the bar meets it …
    assert not (seven & ~picked & (xs > 64)).any()  # … and the 7 is whole but within 12 px of it
    four = np.zeros((SIDE, SIDE), np.float32)
    four[0:100, 60:66] = four[0:160, 120:126] = four[95:101, 60:150] = 0.8  # arms from the top edge, a bar, a stem
    assert np.array_equal(_picked(four, photo), four > 0)


def _lit_page() -> np.ndarray:
    """A 480×640 page (grey, 1 = white) lit unevenly: 0.9 at the left falling to 0.6 at the right."""
    return np.tile(np.linspace(0.9, 0.6, 640, dtype=np.float32), (480, 1))


def test_a_blot_of_ink_wider_than_the_closing_is_ink_and_a_shadow_as_wide_is_light():
    page = _lit_page()
    lit = page.copy()
    page[200:260, 300:360] *= 0.15  # a filled loop, 60 px: wider than the closing (49 px), clear of the sides
    page[200:210, 150:300] *= 0.15  # … written on from a stroke
    page[400:, :] *= 0.5  # a shadow 80 px deep along the bottom
    flat = flatten(page, inverted=True)
    assert flat.uneven
    assert flat.ink[230, 330] == pytest.approx(0.85, abs=0.02)  # the blot's middle: 1 − 0.15, the light divided out
    assert flat.ink[205, 200] == pytest.approx(0.85, abs=0.02)  # the stroke
    assert flat.ink[440, 100] < 0.02 and flat.ink[440, 500] < 0.02  # the shadow is the page's light, not ink
    assert np.abs(flat.ink[:150] - (1 - page[:150] / lit[:150])).max() < 0.02  # the paper clear of both: nothing
