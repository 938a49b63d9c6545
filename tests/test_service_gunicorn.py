"""The real server: gunicorn with the project's config, metrics summed across its workers, clean start-up failure."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service_fixtures import app, client, one_stroke  # noqa: F401  (fixtures)

REPO = Path(__file__).resolve().parent.parent
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "service/gunicorn_conf.py", "service.wsgi:app"]


def samples(text: str, name: str) -> dict[tuple, float]:
    """{label items: value} of one metric's samples in Prometheus text."""
    return {tuple(sorted(s.labels.items())): s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == name}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(weights: Path, port: int, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "DIGITS_WEIGHTS": str(weights), "PORT": str(port), "HOST": "127.0.0.1", "WORKERS": "2",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "PYTHONPATH": str(REPO)}


def _wait_ready(port: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not become ready")


def _request(port: int, method: str, path: str, body: bytes | None = None, ctype: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers={"Content-Type": ctype} if ctype else {})
    response = conn.getresponse()
    return response.status, response.read()


def test_metrics_count_requests_in_process(client):
    before = samples(client.get("/metrics").data.decode(), "digits_http_requests_total")
    key = (("method", "POST"), ("route", "/api/predict"), ("status", "200"))
    for _ in range(3):
        client.post("/api/predict", data=one_stroke(), content_type="image/png")
    client.post("/api/predict", data=b"", content_type="image/png")
    text = client.get("/metrics").data.decode()
    after = samples(text, "digits_http_requests_total")
    assert after[key] - before.get(key, 0) == 3
    bad = (("method", "POST"), ("route", "/api/predict"), ("status", "400"))
    assert after[bad] - before.get(bad, 0) == 1
    assert samples(text, "digits_http_request_duration_seconds_count")[(("route", "/api/predict"),)] >= 4
    assert sum(samples(text, "digits_predictions_total").values()) >= 3


def test_gunicorn_serves_and_sums_metrics_over_workers(tiny_weights, tmp_path):
    port = _free_port()
    proc = subprocess.Popen(GUNICORN, cwd=REPO, env=_env(tiny_weights, port, tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_ready(port, proc)
        statuses = [_request(port, "POST", "/api/predict", one_stroke(), "image/png")[0] for _ in range(20)]
        assert statuses == [200] * 20
        status, text = _request(port, "GET", "/metrics")
        key = (("method", "POST"), ("route", "/api/predict"), ("status", "200"))
        assert status == 200 and samples(text.decode(), "digits_http_requests_total")[key] == 20
        assert sum(samples(text.decode(), "digits_predictions_total").values()) == 20
        assert len(list((tmp_path / "metrics").glob("counter_*.db"))) >= 1
        status, body = _request(port, "GET", "/nowhere")
        assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("content", [None, b"not weights"], ids=["missing", "corrupt"])
def test_gunicorn_refuses_to_start_without_good_weights(tmp_path, content):
    weights = tmp_path / "model.safetensors"
    if content is not None:
        weights.write_bytes(content)
    proc = subprocess.run(GUNICORN, cwd=REPO, env=_env(weights, _free_port(), tmp_path), capture_output=True,
                          timeout=120)
    lines = proc.stderr.decode().strip().splitlines()
    assert proc.returncode != 0
    assert len(lines) == 1 and str(weights) in lines[0], lines
