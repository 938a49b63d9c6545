"""The OpenAPI 3 description of the HTTP API (service/openapi.yaml), served as /openapi.json."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint

SPEC_PATH = Path(__file__).with_name("openapi.yaml")

bp = Blueprint("openapi", __name__)


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    """The spec as a dict, read once."""
    return yaml.safe_load(SPEC_PATH.read_text())


@bp.get("/openapi.json")
def openapi_json():
    """The OpenAPI 3 spec of every route this service answers."""
    return spec()
