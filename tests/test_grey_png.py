"""service/grey_png.py: plain 8-bit grey PNGs read by OpenCV give exactly what Pillow's path gives; nothing else is
taken, and every file it leaves gets Pillow's answer (pixels, report or error) as before."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from service import grey_png
from service.decode import MAX_PIXELS, open_upload
from service.errors import ApiError
from service.preprocess import WORK_SIDE, normalize, preprocess


def png(a: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", **options)
    return buf.getvalue()


def through_pillow(data: bytes, mode: str):
    """What preprocessing answered before grey_png: Pillow decodes, normalize does the rest (result or ApiError)."""
    try:
        upload = open_upload(data, MAX_PIXELS, WORK_SIDE)
        return normalize(upload.image, mode, upload.size, upload.scale)
    except ApiError as err:
        return err


def answer(data: bytes, mode: str):
    try:
        return preprocess(data, mode=mode)
    except ApiError as err:
        return err


def assert_same(data: bytes) -> None:
    """preprocess(data) equals the Pillow path exactly, in both modes: pixels (bit for bit), report (keys in order)
    or the error (status, code and message)."""
    for mode in ("auto", "raw"):
        ours, theirs = answer(data, mode), through_pillow(data, mode)
        if isinstance(theirs, ApiError):
            assert isinstance(ours, ApiError) and ours.to_dict() == theirs.to_dict() and ours.status == theirs.status
            continue
        assert not isinstance(ours, ApiError), ours.message
        assert list(ours.report.items()) == list(theirs.report.items())
        assert ours.pixels.dtype == theirs.pixels.dtype and np.array_equal(ours.pixels, theirs.pixels)


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def with_chunk(data: bytes, kind: bytes, body: bytes) -> bytes:
    """DATA with one more chunk right after IHDR (8-byte signature + 25-byte IHDR)."""
    return data[:33] + chunk(kind, body) + data[33:]


@pytest.fixture(scope="module")
def digits(mnist) -> np.ndarray:
    return mnist.test_x[:300].numpy()  # (300, 28, 28) uint8


def test_mnist_digits_read_by_opencv_match_pillow(digits):
    for a in digits:
        data = png(a)
        assert grey_png.read(data, WORK_SIDE, MAX_PIXELS) is not None  # taken by the fast path
        assert_same(data)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: 255 - a,  # dark on light: polarity, levelling, crop and centring all run
        lambda a: np.asarray(Image.fromarray(a).resize((190, 130))),  # another size, off-square
        lambda a: np.clip(a.astype(int) + (np.arange(a.size).reshape(a.shape) * 7919 % 23), 0, 255).astype(np.uint8),
        lambda a: np.zeros_like(a),  # blank: 422 both ways
        lambda a: a[:1, :1],  # 1×1
    ],
    ids=["inverted", "190x130", "noisy", "blank", "1x1"],
)
def test_other_grey_pngs_match_pillow(digits, make):
    for a in digits[:20]:
        data = png(make(a))
        assert grey_png.read(data, WORK_SIDE, MAX_PIXELS) is not None
        assert_same(data)


def test_text_and_resolution_chunks_are_plain(digits):
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "a phone")
    info.add_itxt("Title", "ünïcode", zip=True)
    data = png(digits[0], pnginfo=info, dpi=(300, 300))
    assert grey_png.read(data, WORK_SIDE, MAX_PIXELS) is not None
    assert_same(data)


def other_pngs(a: np.ndarray) -> dict[str, bytes]:
    """PNGs (and one JPEG) the fast path must leave to Pillow, each for its own reason."""
    plain = png(a)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: Pillow turns it upright
    frame2 = Image.fromarray(255 - a)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", save_all=True, append_images=[frame2])  # APNG: acTL, fcTL
    jpeg = io.BytesIO()
    Image.fromarray(a).save(jpeg, format="JPEG")
    return {
        "rgb": png(np.stack([a] * 3, axis=-1)),
        "grey+alpha": png(np.stack([a, a], axis=-1)),
        "16-bit": png(a.astype(np.uint16) * 257),
        "1-bit": png(a > 127),
        "tRNS": png(a, transparency=0),
        "eXIf": png(a, exif=exif),
        "gAMA": with_chunk(plain, b"gAMA", struct.pack(">I", 100000)),
        "apng": buf.getvalue(),
        "truncated": plain[:-12],
        "trailing bytes": plain + b"\0" * 5,
        "bad CRC": plain[:-1] + bytes([plain[-1] ^ 1]),  # IEND's
        "flipped IDAT byte": plain[:45] + bytes([plain[45] ^ 0xFF]) + plain[46:],
        "IHDR not first": plain[:8] + chunk(b"tEXt", b"a\0b") + plain[8:],
        "jpeg": jpeg.getvalue(),
    }


@pytest.mark.parametrize("kind", list(other_pngs(np.zeros((2, 2), np.uint8))))
def test_other_files_are_left_to_pillow(digits, kind):
    data = other_pngs(digits[1])[kind]
    assert grey_png.read(data, WORK_SIDE, MAX_PIXELS) is None
    assert_same(data)  # Pillow's pixels and report, or its error


def test_limits_are_the_callers(digits):
    data = png(np.asarray(Image.fromarray(digits[2]).resize((300, 200))))
    assert grey_png.read(data, 300, 60_000) is not None
    assert grey_png.read(data, 299, 60_000) is None  # a side over max_side: Pillow's path reduces it
    assert grey_png.read(data, 300, 59_999) is None  # more pixels than allowed: Pillow's path answers 413
    with pytest.raises(ApiError) as info:
        preprocess(data, max_pixels=59_999)
    assert info.value.status == 413
