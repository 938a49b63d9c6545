"""/api/predict, `digits predict --json` and /v2 infer take one request path: the same images, the same answers."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import tritonclient.http as tritonclient_http
from service_kit import live_server, png

from service.cli import main as cli

pytestmark = pytest.mark.slow  # the model trained on real MNIST (trained_weights)

N = 50


@pytest.fixture(scope="module")
def images(mnist, tmp_path_factory) -> tuple[np.ndarray, list[bytes], list[str]]:
    """The first 50 MNIST test digits as uint8 arrays, as PNG bytes, and as PNG files."""
    raw = mnist.test_x[:N].numpy()  # (50, 28, 28) uint8
    pngs = [png(img) for img in raw]
    folder = tmp_path_factory.mktemp("pngs")
    paths = []
    for i, data in enumerate(pngs):
        (folder / f"{i:02d}.png").write_bytes(data)
        paths.append(str(folder / f"{i:02d}.png"))
    return raw, pngs, paths


def _api(app, pngs: list[bytes], mode: str) -> list[dict]:
    files = [(io.BytesIO(data), f"{i}.png", "image/png") for i, data in enumerate(pngs)]
    response = app.test_client().post(f"/api/predict?mode={mode}", data={"image": files})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _cli(paths: list[str], weights, mode: str, capsys) -> list[dict]:
    assert cli(["predict", *paths, "--json", "--mode", mode, "--weights", str(weights)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _v2(app, tensor: tritonclient_http.InferInput, parameters: dict) -> tuple[np.ndarray, np.ndarray]:
    with live_server(app) as address:
        client = tritonclient_http.InferenceServerClient(address)
        result = client.infer("mnist-mlp", [tensor], parameters=parameters)
    return result.as_numpy("digit"), result.as_numpy("probabilities")


def _assert_same(answers: list[dict], digits: np.ndarray, probs: np.ndarray) -> None:
    assert [a["digit"] for a in answers] == digits.tolist()
    np.testing.assert_allclose([a["probabilities"] for a in answers], probs, atol=1e-6, rtol=0)


def test_raw_pixels_get_the_same_answer_on_every_path(trained_app, trained_weights, images, mnist, capsys):
    raw, pngs, paths = images
    api, local = _api(trained_app, pngs, "raw"), _cli(paths, trained_weights, "raw", capsys)
    tensor = tritonclient_http.InferInput("input", [N, 28, 28], "UINT8")
    tensor.set_data_from_numpy(raw, binary_data=True)
    digits, probs = _v2(trained_app, tensor, {})
    _assert_same(api, digits, probs)
    _assert_same(local, digits, probs)
    assert (digits == mnist.test_y[:N].numpy()).mean() >= 0.9  # a real model answering, not 50 equal guesses


def test_uploads_get_the_same_answer_on_every_path(trained_app, trained_weights, images, capsys):
    _, pngs, paths = images
    api, local = _api(trained_app, pngs, "auto"), _cli(paths, trained_weights, "auto", capsys)
    tensor = tritonclient_http.InferInput("input", [N], "BYTES")
    tensor.set_data_from_numpy(np.array(pngs, dtype=np.object_), binary_data=True)
    digits, probs = _v2(trained_app, tensor, {"mode": "auto"})
    _assert_same(api, digits, probs)
    _assert_same(local, digits, probs)
    assert [a["uncertain"] for a in api] == [a["uncertain"] for a in local]


def test_v2_flags_what_the_api_flags_when_asked_for_uncertain(trained_app, images):
    """V2 runs the out-of-distribution checks only for requests that ask for `uncertain`: then its flags are the
    API's, non-digit drawings included; without them the probabilities are the same."""
    from service_kit import not_digit_drawings

    pngs = images[1][:10] + list(not_digit_drawings().values())[:10]
    api = _api(trained_app, pngs, "auto")
    tensor = tritonclient_http.InferInput("input", [len(pngs)], "BYTES")
    tensor.set_data_from_numpy(np.array(pngs, dtype=np.object_), binary_data=True)
    outputs = [tritonclient_http.InferRequestedOutput(n) for n in ("probabilities", "uncertain")]
    with live_server(trained_app) as address:
        result = tritonclient_http.InferenceServerClient(address).infer("mnist-mlp", [tensor], outputs=outputs)
    assert result.as_numpy("uncertain").tolist() == [a["uncertain"] for a in api]
    assert any(any(c["flagged"] for c in a["checks"].values()) for a in api)  # the checks did flag something
    np.testing.assert_allclose(result.as_numpy("probabilities"), [a["probabilities"] for a in api], atol=1e-6)


def test_benchmarks_judge_as_the_service_does(trained_app, trained_weights, images, monkeypatch):
    """The benchmarks' predictor is a worker's: the same flags as the app, and the settings' environment applies."""
    from benchmarks.common import served_predictor

    pixels = images[0].astype(np.float32) / 255  # (50, 28, 28)
    served = trained_app.extensions["digits"].get().predictor.predict(pixels)
    default = served_predictor(trained_weights).predict(pixels)
    assert default.uncertain.tolist() == served.uncertain.tolist()
    monkeypatch.setenv("DIGITS_UNCERTAIN_BELOW", "0.999")
    strict = served_predictor(trained_weights).predict(pixels)
    expected = default.uncertain | (default.probabilities.max(axis=1) < 0.999)
    assert expected.sum() > default.uncertain.sum()  # the stricter threshold has something to flag
    assert strict.uncertain.tolist() == expected.tolist()
