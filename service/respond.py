"""Prediction → JSON: what /api/predict and the CLI answer, one dict per image, floats rounded to what matters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.errors import ApiError
from service.inference import Prediction
from service.preprocess import MODES

DECIMALS = 6  # probabilities and activations: float32 carries ~7 significant digits


@dataclass(frozen=True)
class Options:
    """What the caller asked to see beside the digit (query parameters of /api/predict, flags of the CLI)."""

    activations: bool = False
    top: int = 0
    input: bool = False
    mode: str = "auto"


def parse_options(args: Mapping[str, str], top_limit: int) -> Options:
    """Read ?activations=1&top=k&input=1&mode=raw, refusing values that mean nothing."""
    mode = args.get("mode", "auto")
    if mode not in MODES:
        raise ApiError(400, "invalid_parameter", f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    top = args.get("top", "0")
    if not top.isdecimal() or int(top) > top_limit:  # isdigit() would admit '²', which int() refuses
        raise ApiError(400, "invalid_parameter", f"top must be a whole number from 0 to {top_limit}, not {top!r}")
    return Options(_flag(args, "activations"), int(top), _flag(args, "input"), mode)


def _flag(args: Mapping[str, str], name: str) -> bool:
    value = args.get(name, "0").lower()
    if value not in ("0", "1", "true", "false", ""):
        raise ApiError(400, "invalid_parameter", f"{name} must be 1 or 0 (true or false), not {value!r}")
    return value in ("1", "true", "")


def rounded(x: np.ndarray) -> list:
    return np.round(x.astype(np.float64), DECIMALS).tolist()


def prediction_dicts(pred: Prediction, options: Options, inputs: list[dict] | None = None) -> list[dict[str, Any]]:
    """One answer per image: digit, confidence, probabilities, uncertain, checks; layers, top, input if asked."""
    probs = rounded(pred.probabilities)
    answers = [
        {"digit": int(d), "confidence": max(p), "probabilities": p, "uncertain": bool(u)}
        for d, p, u in zip(pred.digits, probs, pred.uncertain)
    ]
    for i, answer in enumerate(answers):
        if options.activations:
            answer["layers"] = _layers(pred, i)
        if options.top:
            answer["top"] = _top(pred, i)
        if options.input and inputs is not None:
            answer["input"] = inputs[i]
        if pred.checks:
            answer["checks"] = _checks(pred, i)
    return answers


def _checks(pred: Prediction, i: int) -> dict[str, dict[str, Any]]:
    return {
        c.name: {
            "score": round(float(c.score[i]), 4),
            "threshold": round(c.threshold, 4),
            "flagged": bool(c.flagged[i]),
        }
        for c in pred.checks
    }


def _layers(pred: Prediction, i: int) -> list[dict[str, Any]]:
    return [
        {
            "name": t.name,
            "size": int(t.a.shape[1]),
            "activation": t.activation,
            "z": rounded(t.z[i]),
            "a": rounded(t.a[i]),
        }
        for t in pred.layers
    ]


def _top(pred: Prediction, i: int) -> list[dict[str, Any]]:
    return [
        {
            "name": t.name,
            "neurons": [
                {"index": int(n), "a": a, "contribution": c}
                for n, a, c in zip(t.index[i], rounded(t.a[i]), rounded(t.contribution[i]))
            ],
        }
        for t in pred.top
    ]
