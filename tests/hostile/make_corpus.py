"""Build the hostile corpus for POST /api/predict: odd-but-valid images (answered with their MNIST label) and bad
requests (answered with a documented 4xx JSON error). Everything is generated here, from real MNIST test digits.

    python -m tests.hostile.make_corpus OUT_DIR     # writes one file per case + manifest.json

Each Case knows how to become raw HTTP (method, path, headers, body), so the same bytes go to Flask's test client
and to the live server (python -m service.serve).
"""

from __future__ import annotations

import base64
import io
import json
import struct
import sys
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from service.decode import MAX_PIXELS  # importing it registers HEIC with Pillow, as the service reads it
from service.settings import SETTINGS

BOUNDARY = "hostile-corpus-boundary-7f3a"
DEFAULTS = {s.key: s.default for s in SETTINGS}
BATCH_LIMIT, BODY_LIMIT = DEFAULTS["BATCH_LIMIT"], DEFAULTS["MAX_CONTENT_LENGTH"]  # the service's defaults
# MNIST test indices of unambiguous digits (a 784-128-10 MLP gets each right with > 98 % confidence), so that a wrong
# answer on an odd encoding means the encoding was mishandled, not that the digit was hard.
CLEAR = (
    0,
    1,
    2,
    3,
    5,
    6,
    10,
    11,
    12,
    13,
    14,
    16,
    17,
    19,
    21,
    22,
    23,
    25,
    26,
    27,
    28,
    29,
    30,
    32,
    34,
    35,
    36,
    37,
    39,
    42,
    47,
    48,
    49,
    50,
    51,
    52,
    54,
    55,
    56,
    58,
    60,
)


