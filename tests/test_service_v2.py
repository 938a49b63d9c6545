"""Open Inference Protocol (KServe V2): a real client, tritonclient.http, against a live server on loopback."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch
import tritonclient.http as tritonclient_http  # a test dependency: the V2 client most platforms use
from service_kit import live_server, one_stroke
from tritonclient.utils import InferenceServerException

from model import load_weights

MODEL = "mnist-mlp"


@pytest.fixture
def triton(app):
    with live_server(app) as address:
        yield tritonclient_http.InferenceServerClient(address)


def _reference(weights, pixels: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Softmax and each layer's (z, a), computed with the model outside the service."""
    model, _ = load_weights(weights)
    with torch.no_grad():
        traces = model.trace(torch.from_numpy(pixels.reshape(len(pixels), -1)))
    return traces[-1].a.numpy(), [(t.z.numpy(), t.a.numpy()) for t in traces]


def _input(data: np.ndarray, datatype: str, binary: bool):
    tensor = tritonclient_http.InferInput("input", list(data.shape), datatype)
    tensor.set_data_from_numpy(data, binary_data=binary)
    return tensor


def test_health_and_metadata(triton):
    assert triton.is_server_live() and triton.is_server_ready() and triton.is_model_ready(MODEL)
    meta = triton.get_model_metadata(MODEL)
    assert meta["name"] == MODEL and meta["inputs"][0]["shape"] == [-1, 784]
    assert {"probabilities", "digit", "hidden1.a", "output.z"} <= {o["name"] for o in meta["outputs"]}
    assert "binary_tensor_data" in triton.get_server_metadata()["extensions"]
    assert not triton.is_model_ready("other-model")


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("shape", [(5, 784), (5, 28, 28)], ids=["flat", "square"])
def test_fp32_infer_matches_the_model(triton, tiny_weights, binary, shape):
    pixels = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    result = triton.infer(MODEL, [_input(pixels.reshape(shape), "FP32", binary)])  # outputs=None: all binary
    probs, _ = _reference(tiny_weights, pixels)
    np.testing.assert_allclose(result.as_numpy("probabilities"), probs, atol=1e-6)
    np.testing.assert_array_equal(result.as_numpy("digit"), probs.argmax(axis=1))


def test_uint8_input_and_requested_layer_outputs(triton, tiny_weights):
    raw = np.random.default_rng(1).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    outputs = [
        tritonclient_http.InferRequestedOutput("hidden1.a", binary_data=True),
        tritonclient_http.InferRequestedOutput("hidden1.z", binary_data=False),
        tritonclient_http.InferRequestedOutput("output.z", binary_data=True),
        tritonclient_http.InferRequestedOutput("uncertain", binary_data=True),
        tritonclient_http.InferRequestedOutput("digit", binary_data=False),
    ]
    result = triton.infer(MODEL, [_input(raw, "UINT8", True)], outputs=outputs, request_id="req-7")
    probs, layers = _reference(tiny_weights, raw.astype(np.float32) / 255)
    np.testing.assert_allclose(result.as_numpy("hidden1.a"), layers[0][1], atol=1e-6)
    np.testing.assert_allclose(result.as_numpy("hidden1.z"), layers[0][0], atol=1e-6)
    np.testing.assert_allclose(result.as_numpy("output.z"), layers[1][0], atol=1e-5)
    assert result.as_numpy("uncertain").dtype == np.bool_ and result.as_numpy("uncertain").shape == (3,)
    np.testing.assert_array_equal(result.as_numpy("digit"), probs.argmax(axis=1))
    response = result.get_response()
    assert response["id"] == "req-7" and {o["name"] for o in response["outputs"]} == {o.name() for o in outputs}
    assert result.as_numpy("probabilities") is None  # not asked for


def test_bytes_input_is_preprocessed_like_api_predict(triton, client):
    images = np.array([one_stroke(), one_stroke()], dtype=np.object_)
    tensor = tritonclient_http.InferInput("input", [2], "BYTES")
    tensor.set_data_from_numpy(images, binary_data=True)
    result = triton.infer(MODEL, [tensor])
    api = client.post("/api/predict", data=one_stroke(), content_type="image/png").get_json()
    np.testing.assert_allclose(result.as_numpy("probabilities")[0], api["probabilities"], atol=1e-6)


