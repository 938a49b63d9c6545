"""The real server as `make serve` runs it (python -m service.serve): metrics summed across its workers, a dead
worker replaced, clean start-up failure and shutdown."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from service_kit import one_stroke

from benchmarks.live_server import REPO, SERVE, free_port, server_env, start_server, stop, wait_ready
from service import serve


def samples(text: str, name: str) -> dict[tuple, float]:
    """{label items: value} of one metric's samples in Prometheus text."""
    return {
        tuple(sorted(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def _start(weights: Path, port: int, tmp_path: Path) -> subprocess.Popen:
    """The server with 2 workers and its metric files under tmp_path; fail with its output if it does not come up."""
    metrics = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    proc = start_server(weights, port, log=subprocess.PIPE, extra_env=metrics)
    try:
        wait_ready(port, proc, timeout=60)
    except RuntimeError as exc:
        stop(proc)  # the whole group has exited, so reading its output to the end cannot hang
        pytest.fail(f"{exc}\n{proc.stdout.read().decode()}")
    return proc


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


def test_made_up_methods_add_no_metric_series(client):
    """A client's invented HTTP methods are counted under "other", so they cannot grow the series without bound."""
    other = (("method", "other"), ("route", "unmatched"), ("status", "404"))
    before = samples(client.get("/metrics").data.decode(), "digits_http_requests_total")
    assert [client.open(f"/nowhere/{m}", method=m).status_code for m in ("BREW", "WHEN", "BREW")] == [404] * 3
    after = samples(client.get("/metrics").data.decode(), "digits_http_requests_total")
    assert after[other] - before.get(other, 0) == 3
    standard = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}
    assert {dict(key)["method"] for key in after} <= standard | {"other"}


def test_the_server_serves_and_sums_metrics_over_workers(tiny_weights, tmp_path):
    port = free_port()
    proc = _start(tiny_weights, port, tmp_path)
    try:
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
        stop(proc)


@pytest.mark.parametrize("content", [None, b"not weights"], ids=["missing", "corrupt"])
def test_the_server_refuses_to_start_without_good_weights(tmp_path, content):
    weights = tmp_path / "model.safetensors"
    if content is not None:
        weights.write_bytes(content)
    env = server_env(weights, free_port(), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    proc = subprocess.run(SERVE, cwd=REPO, env=env, capture_output=True, timeout=120)
    lines = proc.stderr.decode().strip().splitlines()
    assert proc.returncode != 0
    assert len(lines) == 1 and str(weights) in lines[0], lines


def children(pid: int) -> set[int]:
    """PIDs whose parent is PID (the server's workers)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return found


def policies(pids: set[int]) -> set[int]:
    """The scheduling policies of every thread of these processes."""
    return {os.sched_getscheduler(int(task.name)) for pid in pids for task in Path(f"/proc/{pid}/task").iterdir()}


def test_a_worker_that_dies_is_replaced_and_the_server_stops_cleanly(tiny_weights, tmp_path):
    port = free_port()
    proc = _start(tiny_weights, port, tmp_path)
    try:
        workers = children(proc.pid)
        assert len(workers) == 2, workers
        assert policies({proc.pid, *workers}) == {os.SCHED_BATCH}  # SCHED_BATCH's default: on, inherited
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (len(children(proc.pid)) < 2 or victim in children(proc.pid)):
            time.sleep(0.2)
        now = children(proc.pid)
        assert len(now) == 2 and victim not in now, f"worker {victim} killed; workers now {now}"
        assert policies(now) == {os.SCHED_BATCH}  # the new worker too
        assert [_request(port, "POST", "/api/predict", one_stroke(), "image/png")[0] for _ in range(10)] == [200] * 10
    finally:
        stop(proc)
    assert proc.returncode == 0, proc.stdout.read().decode()[-2000:]


@pytest.mark.parametrize(("setting", "policy"), [("on", "SCHED_BATCH"), ("off", "SCHED_OTHER")])
def test_batch_scheduling_follows_its_setting_and_is_inherited(setting, policy):
    script = (
        "import os, threading; from service.serve import batch_scheduling; from service.settings import "
        "SERVER_SETTINGS, from_env; batch_scheduling(from_env(SERVER_SETTINGS)['SCHED_BATCH']); t = threading.Thread("
        "target=lambda: print(os.sched_getscheduler(threading.get_native_id()))); t.start(); t.join()"
    )
    env = {**os.environ, "SCHED_BATCH": setting}
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert int(out.stdout) == getattr(os, policy)  # a thread started afterwards has it


def test_batch_scheduling_refused_is_a_warning_not_a_failure(monkeypatch, caplog):
    def refuse(*_):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    assert serve.batch_scheduling(True) is False
    assert "SCHED_BATCH refused" in caplog.text and "default policy" in caplog.text
    assert serve.batch_scheduling(False) is False