@dataclass
class Case:
    """One request and what the service must answer: a digit (or a list for a batch), or a status and error code."""

    name: str
    kind: str  # multipart | raw | json | bare (body sent as is, with `headers`)
    body: bytes  # the file for multipart/raw, the JSON text for json, the whole body for bare
    content_type: str = "image/png"  # of the part (multipart) or of the request (raw, json)
    filename: bytes = b"digit.png"
    status: int = 200
    code: str | None = None
    digit: int | list[int] | None = None
    method: str = "POST"
    path: str = "/api/predict"
    extra_parts: int = 0  # multipart: this many text fields before the image
    part_name: bytes = b"image"  # multipart: the name of the file field
    files: list[bytes] = field(default_factory=list)  # multipart batch: more image parts after the first
    headers: dict[str, str] = field(default_factory=dict)

    def request(self) -> tuple[str, str, dict[str, str], bytes]:
        """(method, path, headers, body) exactly as sent on the wire."""
        if self.kind == "multipart":
            return (
                self.method,
                self.path,
                {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                self._multipart(),
            )
        if self.kind in ("raw", "json"):
            return self.method, self.path, {"Content-Type": self.content_type}, self.body
        return self.method, self.path, dict(self.headers), self.body

    def _multipart(self) -> bytes:
        b = BOUNDARY.encode()
        parts = [
            b'--%s\r\nContent-Disposition: form-data; name="note%d"\r\n\r\nx\r\n' % (b, i)
            for i in range(self.extra_parts)
        ]
        for data in (self.body, *self.files):
            parts.append(
                b'--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                b"Content-Type: %s\r\n\r\n%s\r\n" % (b, self.part_name, self.filename, self.content_type.encode(), data)
            )
        return b"".join(parts) + b"--%s--\r\n" % b

    @property
    def ok(self) -> bool:
        return self.status == 200


# --- drawing digits -------------------------------------------------------------------------------------------


class Digits:
    """Real MNIST test digits (light ink on black, 28×28 uint8) and their labels."""

    def __init__(self, images: np.ndarray | None = None, labels: np.ndarray | None = None) -> None:
        if images is None:
            from training.data import load_mnist, resolve_root

            mnist = load_mnist(resolve_root(None))
            images, labels = mnist.test_x.numpy(), mnist.test_y.numpy()
        self.images, self.labels = np.asarray(images, dtype=np.uint8), np.asarray(labels)

    def ink(self, i: int, side: int = 28) -> Image.Image:
        """Digit i as light ink on black, scaled to side×side."""
        img = Image.fromarray(self.images[i])
        return img if side == 28 else img.resize((side, side), Image.Resampling.BILINEAR)

    def paper(self, i: int, side: int = 28) -> Image.Image:
        """Digit i as dark ink on white paper, like a scan."""
        return ImageOps.invert(self.ink(i, side))

    def label(self, i: int) -> int:
        return int(self.labels[i])

    def subset(self, indices) -> Digits:
        """The digits at these indices, renumbered from 0."""
        idx = list(indices)
        return Digits(self.images[idx], self.labels[idx])


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG (valid CRCs) whose IHDR claims width×height 8-bit grey pixels, with a tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def jpeg_claiming(width: int, height: int, d: Digits) -> bytes:
    """A real JPEG whose SOF0 header is patched to claim width×height."""
    data = bytearray(encode(d.paper(0), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def sideways(upright: Image.Image, fmt: str, quality: int) -> bytes:
    """The image as a phone stores a portrait photo: its pixels turned 90° anticlockwise, EXIF orientation 6 (a
    HEIC: its rotation in the file, which libheif applies) telling the viewer to turn them upright again."""
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = upright.transpose(Image.Transpose.ROTATE_90).convert("RGB")
    return encode(stored, fmt, quality=quality, exif=exif.tobytes())


def exif_rotated_jpeg(d: Digits, i: int) -> bytes:
    """Pixels stored rotated 90°, EXIF orientation 6 telling the viewer to turn them upright again."""
    data = sideways(d.paper(i, 112), "JPEG", 95)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("L"), dtype=float)
    assert np.abs(upright - np.asarray(d.paper(i, 112), dtype=float)).mean() < 8, "EXIF orientation round trip"
    return data


def iphone_heic(d: Digits, i: int) -> bytes:
    """A portrait HEIC as an iPhone stores it: the pixels sideways, the rotation in the file (libheif applies it)."""
    return sideways(d.paper(i, 112), "HEIF", 90)


def heic_claiming(width: int, height: int) -> bytes:
    """A real HEIC (64×64: no clean-aperture crop) whose image size box, ispe, claims width×height."""
    data = bytearray(encode(Image.new("RGB", (64, 64), (255, 255, 255)), "HEIF"))
    at = data.index(b"ispe") + 8  # the box's version and flags, then its width and height
    data[at : at + 8] = struct.pack(">II", width, height)
    return bytes(data)


def palette_with_transparency(d: Digits, i: int) -> bytes:
    """P-mode PNG: index 0 fully transparent background, ink in shades of black (tRNS chunk)."""
    ink = np.asarray(d.ink(i, 56))
    levels = (ink // 32).astype(np.uint8)  # 0 = background, 1..7 = ink
    img = Image.fromarray(levels, mode="P")
    img.putpalette([0, 0, 0] + [v for k in range(1, 8) for v in (255 - 36 * k,) * 3] + [0] * (248 * 3))
    return encode(img, "PNG", transparency=0)


def frames(d: Digits, first: int, second: int, fmt: str) -> bytes:
    """Two frames, different digits: the service must read the first."""
    a, b = d.paper(first, 56), d.paper(second, 56)
    if fmt == "GIF":
        return encode(a, "GIF", save_all=True, append_images=[b], duration=100, loop=0)
    return encode(a, "TIFF", save_all=True, append_images=[b])


def huge_canvas(d: Digits, i: int) -> bytes:
    """A legal 4000×3000 white page with the digit drawn 2000 px tall somewhere off-centre."""
    page = Image.new("L", (4000, 3000), 255)
    page.paste(d.paper(i, 2000), (1500, 600))
    return encode(page, "PNG")


def sixteen_bit(d: Digits, i: int) -> bytes:
    arr = np.asarray(d.paper(i, 56), dtype=np.uint16) * 257  # full 16-bit range
    return encode(Image.fromarray(arr), "PNG")


def cmyk_jpeg(d: Digits, i: int) -> bytes:
    return encode(d.paper(i, 84).convert("RGB").convert("CMYK"), "JPEG", quality=95)


def rgba_on_transparent(d: Digits, i: int) -> bytes:
    """Black strokes whose alpha is the ink: a canvas drawing with a transparent background."""
    alpha = d.ink(i, 56)
    black = Image.new("L", alpha.size, 0)
    return encode(Image.merge("RGBA", (black, black, black, alpha)), "PNG")


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def pixels(d: Digits, i: int) -> list[int]:
    return d.images[i].reshape(-1).tolist()


def as_json(doc) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


# --- the corpus -----------------------------------------------------------------------------------------------


def odd_but_valid(d: Digits) -> list[Case]:
    """Unusual encodings of real digits: each must come back as its MNIST label."""
    d = d.subset(CLEAR)
    L = d.label
    return [
        Case("png_plain_paper", "multipart", encode(d.paper(0, 56), "PNG"), digit=L(0)),
        Case("png_light_ink_on_black", "multipart", encode(d.ink(1), "PNG"), digit=L(1)),
        Case("png_16bit_grey", "multipart", sixteen_bit(d, 2), digit=L(2)),
        Case(
            "png_1bit",
            "multipart",
            encode(d.paper(3, 112).point(lambda v: 255 if v > 128 else 0).convert("1"), "PNG"),
            digit=L(3),
        ),
        Case("png_rgba_transparent_canvas", "multipart", rgba_on_transparent(d, 4), digit=L(4)),
        Case("png_palette_with_transparency", "multipart", palette_with_transparency(d, 6), digit=L(6)),
        Case(
            "jpeg_rgb",
            "multipart",
            encode(d.paper(7, 84).convert("RGB"), "JPEG", quality=90),
            "image/jpeg",
            b"digit.jpg",
            digit=L(7),
        ),
        Case("jpeg_cmyk", "multipart", cmyk_jpeg(d, 8), "image/jpeg", b"digit.jpg", digit=L(8)),
        Case("jpeg_exif_rotated", "multipart", exif_rotated_jpeg(d, 0), "image/jpeg", b"photo.jpg", digit=L(0)),
        Case("gif_animated_first_frame", "multipart", frames(d, 1, 0, "GIF"), "image/gif", b"digit.gif", digit=L(1)),
        Case(
            "tiff_multiframe_first_frame",
            "multipart",
            frames(d, 10, 0, "TIFF"),
            "image/tiff",
            b"digit.tif",
            digit=L(10),
        ),
        Case("bmp", "multipart", encode(d.paper(11, 56), "BMP"), "image/bmp", b"digit.bmp", digit=L(11)),
        Case(
            "webp_lossless",
            "multipart",
            encode(d.paper(12, 56), "WEBP", lossless=True),
            "image/webp",
            b"digit.webp",
            digit=L(12),
        ),
        Case("heic_iphone_portrait", "multipart", iphone_heic(d, 32), "image/heic", b"IMG_0042.HEIC", digit=L(32)),
        Case("avif", "multipart", encode(d.paper(33, 56), "AVIF", quality=90), "image/avif", b"d.avif", digit=L(33)),
        Case("huge_legal_canvas_4000x3000", "multipart", huge_canvas(d, 13), digit=L(13)),
        Case(
            "png_part_labelled_text_plain",
            "multipart",
            encode(d.paper(14, 56), "PNG"),
            "text/plain",
            b"digit.txt",
            digit=L(14),
        ),
        *(  # odd filenames: never used, so none of them stops the image being read
            Case(name, "multipart", encode(d.paper(i, 56), "PNG"), filename=filename, digit=L(i))
            for name, i, filename in (
                ("non_utf8_filename", 0, b"\xff\xfe\xc3(\x80.png"),  # part headers are read as Latin-1
                ("very_long_filename", 15, b"d" * 20_000 + b".png"),
                ("path_traversal_filename", 17, b"../../tmp/pwned.png"),
            )
        ),
        Case(
            "multipart_batch_of_three",
            "multipart",
            encode(d.paper(18, 56), "PNG"),
            files=[encode(d.paper(19, 56), "PNG"), encode(d.ink(21), "PNG")],
            digit=[L(18), L(19), L(21)],
        ),
        Case("raw_png_body", "raw", encode(d.paper(22, 56), "PNG"), "image/png", digit=L(22)),
        Case("raw_jpeg_body", "raw", encode(d.paper(23, 56), "JPEG", quality=95), "image/jpeg", digit=L(23)),
        Case("raw_png_labelled_image_jpeg", "raw", encode(d.paper(24, 56), "PNG"), "image/jpeg", digit=L(24)),
        Case(
            "json_base64",
            "json",
            as_json({"image": base64.b64encode(encode(d.paper(25, 56), "PNG")).decode()}),
            "application/json",
            digit=L(25),
        ),
        Case(
            "json_data_url",
            "json",
            as_json({"image": data_url(encode(d.paper(26, 56), "PNG"))}),
            "application/json",
            digit=L(26),
        ),
        Case("json_pixels_flat", "json", as_json({"pixels": pixels(d, 27)}), "application/json", digit=L(27)),
        Case("json_pixels_rows", "json", as_json({"pixels": d.images[28].tolist()}), "application/json", digit=L(28)),
        Case(
            "json_pixels_fractions",
            "json",
            as_json({"pixels": (d.images[29] / 1.0 + 0.25).clip(0, 255).tolist()}),
            "application/json",
            digit=L(29),
        ),
        Case(
            "json_pixels_batch",
            "json",
            as_json({"pixels": [pixels(d, 30), pixels(d, 31)]}),
            "application/json",
            digit=[L(30), L(31)],
        ),
    ]


def bad_images(d: Digits) -> list[Case]:
    """Files that are not digits we can read: each a 4xx with its code."""
    png, jpeg, heic = encode(d.paper(0, 56), "PNG"), encode(d.paper(0, 56), "JPEG"), iphone_heic(d, 0)
    return [
        Case("zero_byte_file", "multipart", b"", status=400, code="invalid_image"),
        Case("empty_raw_png_body", "raw", b"", status=400, code="invalid_image"),
        Case("truncated_png", "multipart", png[: len(png) // 2], status=400, code="invalid_image"),
        Case("png_cut_inside_its_header", "multipart", png[:20], status=400, code="invalid_image"),
        Case(
            "truncated_jpeg",
            "multipart",
            jpeg[: len(jpeg) // 2],
            "image/jpeg",
            b"x.jpg",
            status=400,
            code="invalid_image",
        ),
        Case(
            "png_bad_crc", "multipart", png[:29] + bytes([png[29] ^ 0xFF]) + png[30:], status=400, code="invalid_image"
        ),
        Case("png_bomb_50000x50000", "multipart", png_claiming(50_000, 50_000), status=413, code="image_too_large"),
        Case("png_bomb_raw_body", "raw", png_claiming(50_000, 50_000), "image/png", status=413, code="image_too_large"),
        Case(
            "png_just_over_the_pixel_limit",
            "multipart",
            png_claiming(8192, MAX_PIXELS // 8192 + 1),
            status=413,
            code="image_too_large",
        ),
        Case(
            "jpeg_bomb_header_65000x65000",
            "multipart",
            jpeg_claiming(65_000, 65_000, d),
            "image/jpeg",
            b"x.jpg",
            status=413,
            code="image_too_large",
        ),
        *(  # an iPhone's file, cut short or claiming to be huge
            Case(name, "multipart", body, "image/heic", b"IMG_0001.HEIC", status=status, code=code)
            for name, body, status, code in (
                ("truncated_heic", heic[: len(heic) // 2], 400, "invalid_image"),
                ("heic_bomb_header_50000x50000", heic_claiming(50_000, 50_000), 413, "image_too_large"),
            )
        ),
        Case("one_by_one_pixel", "multipart", encode(Image.new("L", (1, 1), 0), "PNG"), status=422, code="no_ink"),
        Case("all_white", "multipart", encode(Image.new("L", (64, 64), 255), "PNG"), status=422, code="no_ink"),
        Case("all_black", "multipart", encode(Image.new("L", (64, 64), 0), "PNG"), status=422, code="no_ink"),
        Case(
            "fully_transparent",
            "multipart",
            encode(Image.new("RGBA", (64, 64), (0, 0, 0, 0)), "PNG"),
            status=422,
            code="no_ink",
        ),
        Case(
            "svg_named_png",
            "multipart",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28">'
            b'<text x="4" y="24" font-size="24">7</text></svg>',
            status=415,
            code="unsupported_media_type",
        ),
        Case(
            "pdf_named_png",
            "multipart",
            b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<<>>\n%%EOF",
            status=415,
            code="unsupported_media_type",
        ),
        Case(
            "html_named_png",
            "multipart",
            b"<!doctype html><html><body><img src=x onerror=alert(1)>7</body></html>",
            status=415,
            code="unsupported_media_type",
        ),
        Case("text_named_png", "multipart", b"seven\n", status=415, code="unsupported_media_type"),
        Case(
            "random_bytes_named_png",
            "multipart",
            np.random.default_rng(0).bytes(4096),
            status=415,
            code="unsupported_media_type",
        ),
        Case(
            "svg_data_url",
            "json",
            as_json({"image": data_url(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")}),
            "application/json",
            status=415,
            code="unsupported_media_type",
        ),
    ]


def bad_requests(d: Digits) -> list[Case]:
    """Requests malformed above the image: wrong types, bad JSON, bad pixels, too many of anything."""
    png, one = encode(d.paper(0, 56), "PNG"), pixels(d, 0)
    J = "application/json"
    return [
        Case("empty_body_no_content_type", "bare", b"", status=415, code="unsupported_media_type"),
        Case("png_sent_as_text_plain", "raw", png, "text/plain", status=415, code="unsupported_media_type"),
        Case(
            "png_sent_as_octet_stream",
            "raw",
            png,
            "application/octet-stream",
            status=415,
            code="unsupported_media_type",
        ),
        Case(
            "form_urlencoded",
            "raw",
            b"image=abc",
            "application/x-www-form-urlencoded",
            status=415,
            code="unsupported_media_type",
        ),
        Case("multipart_without_image_field", "multipart", png, part_name=b"file", status=400, code="missing_image"),
        Case(
            "multipart_cut_before_its_end",
            "bare",
            b'--cut\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n' + png[:100],
            headers={"Content-Type": "multipart/form-data; boundary=cut"},
            status=400,
            code="invalid_multipart",
        ),
        Case(
            "multipart_without_boundary",
            "bare",
            png,
            headers={"Content-Type": "multipart/form-data"},
            status=400,
            code="invalid_multipart",
        ),
        Case("multipart_1000_fields", "multipart", png, extra_parts=1000, status=413, code="request_too_large"),
        Case("malformed_json", "json", b'{"pixels": [1, 2,', J, status=400, code="invalid_json"),
        Case("json_not_utf8", "json", b'{"image": "\xff\xfe"}', J, status=400, code="invalid_json"),
        Case("json_array_not_object", "json", b"[1, 2, 3]", J, status=400, code="invalid_json"),
        Case(
            "json_both_image_and_pixels",
            "json",
            as_json({"image": "", "pixels": one}),
            J,
            status=400,
            code="invalid_json",
        ),
        Case("json_image_is_a_number", "json", as_json({"image": 7}), J, status=400, code="invalid_json"),
        Case(
            "json_deeply_nested",
            "json",
            b'{"pixels": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            J,
            status=400,
            code="invalid_json",
        ),
        Case(
            "base64_not_base64", "json", as_json({"image": "this is not base64!"}), J, status=400, code="invalid_base64"
        ),
        Case(
            "data_url_without_base64_marker",
            "json",
            as_json({"image": "data:image/png," + "A" * 12}),
            J,
            status=400,
            code="invalid_base64",
        ),
        Case(
            "data_url_garbage_payload",
            "json",
            as_json({"image": "data:image/png;base64,%%%%"}),
            J,
            status=400,
            code="invalid_base64",
        ),
        Case("pixels_783", "json", as_json({"pixels": one[:783]}), J, status=400, code="invalid_pixels"),
        Case("pixels_785", "json", as_json({"pixels": one + [0]}), J, status=400, code="invalid_pixels"),
        Case("pixels_empty", "json", as_json({"pixels": []}), J, status=400, code="invalid_pixels"),
        Case("pixels_nan", "json", as_json({"pixels": [float("nan")] + one[1:]}), J, status=400, code="invalid_pixels"),
        Case(
            "pixels_infinity",
            "json",
            as_json({"pixels": [float("inf")] + one[1:]}),
            J,
            status=400,
            code="invalid_pixels",
        ),
        Case("pixels_negative", "json", as_json({"pixels": [-1] + one[1:]}), J, status=400, code="invalid_pixels"),
        Case("pixels_over_255", "json", as_json({"pixels": [256] + one[1:]}), J, status=400, code="invalid_pixels"),
        Case(
            "pixels_huge_integer",
            "json",
            b'{"pixels": [' + b"9" * 400 + b"," + b"0," * 782 + b"0]}",
            J,
            status=400,
            code="invalid_pixels",
        ),
        Case("pixels_strings", "json", as_json({"pixels": ["0"] * 784}), J, status=400, code="invalid_pixels"),
        Case("pixels_booleans", "json", as_json({"pixels": [True] * 784}), J, status=400, code="invalid_pixels"),
        Case(
            "pixels_28_rows_of_27", "json", as_json({"pixels": [[0] * 27] * 28}), J, status=400, code="invalid_pixels"
        ),
        Case(
            "pixels_ragged_rows",
            "json",
            as_json({"pixels": [[0] * 28] * 27 + [[0] * 29]}),
            J,
            status=400,
            code="invalid_pixels",
        ),
        Case("pixels_4d", "json", as_json({"pixels": [[[[0] * 28] * 28]]}), J, status=400, code="invalid_pixels"),
        Case(
            "pixels_batch_over_limit",
            "json",
            as_json({"pixels": [one] * (BATCH_LIMIT + 1)}),
            J,
            status=413,
            code="too_many_images",
        ),
        Case(
            "images_batch_over_limit", "multipart", png, files=[png] * BATCH_LIMIT, status=413, code="too_many_images"
        ),
        Case(
            "body_over_size_limit", "raw", png + b"\0" * BODY_LIMIT, "image/png", status=413, code="request_too_large"
        ),
        Case(
            "bad_query_parameter",
            "raw",
            png,
            "image/png",
            status=400,
            code="invalid_parameter",
            path="/api/predict?top=lots",
        ),
        Case(
            "unknown_mode",
            "raw",
            png,
            "image/png",
            status=400,
            code="invalid_parameter",
            path="/api/predict?mode=magic",
        ),
        Case("get_on_predict", "bare", b"", status=405, code="method_not_allowed", method="GET"),
        Case("unknown_route", "raw", png, "image/png", status=404, code="not_found", path="/api/no-such-route"),
    ]


def build_corpus(out_dir: str | Path | None = None, digits: Digits | None = None) -> list[Case]:
    """Every case; with out_dir, also write each body to OUT_DIR/NAME.bin and a manifest.json beside them."""
    d = digits or Digits()
    cases = odd_but_valid(d) + bad_images(d) + bad_requests(d)
    assert len({c.name for c in cases}) == len(cases), "case names must be unique"
    if out_dir is not None:
        write_corpus(Path(out_dir), cases)
    return cases


def write_corpus(out: Path, cases: list[Case]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for case in cases:
        method, path, headers, body = case.request()
        (out / f"{case.name}.bin").write_bytes(body)
        meta = {
            k: v.decode("latin-1")[:200] if isinstance(v, bytes) else v
            for k, v in asdict(case).items()
            if k not in ("body", "files")
        }
        manifest.append({**meta, "method": method, "path": path, "headers": headers, "file": f"{case.name}.bin"})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "hostile-corpus")
    cases = build_corpus(out)
    print(f"wrote {len(cases)} cases ({sum(c.ok for c in cases)} valid, {sum(not c.ok for c in cases)} bad) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