def test_infer_errors_reach_the_client_as_messages(triton, tiny_weights):
    with pytest.raises(InferenceServerException, match="unknown outputs"):
        triton.infer(
            MODEL,
            [_input(np.zeros((1, 784), np.float32), "FP32", True)],
            outputs=[tritonclient_http.InferRequestedOutput("nope")],
        )
    with pytest.raises(InferenceServerException, match=r"\[N, 784\]"):
        triton.infer(MODEL, [_input(np.zeros((1, 783), np.float32), "FP32", True)])
    with pytest.raises(InferenceServerException, match=r"between 0 \(background\) and 1 \(ink\)"):
        triton.infer(MODEL, [_input(np.full((1, 784), 2, np.float32), "FP32", False)])
    with pytest.raises(InferenceServerException, match="no model"):
        triton.infer("other-model", [_input(np.zeros((1, 784), np.float32), "FP32", True)])


def _post(client, doc: dict, binary: bytes = b"", **headers):
    header = json.dumps(doc).encode()
    if binary:
        headers["Inference-Header-Content-Length"] = str(len(header))
    return client.post(f"/v2/models/{MODEL}/infer", data=header + binary, headers=headers)


FP32_ONE = {"name": "input", "shape": [1, 784], "datatype": "FP32"}
BAD_INFER = [
    ("not json", None, b"", 400),
    ("no inputs", {"inputs": []}, b"", 400),
    ("two inputs", {"inputs": [FP32_ONE | {"data": [0] * 784}] * 2}, b"", 400),
    ("bad datatype", {"inputs": [FP32_ONE | {"datatype": "FP16", "data": [0] * 784}]}, b"", 400),
    ("bad shape", {"inputs": [FP32_ONE | {"shape": [1, -784], "data": [0] * 784}]}, b"", 400),
    ("huge shape", {"inputs": [FP32_ONE | {"shape": [2**40, 784], "data": [0]}]}, b"", 400),
    ("short data", {"inputs": [FP32_ONE | {"data": [0] * 783}]}, b"", 400),
    ("string data", {"inputs": [FP32_ONE | {"data": ["0"] * 784}]}, b"", 400),
    ("NaN data", {"inputs": [FP32_ONE | {"data": [float("nan")] * 784}]}, b"", 400),
    ("uint8 over 255", {"inputs": [FP32_ONE | {"datatype": "UINT8", "data": [256] * 784}]}, b"", 400),
    ("binary too short", {"inputs": [FP32_ONE | {"parameters": {"binary_data_size": 3136}}]}, b"\0" * 100, 400),
    ("binary wrong size", {"inputs": [FP32_ONE | {"parameters": {"binary_data_size": 100}}]}, b"\0" * 100, 400),
    ("unclaimed bytes", {"inputs": [FP32_ONE | {"data": [0] * 784}]}, b"\0" * 8, 400),
    (
        "bytes cut short",
        {"inputs": [{"name": "input", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 6}}]},
        struct.pack("<I", 10) + b"ab",
        400,
    ),
    (
        "bytes not an image",
        {"inputs": [{"name": "input", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 7}}]},
        struct.pack("<I", 3) + b"abc",
        415,
    ),
    (
        "bad output params",
        {"inputs": [FP32_ONE | {"data": [0] * 784}], "outputs": [{"name": "digit", "parameters": []}]},
        b"",
        400,
    ),
    ("bad parameters", {"inputs": [FP32_ONE | {"data": [0] * 784}], "parameters": 5}, b"", 400),
    (
        "shape whose product wraps int64",
        {"inputs": [FP32_ONE | {"shape": [65536] * 4, "parameters": {"binary_data_size": 0}}]},
        b"\0",
        400,
    ),
]


@pytest.mark.parametrize("what, doc, binary, status", BAD_INFER, ids=[b[0] for b in BAD_INFER])
def test_bad_infer_requests_are_v2_errors(client, what, doc, binary, status):
    r = _post(client, doc, binary) if doc is not None else client.post(f"/v2/models/{MODEL}/infer", data=b"{")
    assert r.status_code == status, r.get_json()
    assert isinstance(r.get_json()["error"], str) and r.get_json()["error"]


def test_header_length_must_be_ascii_digits(client):
    header = json.dumps({"inputs": [FP32_ONE | {"data": [0] * 784}]}).encode()
    r = client.post(f"/v2/models/{MODEL}/infer", data=header, headers={"Inference-Header-Content-Length": "²"})
    assert r.status_code == 400 and isinstance(r.get_json()["error"], str)


def test_batch_limit_applies_to_tensors(tiny_weights):
    from service import create_app

    client = create_app({"WEIGHTS_PATH": str(tiny_weights), "BATCH_LIMIT": 2}).test_client()
    r = _post(client, {"inputs": [FP32_ONE | {"shape": [3, 784], "data": [0] * 3 * 784}]})
    assert r.status_code == 413
