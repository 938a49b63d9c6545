"""Liveness and readiness probes: the process answers, and the model it serves is loaded."""

from __future__ import annotations

from flask import Blueprint, current_app

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is up and answering."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """The model is loaded and can answer predictions (create_app refuses to start without it)."""
    return {"status": "ready", "model": current_app.extensions["digits"].default_name}
