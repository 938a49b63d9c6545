"""Prometheus metrics: requests by route and status, latency, predictions by digit; /metrics exposes them.

Under the server (service/serve.py) every worker is its own process, so prometheus_client's multiprocess mode is
used: the launcher points PROMETHEUS_MULTIPROC_DIR at an empty folder before the app (and so this module) is
imported, each worker writes its samples there, and /metrics adds them up across workers.
"""

from __future__ import annotations

import os
import time

import numpy as np
from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("digits_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "digits_http_request_duration_seconds",
    "Time from request to response",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
PREDICTIONS = Counter("digits_predictions_total", "Images classified, by answer", ["digit", "uncertain"])

bp = Blueprint("metrics", __name__)
# The labelled series each request updates, looked up once (prometheus_client's labels() takes a lock and checks
# its arguments every call): predictions by digit · 2 + uncertain, requests by (method, route, status).
_PREDICTED = [PREDICTIONS.labels(str(key // 2), "true" if key % 2 else "false") for key in range(20)]
_ANSWERED: dict[tuple[str, str, int], tuple] = {}
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})  # any other is labelled "other":
# the labels are bounded by the app's routes and statuses, not by what methods a client makes up


def count_predictions(digits: np.ndarray, uncertain: np.ndarray) -> None:
    """Count each classified image under its digit and uncertainty flag."""
    if len(digits) == 1:  # the common case, without numpy's fixed costs
        _PREDICTED[int(digits[0]) * 2 + bool(uncertain[0])].inc()
        return
    counts = np.bincount(digits * 2 + uncertain.astype(int), minlength=20)  # (20,): digit × {sure, unsure}
    for key in np.flatnonzero(counts):
        _PREDICTED[key].inc(int(counts[key]))


def _start_timer() -> None:
    g.started = time.perf_counter()


def _record(response: Response) -> Response:
    req = request._get_current_object()  # once: each read through the proxy is a context lookup
    route = req.url_rule.rule if req.url_rule is not None else "unmatched"
    key = (req.method if req.method in METHODS else "other", route, response.status_code)
    if key not in _ANSWERED:  # once per method, route and status: labels() is a lookup under a lock
        _ANSWERED[key] = (REQUESTS.labels(key[0], route, str(response.status_code)), LATENCY.labels(route))
    count, latency = _ANSWERED[key]
    count.inc()
    started = g.get("started")
    if started is not None:
        latency.observe(time.perf_counter() - started)
    return response


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format, summed over every worker when running under the server (service/serve.py)."""
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Time and count every request the app answers, and serve /metrics."""
    app.before_request(_start_timer)
    app.after_request(_record)
    app.register_blueprint(bp)
