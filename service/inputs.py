"""Reading a request: the images it carries (encoded bytes or pixel arrays) and the options it asks for.

Four ways to send images, all ending as ``Image`` items:

- multipart/form-data with one or more ``image`` file fields (several fields = a batch), read with the
  ``multipart`` package's push parser, in memory: ~6× less CPU than werkzeug's form parser for one small PNG
  (docs/serving.md), and a body it cannot read is named as such (400 ``invalid_multipart``);
- a raw body whose Content-Type is ``image/*``;
- JSON ``{"image": "<base64 or data URL>"}`` (or a list of them: a batch);
- JSON ``{"pixels": [...]}``: 784 numbers, or 28 rows of 28, or a list of those (a batch). Pixels are
  intensities from 0 (background) to 255 (ink), like MNIST's own files; fractions are allowed. They are the
  network's input as they stand: no centring or scaling, whatever ``mode`` says.

The Open Inference Protocol (service.v2) reads its tensors with the same pixel check (``scaled_pixels``) and
its ``mode`` parameter with the same ``parse_mode``, so every way in is checked once, the same way.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import chain

import numpy as np
from flask import Request
from multipart import MultipartError, MultipartSegment, ParserLimitReached, PushMultipartParser

from model import INPUT_SIDE, INPUT_SIZE
from service.errors import ApiError
from service.preprocess import MODES

# Over these, 413 request_too_large: 1,000 parts as werkzeug's own limit; a part's header line up to 64 KiB (a
# long filename is no reason to refuse an image); header values read as Latin-1, which decodes any bytes (a
# filename that is not UTF-8 is no reason either: it is never used).
PARSER_LIMITS = {"max_segment_count": 1000, "max_header_size": 64 * 1024, "header_charset": "latin-1"}


@dataclass(frozen=True)
class Options:
    """What the caller asked to see beside the digit (query parameters of /api/predict, flags of the CLI)."""

    activations: bool = False
    top: int = 0
    input: bool = False
    mode: str = "auto"
    checks: bool = True  # the out-of-distribution checks: off only where the answer cannot show their result


def parse_options(args: Mapping[str, str], top_limit: int) -> Options:
    """Read ?activations=1&top=k&input=1&mode=raw, refusing values that mean nothing."""
    top = parse_int(args, "top", 0, top_limit, default=0)
    return Options(_flag(args, "activations"), top, _flag(args, "input"), parse_mode(args.get("mode", "auto")))


def parse_int(args: Mapping[str, str], name: str, low: int, high: int, default: int | None = None) -> int:
    """A whole number from low to high (400 otherwise; also when it is missing and there is no default)."""
    value = args.get(name)
    if value is None and default is not None:
        return default
    if value is None or not value.isdecimal() or not low <= int(value) <= high:  # isdigit() admits '²'
        raise ApiError(400, "invalid_parameter", f"{name} must be a whole number from {low} to {high}, not {value!r}")
    return int(value)


def parse_float(args: Mapping[str, str], name: str, low: float, high: float, default: float) -> float:
    """A number with low < value ≤ high (400 otherwise)."""
    value = args.get(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not low < number <= high:  # NaN fails too
        raise ApiError(
            400, "invalid_parameter", f"{name} must be a number above {low:g} and at most {high:g}, not {value!r}"
        )
    return number


def parse_neuron(value: str) -> tuple[str, int]:
    """?neuron=layer:i → (layer name, neuron index); whether they exist is the model's to say."""
    layer, _, index = value.partition(":")
    if not layer or not index.isdecimal():
        raise ApiError(400, "invalid_parameter", f"neuron must look like hidden1:5 (layer:index), not {value!r}")
    return layer, int(index)


