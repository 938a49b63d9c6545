"""create_app: settings → the model loaded once → blueprints → one JSON error handler."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping
from typing import Any
from weakref import WeakSet

from flask import Flask, Request, current_app, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException

from service import api, health, lessons, metrics, openapi, v2
from service.errors import ApiError
from service.json_provider import OrjsonProvider
from service.pages import bp as pages_bp
from service.registry import Registry
from service.settings import from_env

log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; raises StartupError (one line naming the file) when the default weights are missing or corrupt."""
    app = DigitsFlask(__name__)
    app.request_class = InMemoryRequest
    app.config.from_mapping(from_env())
    app.config.from_mapping(config or {})
    app.json = OrjsonProvider(app)  # keys stay in the order written: digit, confidence, probabilities…
    app.extensions["digits"] = Registry(app.config)
    for bp in (pages_bp, api.bp, lessons.bp, v2.bp, health.bp, openapi.bp):
        app.register_blueprint(bp)
    metrics.init_app(app)
    app.after_request(_drain_unread_body)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


class DigitsFlask(Flask):
    """Flask, asking once per view or hook whether it is a coroutine function (ensure_sync): Flask asks inspect
    every time it calls one, four times in a plain /api/predict. The plain functions are remembered weakly, so a
    per-request callback (Flask's after_this_request) is forgotten with its request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain: WeakSet[Callable] = WeakSet()

    def ensure_sync(self, func: Callable) -> Callable:
        try:
            if func in self._plain:
                return func
            synced = super().ensure_sync(func)
            if synced is func:
                self._plain.add(func)
            return synced
        except TypeError:  # a callable that takes no weak reference: asked every time, as Flask does
            return super().ensure_sync(func)


class QueryArgs(ImmutableMultiDict):
    """request.args and request.form: werkzeug's get() raises and catches a BadRequestKeyError (an HTTP exception,
    built with its description) for every name a request leaves out, five times in a plain /api/predict."""

    def get(self, key, default=None, type=None):
        return super().get(key, default, type) if key in self else default


class InMemoryRequest(Request):
    """Uploads stay in memory (MAX_CONTENT_LENGTH bounds them); werkzeug would spool files over 500 KB to disk.
    Absent query parameters cost a dict lookup (QueryArgs)."""

    parameter_storage_class = QueryArgs

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return io.BytesIO()


def _drain_unread_body(response):
    """Read what the view left of the body (e.g. after an error), so the kept-alive connection stays usable."""
    req = request._get_current_object()  # once: each read through the proxy is a context lookup
    length = req.content_length or 0
    if 0 < length <= current_app.config["MAX_CONTENT_LENGTH"]:
        req.stream.exhaust()
    return response  # a larger body is never read: the server closes that connection after the 413


def _api_error(err: ApiError):
    """The one place an error becomes JSON: {"error": {"code", "message"}} (V2 routes: {"error": message})."""
    body = {"error": err.message} if request.blueprint == v2.bp.name else err.to_dict()
    return body, err.status, err.headers


def _http_error(exc: HTTPException):
    """Werkzeug's 404, 405, 413… as ApiError, keeping headers such as Allow."""
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    if exc.code == 413:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        return _api_error(ApiError(413, "request_too_large", f"the request body is over the limit of {limit:,} bytes"))
    code = exc.name.lower().replace(" ", "_")
    return _api_error(ApiError(exc.code or 500, code, exc.description or exc.name, headers))


def _unexpected_error(exc: Exception):
    """A bug: log it with its traceback, answer a plain 500 without details."""
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _api_error(ApiError(500, "internal_error", "internal server error"))
