"""service/sheet.py: a sheet lying wholly in a photo is found by its four corners and warped to fill the frame;
a page that fills the frame, runs off it or is shaded along one side, and a light stroke on a dark ground, are not
sheets. The corners are checked against the ones the sheet was drawn with."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from service import sheet

H, W = 600, 800
CARD = np.array([[190, 120], [610, 100], [625, 470], [175, 490]], np.float32)  # x y, clockwise from the top left


def desk(light: float = 0.3) -> np.ndarray:
    """A wooden desk (H, W) in [0, 1]: its grain running across it."""
    ys, xs = np.mgrid[0:H, 0:W]
    return light + 0.05 * np.sin(ys / 5 + 3 * np.sin(xs / 80))


def card_on(ground: np.ndarray, corners: np.ndarray = CARD, paper: float = 0.92, turn: float = 0) -> np.ndarray:
    """GROUND with a sheet of PAPER filling the quadrilateral CORNERS, a dark 0 written on it (90 px wide, 140 high,
    turned by TURN degrees), the light falling off by 30 % from the top left, lightly blurred and noisy."""
    img = ground.copy()
    cv2.fillPoly(img, [np.round(corners).astype(np.int32)], paper, cv2.LINE_AA)
    centre = tuple(int(v) for v in corners.mean(0))
    cv2.ellipse(img, centre, (45, 70), turn, 0, 360, 0.15, 14, cv2.LINE_AA)  # a 0 in pen
    ys, xs = np.mgrid[0:H, 0:W]
    img = img * (1 - 0.3 * np.hypot(ys, xs) / np.hypot(H, W))
    img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), 1.0)
    return np.clip(img + np.random.default_rng(0).normal(0, 0.015, img.shape), 0, 1).astype(np.float32)


def test_a_card_on_a_desk_is_found_by_its_corners():
    found = sheet.find(card_on(desk()))
    assert found is not None
    np.testing.assert_allclose(found.corners, CARD, atol=4)  # 4 px: one pixel of the copy it is found on (f = 4)
    width = max(np.hypot(*(CARD[1] - CARD[0])), np.hypot(*(CARD[2] - CARD[3])))  # the longer of top and bottom
    height = max(np.hypot(*(CARD[3] - CARD[0])), np.hypot(*(CARD[2] - CARD[1])))
    assert found.size == pytest.approx((width, height), abs=8)  # two corners, each within 4 px


def test_the_warp_maps_the_card_onto_its_rectangle_and_boxes_back():
    found = sheet.find(card_on(desk()))
    w, h = found.size
    onto = cv2.perspectiveTransform(found.corners[None].astype(np.float64), found.homography)[0]
    np.testing.assert_allclose(onto, [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], atol=1e-3)
    flat = found.warp(card_on(desk()))
    assert flat.shape == (h, w) and np.median(flat) > 0.6  # paper, not desk
    assert flat[:, :10].mean() > 0.5 and flat[-10:].mean() > 0.5  # the desk is gone from the edges
    x0, y0, x1, y1 = found.box_in_image((0, 0, w - 1, h - 1))  # the whole sheet: the box of its corners
    assert (x0, y0, x1, y1) == pytest.approx(
        (CARD[:, 0].min(), CARD[:, 1].min(), CARD[:, 0].max(), CARD[:, 1].max()), abs=5
    )


@pytest.mark.parametrize("turn", [20, 40])
def test_a_turned_card_is_warped_upright(turn):
    """The camera turned by up to 45°: the corner nearest the frame's top left is the card's, and the warp turns
    the card and what is written on it back upright (a 0 taller than it is wide)."""
    t = np.radians(turn)
    card = np.array([[-200, -150], [200, -150], [200, 150], [-200, 150]]) @ [
        [np.cos(t), np.sin(t)],
        [-np.sin(t), np.cos(t)],
    ]
    card = (card + [400, 300]).astype(np.float32)  # 400 × 300, turned clockwise by TURN about the frame's centre
    found = sheet.find(card_on(desk(), card, turn=turn))
    assert found is not None
    np.testing.assert_allclose(found.corners, card, atol=4)
    ink = found.warp(card_on(desk(), card, turn=turn)) < 0.4  # the 0's stroke
    x, y, w, h = cv2.boundingRect(ink.astype(np.uint8))
    assert h / w == pytest.approx(154 / 104, rel=0.1)  # the ring's outer box, 140 + 14 high and 90 + 14 wide


def test_a_light_desk_and_a_dark_one_both_show_the_card():
    for light in (0.1, 0.55):
        assert sheet.find(card_on(desk(light))) is not None, light


def _page_off_the_right_side() -> np.ndarray:
    corners = CARD.copy()
    corners[1:3, 0] = W + 40
    return card_on(desk(), corners)


def _shaded_top(depth: float = 0.6) -> np.ndarray:
    """The card, its top fifth under a hand's soft shadow that darkens card and desk by DEPTH."""
    ramp = 1 - depth / (1 + np.exp((np.arange(H)[:, None] - 175) / 12))  # the shadow's edge: a ramp, not a step
    return (card_on(desk()) * ramp).astype(np.float32)


