"""service.preprocess.preprocess_all: a batch of uploads gives what each gives alone (pixels, report, dtype), in
order; the plain grey PNGs already in MNIST's format, levelled together, match a hand computation; and the first
bad upload of a batch is the one whose error is answered."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from service import preprocess as preprocess_module
from service.errors import ApiError
from service.preprocess import INK_THRESHOLD, preprocess, preprocess_all


def png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def digits(mnist) -> np.ndarray:
    return mnist.test_x[:64].numpy()  # (64, 28, 28) uint8


def mixed(digits: np.ndarray) -> list[bytes]:
    """MNIST PNGs (levelled together) among uploads that each take their own path."""
    rgb = np.stack([digits[1]] * 3, axis=-1)
    big = np.asarray(Image.fromarray(digits[2]).resize((90, 90)))
    jpeg = io.BytesIO()
    Image.fromarray(255 - digits[3]).save(jpeg, format="JPEG", quality=90)
    others = [png(255 - digits[0]), png(rgb), png(big), jpeg.getvalue()]
    return [png(d) for d in digits[:30]] + others + [png(d) for d in digits[30:]]


@pytest.mark.parametrize("mode", ["auto", "raw"])
def test_a_batch_answers_what_each_upload_answers_alone(digits, mode):
    uploads = mixed(digits)
    batch = preprocess_all(uploads, mode)
    assert len(batch) == len(uploads)
    for data, together in zip(uploads, batch):
        alone = preprocess(data, mode)
        assert list(together.report.items()) == list(alone.report.items())
        assert together.pixels.dtype == np.float32 and np.array_equal(together.pixels, alone.pixels)


def test_levelled_together_as_computed_by_hand(digits):
    batch = preprocess_all([png(d) for d in digits])
    for d, p in zip(digits, batch):
        peak = d.max() / 255
        assert np.abs(p.pixels - (d / 255) / peak).max() < 1e-6  # peak → 1, nothing moved
        rows, cols = np.nonzero(d / 255 > INK_THRESHOLD * peak)
        assert p.report["bbox"] == [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]
        assert p.report["scale"] == 1.0 and p.report["com_shift"] == [0, 0] and not p.report["inverted"]


def test_the_first_bad_upload_is_the_one_answered(digits):
    blank, corrupt = png(np.zeros((28, 28), np.uint8)), png(digits[5])[:40]
    good = [png(d) for d in digits[:3]]
    with pytest.raises(ApiError) as first:
        preprocess_all([*good, blank, good[0], corrupt])
    assert (first.value.status, first.value.code) == (422, "no_ink")
    with pytest.raises(ApiError) as second:
        preprocess_all([*good, corrupt, blank])
    assert second.value.status == 400


def test_levelled_together_bit_for_bit_as_one_image_at_a_time(digits):
    """Against the one-image functions the rest of the pipeline uses (_level, _bbox), with the floor at 0."""
    grey = digits * np.float32(1 / 255)  # (64, 28, 28) float32, as the upload is scaled
    batch = preprocess_all([png(d) for d in digits])
    for g, p in zip(grey, batch):
        peak = float(g.max())
        assert np.array_equal(p.pixels, preprocess_module._level(g, 0.0, peak))
        y0, y1, x0, x1 = preprocess_module._bbox(g > 0.0 + INK_THRESHOLD * (peak - 0.0))
        assert p.report["bbox"] == [x0, y0, x1, y1]


def test_a_batch_picks_out_the_images_to_level_as_each_alone_would(digits):
    """_ready's array operations draw _black_border's and the contrast's lines where the one-image path does: half
    of the border lit or not, an ink peak just under or over MIN_CONTRAST (20/255 < 0.08 ≤ 21/255)."""
    edge = np.flatnonzero(np.pad(np.zeros((26, 26), bool), 1, constant_values=True))  # the 108 border pixels
    lit = []
    for k in (53, 54, 55):  # 53 of 108 lit: still "black"; 54: half, no longer
        a = digits[0].copy().reshape(-1)
        a[edge[:k]] = 9
        lit.append(a.reshape(28, 28))
    faint = [np.round(digits[1] * (peak / digits[1].max())).astype(np.uint8) for peak in (20, 21)]
    greys = [*lit, *faint, digits[2], np.zeros((28, 28), np.uint8), np.zeros((30, 28), np.uint8), None]
    expected = [True, False, False, False, True, True, False, False, False]
    which, stack = preprocess_module._ready(greys)
    assert which == [i for i, only_level in enumerate(expected) if only_level]
    assert np.array_equal(stack, np.stack([greys[i] for i in which]))
    for g, only_level in zip(greys[:-1], expected):
        assert only_level == (preprocess_module._black_border(g) and g.max() / 255 >= preprocess_module.MIN_CONTRAST)
    uploads = [png(greys[i]) for i in (0, 1, 2, 4, 5)]  # not the faint 20/255: alone, that one is a 422
    for together, data in zip(preprocess_all(uploads), uploads):
        alone = preprocess(data)
        assert np.array_equal(together.pixels, alone.pixels) and together.report == alone.report
