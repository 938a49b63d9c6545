"""Open Inference Protocol (KServe V2) REST bodies ↔ numpy, with the binary tensor data extension.

Binary extension: when the request carries ``Inference-Header-Content-Length: n``, the first n bytes of the body
are the JSON header and the rest is the raw data of each input whose ``parameters.binary_data_size`` is set,
in input order. Outputs asked for with ``parameters.binary_data: true`` (or all of them, with the request
parameter ``binary_data_output: true``) come back the same way. BYTES elements are 4-byte little-endian lengths
followed by the bytes; in JSON they are strings (here: base64 or data URLs of encoded images).
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from service.errors import ApiError
from service.inputs import decode_base64
from service.json_provider import dumps_bytes

DTYPES = {"FP32": np.dtype("<f4"), "UINT8": np.dtype("u1"), "INT64": np.dtype("<i8"), "BOOL": np.dtype("?")}
INPUT_TYPES = ("FP32", "UINT8", "BYTES")
HEADER = "Inference-Header-Content-Length"
MAX_DIM = 2**31


def _bad(message: str) -> ApiError:
    return ApiError(400, "invalid_inference_request", message)


@dataclass
class Tensor:
    """One named tensor: numpy data, or for BYTES a list of byte strings."""

    name: str
    datatype: str
    shape: list[int]
    data: Any
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class InferRequest:
    id: str | None
    inputs: list[Tensor]
    outputs: list[dict[str, Any]] | None  # requested outputs as sent: [{"name", "parameters"?}]
    parameters: dict[str, Any]


def parse_request(body: bytes, header_length: str | None) -> InferRequest:
    """Split header and binary part, and decode every input tensor."""
    size = _header_size(header_length, len(body))
    doc = _json_header(body[:size])
    inputs, offset = [], size
    for spec in _list(doc, "inputs", required=True):
        tensor, offset = _input(spec, body, offset)
        inputs.append(tensor)
    if offset != len(body):
        raise _bad(f"{len(body) - offset} bytes of binary data are not claimed by any input's binary_data_size")
    outputs = _list(doc, "outputs", required=False)
    for out in outputs or []:
        if (
            not isinstance(out, dict)
            or not isinstance(out.get("name"), str)
            or not isinstance(out.get("parameters", {}), dict)
        ):
            raise _bad('each requested output must be an object with a "name" (and optional "parameters" object)')
    request_id = doc.get("id")
    return InferRequest(str(request_id) if request_id is not None else None, inputs, outputs, _params(doc))


def _header_size(header_length: str | None, body_size: int) -> int:
    if header_length is None:
        return body_size
    if not header_length.isdecimal() or int(header_length) > body_size:
        raise _bad(f"{HEADER} must be a whole number no larger than the body ({body_size} bytes)")
    return int(header_length)


def _json_header(raw: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", f"the inference request header is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise _bad("the inference request must be a JSON object")
    return doc


def _list(doc: dict, key: str, required: bool) -> list | None:
    value = doc.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, list) or (required and not value):
        raise _bad(f'"{key}" must be a non-empty list')
    return value


def _params(doc: dict) -> dict[str, Any]:
    params = doc.get("parameters", {})
    if not isinstance(params, dict):
        raise _bad('"parameters" must be an object')
    return params


def _input(spec: Any, body: bytes, offset: int) -> tuple[Tensor, int]:
    """Decode one input from its JSON "data" or from its slice of the binary part."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise _bad('each input must be an object with "name", "shape", "datatype" and data')
    name, datatype, shape = spec["name"], spec.get("datatype"), spec.get("shape")
    if datatype not in INPUT_TYPES:
        raise _bad(f"input {name!r}: datatype must be FP32, UINT8 or BYTES, not {datatype!r}")
    if not isinstance(shape, list) or not all(_is_dim(d) for d in shape):
        raise _bad(f"input {name!r}: shape must be a list of non-negative integers")
    params = spec.get("parameters") or {}
    size = params.get("binary_data_size") if isinstance(params, dict) else None
    if size is None:
        return Tensor(name, datatype, shape, _json_data(name, datatype, shape, spec.get("data"))), offset
    if not isinstance(size, int) or size < 0 or offset + size > len(body):
        raise _bad(f"input {name!r}: binary_data_size {size!r} does not fit the {len(body) - offset} bytes left")
    return Tensor(
        name, datatype, shape, _binary_data(name, datatype, shape, body[offset : offset + size])
    ), offset + size