def test_a_shadows_edge_across_the_card_is_not_the_cards_edge(monkeypatch):
    """Otsu's threshold puts the shaded top of the card with the desk, so the light region's top edge is the
    shadow's ramp: light just outside it is no darker than the ramp's few per cent, and the card is not taken."""
    assert sheet.find(_shaded_top()) is None
    monkeypatch.setattr(sheet, "SHEET_STEP", 0.0)  # without the step, the ramp would pass for the card's edge
    found = sheet.find(_shaded_top())
    assert found is not None and found.corners[:, 1].min() > 150  # the shaded fifth cut off


def _light_ring_on_black() -> np.ndarray:
    img = np.zeros((H, W), np.float32)
    cv2.ellipse(img, (400, 300), (150, 200), 0, 0, 360, 1.0, 60, cv2.LINE_AA)  # a chalk 0, a third of the frame
    return img


def _light_bar_on_black() -> np.ndarray:
    img = np.zeros((H, W), np.float32)
    cv2.rectangle(img, (360, 80), (440, 520), 1.0, cv2.FILLED)  # a marker's 1, a tenth of the frame wide
    return img


def _small_card() -> np.ndarray:
    return card_on(desk(), (CARD - CARD.mean(0)) * 0.3 + CARD.mean(0))  # 9 % of the frame


@pytest.mark.parametrize(
    "make",
    [
        lambda: card_on(np.full((H, W), 0.92)),  # the page fills the frame: paper all round
        _page_off_the_right_side,
        _light_ring_on_black,
        _light_bar_on_black,
        _small_card,
    ],
    ids=["page-fills-the-frame", "page-runs-off-one-side", "chalk-0", "marker-1", "small"],
)
def test_what_is_not_a_sheet_lying_in_the_frame(make):
    assert sheet.find(make()) is None


def test_fitted_edges_meet_where_the_hand_computation_says():
    """y = x and y = 2 − x cross at (1, 1); parallel lines never do, and a quadrilateral keeps its corners then."""
    r = np.sqrt(0.5)
    np.testing.assert_allclose(sheet._meet(np.array([r, r, 0, 0]), np.array([r, -r, 0, 2])), [1, 1], atol=1e-9)
    assert np.isnan(sheet._meet(np.array([1.0, 0, 0, 0]), np.array([1.0, 0, 0, 5]))).all()
    square = np.array([[10, 10], [50, 10], [50, 50], [10, 50]], np.float32)
    outline = np.array([[[10, y]] for y in range(10, 51)] + [[[x, 30]] for x in range(10, 51)], np.int32)  # an L
    np.testing.assert_array_equal(sheet._fitted(square, outline), square)  # too few points beside two edges
