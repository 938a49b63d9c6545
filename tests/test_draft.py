"""A large JPEG decoded in draft (libjpeg's 1/2, 1/4, 1/8 scaling, in grey): the same report and the same digit as
decoding it whole and box-reducing it, the upload's own size in the report, and the pixel limit still on the file."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from model import load_weights
from service.decode import _draft_scale, open_image, open_upload
from service.errors import ApiError
from service.preprocess import WORK_SIDE, normalize, preprocess
from tests.captures import LARGE, _photo


@pytest.fixture(scope="module")
def photos(mnist):
    """Six 1280×960 phone photos (two of each paper) of MNIST test digits: (JPEG bytes, label)."""
    rng = np.random.default_rng(11)
    papers = ("plain", "ruled", "squared") * 2
    digits = [mnist.test_x[i].numpy() for i in range(len(papers))]
    return [(_photo(d, rng, p, LARGE), int(mnist.test_y[i])) for i, (d, p) in enumerate(zip(digits, papers))]


def _whole(data: bytes):
    """Preprocessing as it was before drafts: the JPEG decoded whole, then box-reduced."""
    return normalize(open_image(data))


def _jpeg(img: Image.Image, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90, **options)
    return buf.getvalue()


@pytest.mark.parametrize(
    "size, scale",
    [((1280, 960), 2), ((960, 1280), 2), ((1024, 768), 1), ((3000, 2000), 1), ((4032, 3024), 4),
     ((6000, 4000), 2), ((8192, 6144), 8), ((12000, 9000), 4)],
)  # fmt: skip
def test_draft_scale_divides_the_box_reduction(size, scale):
    factor = -(-max(size) // WORK_SIDE)  # what preprocess box-reduces by
    assert _draft_scale(size, WORK_SIDE) == scale and factor % scale == 0


def test_a_large_photo_is_decoded_small_and_grey(photos):
    upload = open_upload(photos[0][0], work_side=WORK_SIDE)
    assert upload.image.size == (640, 480) and upload.image.mode == "L"  # not 1280×960 RGB: libjpeg scaled it
    assert upload.size == (1280, 960) and upload.scale == 2
    assert open_upload(photos[0][0]).image.size == (1280, 960)  # no work_side: decoded whole, as before


def test_draft_gives_the_same_report_and_input(photos):
    for data, _ in photos:
        got, want = preprocess(data), _whole(data)
        assert got.report == want.report  # original_size, bbox in the upload's pixels, scale, lines, components
        assert got.report["original_size"] == [1280, 960] and got.report["scale"] < 0.1
        diff = np.abs(got.pixels - want.pixels)  # libjpeg's 1/2 scale ≈ a 2×2 box average; where a stroke
        assert diff.mean() < 1e-3 and diff.max() < 0.03  # crosses a line a pixel is kept or not whole (paper_lines)


def test_draft_reads_the_same_digit(photos, trained_weights):
    model = load_weights(trained_weights)[0].eval()
    got = np.stack([preprocess(data).pixels for data, _ in photos])
    want = np.stack([_whole(data).pixels for data, _ in photos])
    with torch.inference_mode():
        digits = [model(torch.from_numpy(p)).argmax(1).tolist() for p in (got, want)]
    assert digits[0] == digits[1]
    assert sum(d == label for d, (_, label) in zip(digits[0], photos)) >= 5


def test_exif_orientation_survives_the_draft(photos):
    upright = Image.open(io.BytesIO(photos[1][0]))
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned 90° anticlockwise: the viewer turns it back clockwise
    sideways = _jpeg(upright.transpose(Image.Transpose.ROTATE_90), exif=exif.tobytes())
    got, want = preprocess(sideways), _whole(_jpeg(upright))
    assert got.report["exif_rotated"] is True and got.report["original_size"] == [960, 1280]  # as uploaded
    assert open_upload(sideways, work_side=WORK_SIDE).scale == 2
    assert np.abs(got.pixels - want.pixels).max() < 0.05  # two more JPEG encodings than the reference


def test_the_pixel_limit_applies_to_the_file_not_the_draft(photos):
    with pytest.raises(ApiError) as err:
        preprocess(photos[0][0], max_pixels=1_000_000)  # 1280×960 = 1.23 MP; its draft would be 0.31 MP
    assert err.value.status == 413 and "1280×960" in str(err.value)


def test_other_formats_are_decoded_whole(photos):
    png = io.BytesIO()
    Image.open(io.BytesIO(photos[0][0])).save(png, format="PNG")
    upload = open_upload(png.getvalue(), work_side=WORK_SIDE)
    assert upload.scale == 1 and upload.image.size == (1280, 960)
