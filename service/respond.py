"""Prediction → our JSON: what /api/predict and `digits predict --json` answer, one dict per image, rounded.

Only the shape of the answer lives here; reading the request (images, options) is service.inputs, and the
prediction itself is service.handler.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from service.handler import Batch
from service.inference import Prediction
from service.inputs import Options
from service.json_provider import rounded
from service.ood import CheckResult
from service.png import png_data_url

PIXEL_DECIMALS = 4  # the input pixels shown back: 1/255 ≈ 0.0039


def prediction_dicts(batch: Batch, pred: Prediction, options: Options) -> list[dict[str, Any]]:
    """One answer per image: digit, confidence, probabilities, uncertain, checks; layers, top, input if asked."""
    probs = rounded(pred.probabilities)
    answers = [  # Python ints, floats and bools, each array converted once
        {"digit": d, "confidence": max(p), "probabilities": p, "uncertain": u}
        for d, p, u in zip(pred.digits.tolist(), probs, pred.uncertain.tolist())
    ]
    checks = _checks(pred.checks, len(answers))
    for i, answer in enumerate(answers):
        if options.activations:
            answer["layers"] = _layers(pred, i)
        if options.top:
            answer["top"] = _top(pred, i)
        if options.input:
            answer["input"] = _input(batch, i)
        if pred.checks:
            answer["checks"] = checks[i]
    return answers


def _input(batch: Batch, i: int) -> dict[str, Any]:
    """The 28×28 image the network saw, as a PNG and as numbers, and what preprocessing did."""
    pixels = batch.pixels[i]  # (28, 28)
    flat = np.round(pixels.reshape(-1).astype(np.float64), PIXEL_DECIMALS).tolist()  # (784,)
    return {"png": png_data_url(pixels), "pixels": flat, "report": batch.reports[i]}


def _checks(checks: list[CheckResult], n: int) -> list[dict[str, dict[str, Any]]]:
    """Each of n images' check scores, thresholds and flags (the arrays read once per batch, not once per image)."""
    columns = [(c.name, c.score.tolist(), round(c.threshold, 4), c.flagged.tolist()) for c in checks]
    return [
        {
            name: {"score": round(score[i], 4), "threshold": threshold, "flagged": flagged[i]}
            for name, score, threshold, flagged in columns
        }
        for i in range(n)
    ]


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
