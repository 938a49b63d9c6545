"""Several models served at once: the models folder, ?model=, /api/models, V2 versions, and reloads from disk."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from service_kit import one_stroke

from benchmarks.live_server import free_port, start_server, stop, wait_ready
from model import MLP, MLPConfig, save_weights
from model.files import WEIGHTS
from service import create_app


def random_model(seed: int, **config) -> MLP:
    torch.manual_seed(seed)
    return MLP(MLPConfig(hidden=(8,), **config)).eval()


def put_model(folder: Path, name: str, model: MLP, accuracy: float = 0.5) -> Path:
    """Save a model as folder/NAME/model.safetensors, the way training does."""
    return save_weights(folder / name / WEIGHTS, model, {"test_accuracy": accuracy, "epochs": 0})


def probabilities(model: MLP, pixels: np.ndarray) -> np.ndarray:
    """Softmax of the model run directly on (B, 784) pixels in [0, 1], outside the service."""
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(pixels)), dim=1).numpy()


PIXELS = np.random.default_rng(0).integers(0, 256, (2, 784)).astype(np.float32)


def predict(client, model: str | None = None):
    query = f"?model={model}" if model else ""
    return client.post(f"/api/predict{query}", json={"pixels": PIXELS.tolist()})


@pytest.fixture
def folder(tmp_path) -> Path:
    path = tmp_path / "models"
    put_model(path, "sigmoid", random_model(1, activation="sigmoid"), accuracy=0.3)
    put_model(path, "tanh", random_model(2, activation="tanh"))
    return path


@pytest.fixture
def zoo_client(tiny_weights, folder):
    app = create_app({"WEIGHTS_PATH": str(tiny_weights), "MODELS_DIR": str(folder), "RELOAD_SECONDS": 0.001})
    return app.test_client()


def test_models_lists_the_default_first_then_the_folder(zoo_client, folder):
    body = zoo_client.get("/api/models").get_json()
    assert body["default"] == "mnist-mlp"
    assert [m["name"] for m in body["models"]] == ["mnist-mlp", "sigmoid", "tanh"]
    sigmoid = body["models"][1]
    assert sigmoid["state"] == "ready" and sigmoid["default"] is False and sigmoid["test_accuracy"] == 0.3
    assert sigmoid["history"] is False  # no history.safetensors beside it
    assert sigmoid["architecture"]["activation"] == "sigmoid" and sigmoid["architecture"]["hidden"] == [8]
    assert sigmoid["architecture"]["leaky_alpha"] == 0.01 and sigmoid["architecture"]["maxout_pieces"] == 2
    assert sigmoid["parameters"] == 784 * 8 + 8 + 8 * 10 + 10
    digest = __import__("hashlib").sha256((folder / "sigmoid" / WEIGHTS).read_bytes()).hexdigest()
    assert sigmoid["sha256"] == digest and sigmoid["version"] == digest[:12]


def test_each_model_answers_with_its_own_weights(zoo_client, folder, tiny_weights):
    for name, seed, activation in (("sigmoid", 1, "sigmoid"), ("tanh", 2, "tanh")):
        got = np.array([a["probabilities"] for a in predict(zoo_client, name).get_json()])
        np.testing.assert_allclose(
            got, probabilities(random_model(seed, activation=activation), PIXELS / 255), atol=1e-6
        )
    assert zoo_client.get("/api/model?model=tanh").get_json()["architecture"]["activation"] == "tanh"
    neuron = zoo_client.get("/api/layers/hidden1/neurons/3?model=sigmoid").get_json()
    np.testing.assert_allclose(
        neuron["weights"], random_model(1, activation="sigmoid").hidden[0].weight[3].detach(), atol=1e-6
    )


def test_an_unknown_model_is_404_naming_the_models(zoo_client):
    for response in (predict(zoo_client, "nope"), zoo_client.get("/api/model?model=nope")):
        assert response.status_code == 404
        error = response.get_json()["error"]
        assert error["code"] == "unknown_model" and "mnist-mlp, sigmoid, tanh" in error["message"]


def test_a_file_that_does_not_load_is_listed_as_failed_with_its_reason(tiny_weights, folder):
    (folder / "broken").mkdir()
    (folder / "broken" / WEIGHTS).write_bytes(b"not weights")
    client = create_app({"WEIGHTS_PATH": str(tiny_weights), "MODELS_DIR": str(folder)}).test_client()
    broken = next(m for m in client.get("/api/models").get_json()["models"] if m["name"] == "broken")
    assert broken["state"] == "failed" and "broken" in broken["reason"] and broken["version"] is None
    assert predict(client, "broken").status_code == 404 and predict(client, "tanh").status_code == 200


def test_new_replaced_broken_and_removed_files_are_followed(zoo_client, folder):
    put_model(folder, "fresh", random_model(3))
    assert predict(zoo_client, "fresh").status_code == 200  # added: served on the next request
    before = predict(zoo_client, "tanh").get_json()
    path = put_model(folder, "tanh", random_model(4, activation="tanh"))  # replaced
    after = predict(zoo_client, "tanh").get_json()
    np.testing.assert_allclose(
        [a["probabilities"] for a in after], probabilities(random_model(4, activation="tanh"), PIXELS / 255), atol=1e-6
    )
    assert after != before
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # half-written: never replaces the working model
    row = next(m for m in zoo_client.get("/api/models").get_json()["models"] if m["name"] == "tanh")
    assert row["state"] == "failed" and "still serving the previous weights" in row["reason"]
    assert predict(zoo_client, "tanh").get_json() == after
    path.write_bytes(good)  # finished writing: ready again
    assert (
        next(m for m in zoo_client.get("/api/models").get_json()["models"] if m["name"] == "tanh")["state"] == "ready"
    )
    os.remove(path)  # removed: no longer served
    assert predict(zoo_client, "tanh").status_code == 404


def test_v2_serves_every_model_under_its_weights_hash(zoo_client):
    rows = zoo_client.post("/v2/repository/index").get_json()
    assert [(r["name"], r["state"]) for r in rows] == [("mnist-mlp", "READY"), ("sigmoid", "READY"), ("tanh", "READY")]
    version = rows[1]["version"]
    meta = zoo_client.get("/v2/models/sigmoid").get_json()
    assert meta["versions"] == [version] and len(version) == 12
    body = {"inputs": [{"name": "input", "shape": [2, 784], "datatype": "UINT8", "data": PIXELS.astype(int).tolist()}]}
    answer = zoo_client.post(f"/v2/models/sigmoid/versions/{version}/infer", json=body).get_json()
    assert answer["model_version"] == version
    probs = next(o for o in answer["outputs"] if o["name"] == "probabilities")["data"]
    np.testing.assert_allclose(
        np.reshape(probs, (2, 10)), probabilities(random_model(1, activation="sigmoid"), PIXELS / 255), atol=1e-6
    )
    assert zoo_client.get("/v2/models/sigmoid/versions/000000000000").status_code == 404


def _post(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=one_stroke(), headers={"Content-Type": "image/png"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _row(port: int, name: str) -> dict | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/models")
    rows = json.loads(conn.getresponse().read())["models"]
    conn.close()
    return next((r for r in rows if r["name"] == name), None)


def _until(condition, timeout: float = 10.0) -> float:
    """Seconds until condition() held (asked every 0.1 s); fails the test after TIMEOUT."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "not picked up within 10 s"
        time.sleep(0.1)
    return time.monotonic() - start