def _is_dim(d: Any) -> bool:
    return isinstance(d, int) and not isinstance(d, bool) and 0 <= d < MAX_DIM


def _count(shape: list[int]) -> int:
    return math.prod(shape)  # a Python int: no int64 wrap-around for huge declared shapes


def _json_data(name: str, datatype: str, shape: list[int], data: Any) -> Any:
    if not isinstance(data, list):
        raise _bad(f'input {name!r}: "data" must be a list (or use the binary extension)')
    flat = _flatten(data)
    if len(flat) != _count(shape):
        raise _bad(f"input {name!r}: shape {shape} needs {_count(shape)} elements, data has {len(flat)}")
    if datatype == "BYTES":
        if not all(isinstance(x, str) for x in flat):
            raise _bad(f"input {name!r}: BYTES data must be strings (base64 or data URLs of images)")
        return [decode_base64(x) for x in flat]
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in flat):
        raise _bad(f"input {name!r}: {datatype} data must be numbers")
    try:
        return np.asarray(flat, dtype=np.float64).reshape(shape)
    except (ValueError, OverflowError):
        raise _bad(f"input {name!r}: data does not fit shape {shape}") from None


def _flatten(data: list) -> list:
    """Row-major flattening of nested lists (V2 allows both flat and nested "data")."""
    out: list = []
    stack = [iter(data)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            out.append(item)
        else:
            stack.pop()
    return out


def _binary_data(name: str, datatype: str, shape: list[int], raw: bytes) -> Any:
    if datatype == "BYTES":
        return _unpack_bytes(name, raw, _count(shape))
    dtype = DTYPES[datatype]
    if len(raw) != _count(shape) * dtype.itemsize:
        raise _bad(
            f"input {name!r}: shape {shape} of {datatype} needs {_count(shape) * dtype.itemsize} bytes, "
            f"binary_data_size is {len(raw)}"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def _unpack_bytes(name: str, raw: bytes, count: int) -> list[bytes]:
    items, pos = [], 0
    while pos < len(raw):
        if pos + 4 > len(raw):
            raise _bad(f"input {name!r}: BYTES element length cut short")
        (n,) = struct.unpack_from("<I", raw, pos)
        if pos + 4 + n > len(raw):
            raise _bad(f"input {name!r}: BYTES element of {n} bytes runs past binary_data_size")
        items.append(raw[pos + 4 : pos + 4 + n])
        pos += 4 + n
    if len(items) != count:
        raise _bad(f"input {name!r}: shape says {count} BYTES elements, the data has {len(items)}")
    return items


def encode_response(head: dict[str, Any], outputs: list[Tensor], binary: list[bool]) -> tuple[bytes, int | None]:
    """The response body, and the JSON header's length when some outputs travel as binary (else None)."""
    blobs = []
    head = {**head, "outputs": []}
    for tensor, as_binary in zip(outputs, binary):
        entry = {"name": tensor.name, "datatype": tensor.datatype, "shape": tensor.shape}
        if as_binary:
            blob = np.ascontiguousarray(tensor.data, dtype=DTYPES[tensor.datatype]).tobytes()
            entry["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            entry["data"] = np.ascontiguousarray(tensor.data).reshape(-1)
        head["outputs"].append(entry)
    header = dumps_bytes(head)
    return header + b"".join(blobs), len(header) if blobs else None