def parse_mode(mode) -> str:
    """The preprocessing mode, or 400 naming the valid ones (the one check of it, for /api and /v2 alike)."""
    if mode not in MODES:
        raise ApiError(400, "invalid_parameter", f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def _flag(args: Mapping[str, str], name: str) -> bool:
    value = args.get(name, "0").lower()
    if value not in ("0", "1", "true", "false", ""):
        raise ApiError(400, "invalid_parameter", f"{name} must be 1 or 0 (true or false), not {value!r}")
    return value in ("1", "true", "")


@dataclass
class Inputs:
    """The images of one request: encoded files or ready pixel arrays (exactly one of the two lists is used)."""

    files: list[bytes]
    pixels: np.ndarray | None  # (B, 28, 28) float32 in [0, 1], or None
    batch: bool  # answer with a list (several images, or a list in the JSON)

    def __len__(self) -> int:
        return len(self.files) if self.pixels is None else len(self.pixels)


def read_inputs(request: Request, limit: int) -> Inputs:
    """Find the images in a request, or raise ApiError naming what is wrong with it."""
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        inputs = _from_multipart(request)
    elif mimetype.startswith("image/"):
        inputs = Inputs([request.get_data()], None, batch=False)
    elif mimetype == "application/json" or mimetype.endswith("+json"):
        inputs = _from_json(request.get_data())
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send multipart/form-data, image/* or application/json, not {mimetype or 'a body without Content-Type'}",
        )
    if len(inputs) == 0:
        raise ApiError(400, "missing_image", "no image in the request")
    check_limit(len(inputs), limit)
    return inputs


def check_limit(count: int, limit: int) -> None:
    """413 when one request carries more images than the batch limit (here and in the V2 protocol)."""
    if count > limit:
        raise ApiError(413, "too_many_images", f"{count} images in one request; the limit is {limit}")


def _from_multipart(request: Request) -> Inputs:
    files = image_parts(request.get_data(), request.mimetype_params.get("boundary", ""))
    if not files:
        raise ApiError(400, "missing_image", "multipart request has no file field named 'image'")
    return Inputs(files, None, batch=len(files) > 1)


def image_parts(body: bytes, boundary: str) -> list[bytes]:
    """The contents of every field named 'image' in a multipart/form-data body (raises ApiError)."""
    files: list[list[bytes]] = []
    current: list[bytes] | None = None
    try:
        with PushMultipartParser(boundary, **PARSER_LIMITS) as parser:
            for event in chain(parser.parse(body), parser.parse(b"")):  # b"": the end of the body
                if isinstance(event, MultipartSegment):
                    current = [] if event.name == "image" else None  # a file field or not: its bytes are the image
                    files += [current] if current is not None else []
                elif event and current is not None:
                    current.append(bytes(event))
    except ParserLimitReached as exc:
        raise ApiError(413, "request_too_large", f"the multipart/form-data body is over a limit: {exc}") from None
    except (MultipartError, ValueError) as exc:
        raise ApiError(400, "invalid_multipart", f"the multipart/form-data body cannot be read: {exc}") from None
    return [b"".join(chunks) for chunks in files]


def _from_json(body: bytes) -> Inputs:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or ("image" in doc) == ("pixels" in doc):
        raise ApiError(400, "invalid_json", 'send an object with exactly one of "image" or "pixels"')
    if "image" in doc:
        return _from_base64(doc["image"])
    return _from_pixels(doc["pixels"])


def _from_base64(value) -> Inputs:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(item, str) for item in items):
        raise ApiError(400, "invalid_json", '"image" must be a base64 string or data URL, or a list of them')
    return Inputs([decode_base64(item) for item in items], None, batch=isinstance(value, list))


def decode_base64(text: str) -> bytes:
    """Bytes of a base64 string or a data URL (data:image/png;base64,…)."""
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        if not header.endswith(";base64"):
            raise ApiError(400, "invalid_base64", "a data URL must be base64-encoded (data:image/png;base64,…)")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(400, "invalid_base64", '"image" is not valid base64') from None


def _from_pixels(value) -> Inputs:
    try:
        arr = np.asarray(value) if isinstance(value, list) else np.empty(0, dtype=object)
    except (ValueError, TypeError):  # ragged rows
        arr = np.empty(0, dtype=object)
    if arr.dtype.kind not in "iuf":
        raise ApiError(400, "invalid_pixels", '"pixels" must be numbers: 784, 28 rows of 28, or a list of those')
    if arr.shape in ((INPUT_SIZE,), (INPUT_SIDE, INPUT_SIDE)):
        return Inputs([], scaled_pixels(arr.reshape(1, INPUT_SIDE, INPUT_SIDE), 255, '"pixels"'), batch=False)
    if arr.ndim == 2 and arr.shape[1] == INPUT_SIZE or arr.ndim == 3 and arr.shape[1:] == (INPUT_SIDE, INPUT_SIDE):
        return Inputs([], scaled_pixels(arr.reshape(-1, INPUT_SIDE, INPUT_SIDE), 255, '"pixels"'), batch=True)
    raise ApiError(
        400,
        "invalid_pixels",
        f'"pixels" has shape {list(arr.shape)}; send 784 numbers, 28 rows of 28, or a list of those',
    )


def scaled_pixels(images: np.ndarray, top: float, what: str) -> np.ndarray:
    """Intensities from 0 (background) to top (ink) → the network's 0–1 inputs, refusing what is not a pixel."""
    images = np.asarray(images, dtype=np.float64)
    if not np.isfinite(images).all():
        raise ApiError(400, "invalid_pixels", f"{what} contains NaN or Infinity")
    if images.min(initial=0) < 0 or images.max(initial=0) > top:
        raise ApiError(400, "invalid_pixels", f"{what} must lie between 0 (background) and {top:g} (ink)")
    return (images / top).astype(np.float32)
