"""Flask's JSON answers through orjson: activations are thousands of floats, and orjson writes them ~10× faster."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
DECIMALS = 6  # probabilities, activations and weights: float32 carries ~7 significant digits


def rounded(x: np.ndarray) -> list:
    """Floats as a (nested) list rounded to DECIMALS, so answers carry no digits float32 does not have."""
    return np.asarray(x, dtype=np.float64).round(DECIMALS).tolist()  # the method: np.round is a wrapper of it


def dumps_bytes(obj: Any) -> bytes:
    """Compact JSON; NaN and Infinity become null (JSON has neither), numpy arrays and scalars are numbers."""
    return orjson.dumps(obj, default=_fallback, option=OPTIONS)


def _fallback(obj: Any) -> Any:
    return DefaultJSONProvider.default(obj)  # dataclasses, dates, UUIDs… as Flask would write them


class OrjsonProvider(DefaultJSONProvider):
    """Flask's provider with orjson doing the writing; reading stays with the standard library."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return dumps_bytes(obj).decode()

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(dumps_bytes(obj), mimetype=self.mimetype)
