"""Open Inference Protocol (KServe V2) over REST under /v2: health, metadata, infer, and the model repository.

Every served model is /v2/models/NAME, its one version the short hash of its weights (/versions/V). Input: one
tensor, FP32 in [0, 1] (the network's input) or UINT8 in 0–255, shaped [N, 784] or [N, 28, 28]; or BYTES [N] (or
[N, 1]) of encoded images, which go through the same preprocessing as /api/predict (request parameter "mode":
"auto" or "raw"). Requests take the same path as /api/predict (service.handler); only the answer's format
differs. Outputs: "probabilities" FP32 [N, 10] and "digit" INT64 [N] by default; also "uncertain" BOOL [N] and,
for every layer L (hidden1…, output), "L.z" and "L.a" FP32 [N, size]. POST /v2/repository/index lists the
models as Triton's model repository extension does.
"""

from __future__ import annotations

import numpy as np
from flask import Blueprint, Response, current_app, request

from model import INPUT_SIDE, INPUT_SIZE, NUM_CLASSES
from service.errors import ApiError
from service.handler import ModelHandler
from service.inference import Prediction
from service.inputs import Inputs, Options, check_limit, parse_mode, scaled_pixels
from service.v2_codec import HEADER, InferRequest, Tensor, encode_response, parse_request

bp = Blueprint("v2", __name__, url_prefix="/v2")

SERVER = {"name": "digits-mlp", "version": "0.1.0", "extensions": ["binary_tensor_data", "model_repository"]}
DEFAULT_OUTPUTS = ("probabilities", "digit")


def v2_model(name: str, version: str | None = None) -> ModelHandler:
    """The model served under this name (and version, if given), else 404."""
    handler = current_app.extensions["digits"].get(name)
    if version not in (None, handler.version):
        raise ApiError(404, "unknown_model", f"model {name!r} has version {handler.version!r}, not {version!r}")
    return handler


@bp.get("")
def server_metadata():
    return SERVER


@bp.get("/health/live")
def live():
    return {"live": True}


@bp.get("/health/ready")
def ready():
    return {"ready": True}


@bp.get("/models/<model_name>")
@bp.get("/models/<model_name>/versions/<model_version>")
def model_metadata(model_name: str, model_version: str | None = None):
    return metadata(v2_model(model_name, model_version))


@bp.get("/models/<model_name>/ready")
@bp.get("/models/<model_name>/versions/<model_version>/ready")
def model_ready(model_name: str, model_version: str | None = None):
    return {"name": v2_model(model_name, model_version).name, "ready": True}


@bp.post("/models/<model_name>/infer")
@bp.post("/models/<model_name>/versions/<model_version>/infer")
def infer(model_name: str, model_version: str | None = None):
    """Classify a batch of images sent as one tensor; answer the requested outputs, JSON or binary."""
    handler = v2_model(model_name, model_version)
    _refuse_encoded_body()
    req = parse_request(request.get_data(), request.headers.get(HEADER))
    names, binary = requested_outputs(req, handler)
    mode = parse_mode(req.parameters.get("mode", "auto"))
    # The out-of-distribution checks only change `uncertain`: a request that does not ask for it skips them.
    options = Options(activations=any("." in n for n in names), mode=mode, checks="uncertain" in names)
    _, pred = handler.handle(request_inputs(req, current_app.config["BATCH_LIMIT"]), options)
    head = {"model_name": handler.name, "model_version": handler.version} | (
        {"id": req.id} if req.id is not None else {}
    )
    body, header_size = encode_response(head, [output_tensor(pred, n) for n in names], binary)
    if header_size is None:
        return Response(body, mimetype="application/json")
    return Response(body, mimetype="application/octet-stream", headers={HEADER: str(header_size)})


@bp.post("/repository/index")
def repository_index():
    """Every model with its version and state (Triton's repository extension: READY or UNAVAILABLE)."""
    return [
        {
            "name": e.name,
            "version": e.version or "",
            "state": "READY" if e.state == "ready" else "UNAVAILABLE",
            "reason": e.reason or "",
        }
        for e in current_app.extensions["digits"].entries
    ]


