"""The JSON API under /api: predict, the models served, one model's description, one neuron.

Views parse, call one thing, return. Every route takes ?model=NAME (default: the default model); predict and
neuron also take ?snapshot=K (the network at snapshot K of its training timeline).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from service.errors import ApiError
from service.handler import ModelHandler
from service.inputs import parse_int, parse_options, read_inputs
from service.registry import Registry
from service.respond import prediction_dicts

bp = Blueprint("api", __name__, url_prefix="/api")
ARCHITECTURE_FIELDS = (
    "hidden",
    "activation",
    "init",
    "dropout",
    "batch_norm",
    "leaky_alpha",
    "elu_alpha",
    "maxout_pieces",
)
MAX_SNAPSHOT = 100_000  # beyond any timeline; the real range is in the 404


def registry() -> Registry:
    return current_app.extensions["digits"]


def chosen_model() -> ModelHandler:
    """The model named by ?model= (default: the default one), as it was at ?snapshot=K of its training if asked."""
    args = request.args  # read through the proxy once
    handler = registry().get(args.get("model"))
    if "snapshot" in args:
        return handler.at_snapshot(parse_int(args, "snapshot", 0, MAX_SNAPSHOT))
    return handler


@bp.post("/predict")
def predict():
    """Classify one image (or a batch): digit, confidence, probabilities, uncertain; more when asked."""
    handler, req, config = chosen_model(), request._get_current_object(), current_app.config  # each proxy once
    options = parse_options(req.args, config["TOP_LIMIT"])
    inputs = read_inputs(req, config["BATCH_LIMIT"])
    answers = prediction_dicts(*handler.handle(inputs, options), options)
    return jsonify(answers if inputs.batch else answers[0])


@bp.get("/models")
def models():
    """Every model: name, architecture, accuracy, checksum, state; the default marked."""
    return {"default": registry().default_name, "models": [model_summary(e) for e in registry().entries]}


@bp.get("/model")
def model():
    """Architecture, training record, weights checksum and library versions."""
    return chosen_model().description


@bp.get("/layers/<layer>/neurons/<int:index>")
def neuron(layer: str, index: int):
    """One neuron's weights, bias, outgoing weights and top images; ?format=png: its weights as a 28×28 image."""
    neurons = chosen_model().neurons
    if _format() == "png":
        return Response(neurons.png(layer, index), mimetype="image/png")
    return neurons.describe(layer, index)


def model_summary(entry) -> dict:
    """One row of /api/models."""
    row = {"name": entry.name, "default": entry.default, "state": entry.state, "reason": entry.reason}
    if entry.handler is None:
        keys = ("version", "architecture", "parameters", "test_accuracy", "sha256", "created_at")
        return row | dict.fromkeys(keys) | {"history": False}
    doc = entry.handler.description
    arch = doc["architecture"]
    return row | {
        "version": entry.version,
        "architecture": {k: arch["config"][k] for k in ARCHITECTURE_FIELDS} | {"layer_sizes": arch["layer_sizes"]},
        "parameters": arch["parameters"],
        "test_accuracy": doc["training"].get("test_accuracy"),
        "sha256": doc["weights"]["sha256"],
        "created_at": doc["training"].get("created_at"),
        "history": entry.handler.timeline.path.is_file(),  # a training timeline to scrub through
    }


def _format() -> str:
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "png"):
        raise ApiError(400, "invalid_parameter", f"format must be json or png, not {fmt!r}")
    return fmt