@pytest.mark.slow
def test_hot_reload_under_the_server_with_requests_running(tiny_weights, folder, tmp_path):
    """Add, replace, corrupt and remove weights under the live server (2 workers) while clients keep asking."""
    port = free_port()
    env = {"DIGITS_MODELS": str(folder), "DIGITS_RELOAD_SECONDS": "1", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "m")}
    proc = start_server(tiny_weights, port, extra_env=env)
    statuses: dict[str, list[int]] = {"default": [], "fresh": []}
    done = threading.Event()

    def ask(name: str, path: str) -> None:
        while not done.is_set():
            try:
                statuses[name].append(_post(port, path))
            except OSError as exc:  # a dropped connection counts as an error
                statuses[name].append(repr(exc))

    try:
        wait_ready(port, proc)
        threads = [
            threading.Thread(target=ask, args=a)
            for a in (("default", "/api/predict"), ("fresh", "/api/predict?model=fresh"))
        ]
        for t in threads:
            t.start()
        path = put_model(folder, "fresh", random_model(5))
        _until(lambda: _row(port, "fresh") is not None)
        first = _row(port, "fresh")["version"]
        put_model(folder, "fresh", random_model(6))
        _until(lambda: (_row(port, "fresh") or {}).get("version") not in (None, first))
        second = _row(port, "fresh")["version"]
        path.write_bytes(b"\0" * 100)  # corrupt
        _until(lambda: _row(port, "fresh")["state"] == "failed")
        assert _row(port, "fresh")["version"] == second  # still serving the last good weights
        os.remove(path)
        _until(lambda: _row(port, "fresh") is None)
        time.sleep(2.5)  # both workers past their next rescan
        done.set()
        for t in threads:
            t.join(timeout=20)
        assert statuses["default"] and set(statuses["default"]) == {200}  # 0 errors while the folder changed
        assert set(statuses["fresh"]) <= {200, 404} and 200 in statuses["fresh"]
        assert statuses["fresh"][-1] == 404  # removed everywhere
    finally:
        done.set()
        stop(proc)