def metadata(model: ModelHandler) -> dict:
    """Model metadata: name, versions, platform and every tensor the model takes and can return."""
    layers = [
        {"name": f"{t}.{part}", "datatype": "FP32", "shape": [-1, size]}
        for t, size in zip(model.model.layer_names, model.model.config.layer_sizes[1:])
        for part in "za"
    ]
    return {
        "name": model.name,
        "versions": [model.version],
        "platform": "pytorch",
        "inputs": [{"name": "input", "datatype": "FP32", "shape": [-1, INPUT_SIZE]}],
        "outputs": [
            {"name": "probabilities", "datatype": "FP32", "shape": [-1, NUM_CLASSES]},
            {"name": "digit", "datatype": "INT64", "shape": [-1]},
            {"name": "uncertain", "datatype": "BOOL", "shape": [-1]},
            *layers,
        ],
    }


def _refuse_encoded_body() -> None:
    encoding = request.headers.get("Content-Encoding", "identity").lower()
    if encoding != "identity":
        raise ApiError(415, "unsupported_media_type", f"Content-Encoding {encoding!r} is not supported; send identity")


def request_inputs(req: InferRequest, limit: int) -> Inputs:
    """The one input tensor → the request's images: encoded files (BYTES) or pixels (N, 28, 28) in [0, 1]."""
    if len(req.inputs) != 1:
        raise ApiError(400, "invalid_inference_request", f"send exactly one input tensor, not {len(req.inputs)}")
    tensor = req.inputs[0]
    check_limit(tensor.shape[0] if tensor.shape else 0, limit)
    if tensor.datatype == "BYTES":
        return Inputs(_encoded_images(tensor), None, batch=True)
    return Inputs([], _tensor_pixels(tensor), batch=True)


def _tensor_pixels(tensor: Tensor) -> np.ndarray:
    shape = tuple(tensor.shape)
    square = len(shape) == 3 and shape[1:] == (INPUT_SIDE, INPUT_SIDE)
    if not (len(shape) == 2 and shape[1] == INPUT_SIZE or square) or shape[0] == 0:
        raise ApiError(
            400,
            "invalid_inference_request",
            f"input shape must be [N, 784] or [N, 28, 28] with N ≥ 1, not {list(shape)}",
        )
    top = 1.0 if tensor.datatype == "FP32" else 255.0
    return scaled_pixels(tensor.data, top, f"{tensor.datatype} input").reshape(-1, INPUT_SIDE, INPUT_SIDE)


def _encoded_images(tensor: Tensor) -> list[bytes]:
    if len(tensor.shape) not in (1, 2) or tensor.shape[1:] not in ([], [1]) or tensor.shape[0] == 0:
        raise ApiError(400, "invalid_inference_request", f"BYTES input shape must be [N] or [N, 1], not {tensor.shape}")
    return list(tensor.data)


def requested_outputs(req: InferRequest, model: ModelHandler) -> tuple[list[str], list[bool]]:
    """Names of the outputs to return, and whether each goes back as binary data."""
    known = {o["name"] for o in metadata(model)["outputs"]}
    binary_default = bool(req.parameters.get("binary_data_output", False))
    if not req.outputs:
        return list(DEFAULT_OUTPUTS), [binary_default] * len(DEFAULT_OUTPUTS)
    names = [o["name"] for o in req.outputs]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ApiError(400, "unknown_output", f"unknown outputs {unknown}; this model has {sorted(known)}")
    return names, [bool((o.get("parameters") or {}).get("binary_data", binary_default)) for o in req.outputs]


def output_tensor(pred: Prediction, name: str) -> Tensor:
    """One named output of a prediction as a V2 tensor."""
    n = len(pred.digits)
    if name == "probabilities":
        return Tensor(name, "FP32", [n, NUM_CLASSES], pred.probabilities)
    if name == "digit":
        return Tensor(name, "INT64", [n], pred.digits.astype(np.int64))
    if name == "uncertain":
        return Tensor(name, "BOOL", [n], pred.uncertain)
    layer, part = name.rsplit(".", 1)
    trace = next(t for t in pred.layers if t.name == layer)
    values = trace.z if part == "z" else trace.a
    return Tensor(name, "FP32", list(values.shape), values)
