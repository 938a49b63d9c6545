"""The JSON API under /api: predict, describe the model, show one neuron. Views parse, call one thing, return."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from service.errors import ApiError
from service.inputs import read_inputs
from service.metrics import count_predictions
from service.respond import parse_options
from service.served import ServedModel

bp = Blueprint("api", __name__, url_prefix="/api")


def served() -> ServedModel:
    return current_app.extensions["digits"]


@bp.post("/predict")
def predict():
    """Classify one image (or a batch): digit, confidence, probabilities, uncertain; more when asked."""
    options = parse_options(request.args, current_app.config["TOP_LIMIT"])
    inputs = read_inputs(request, current_app.config["BATCH_LIMIT"])
    answers, pred = served().answer(inputs, options)
    count_predictions(pred.digits, pred.uncertain)
    return jsonify(answers if inputs.batch else answers[0])


@bp.get("/model")
def model():
    """Architecture, training record, weights checksum and library versions."""
    return served().description


@bp.get("/layers/<layer>/neurons/<int:index>")
def neuron(layer: str, index: int):
    """One neuron's weights, bias, outgoing weights and top images; ?format=png: its weights as a 28×28 image."""
    if _format() == "png":
        return Response(served().neurons.png(layer, index), mimetype="image/png")
    return served().neurons.describe(layer, index)


def _format() -> str:
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "png"):
        raise ApiError(400, "invalid_parameter", f"format must be json or png, not {fmt!r}")
    return fmt
