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
