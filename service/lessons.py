"""How the network learns and why it answers: the training timeline, one step of backprop, attributions.

GET /api/history and /api/models/NAME/history list a model's snapshots; POST /api/teach takes one gradient-descent
step on a copy of the network for the drawing; POST /api/explain maps the answer back onto the pixels (Captum).
Teach and explain take one image, sent as to /api/predict, and ?model= / ?snapshot= as the other routes do.
"""

from __future__ import annotations

import numpy as np
from flask import Blueprint, current_app, request

from model import NUM_CLASSES
from service.api import chosen_model, registry
from service.errors import ApiError
from service.explain import METHODS, NEURON_ONLY, Question, explain
from service.handler import ModelHandler
from service.inputs import parse_float, parse_int, parse_mode, parse_neuron, read_inputs
from service.teach import Lesson, teach

bp = Blueprint("lessons", __name__, url_prefix="/api")

MAX_LR = 100.0  # large enough to show a step overshooting, small enough to stay finite
STEPS = (8, 1024, 128)  # integration steps: least, most, default (128 keeps completeness within 1 %)


@bp.get("/history")
def history():
    """The training timeline of ?model= (default: the default model)."""
    return _history(registry().get(request.args.get("model")))


@bp.get("/models/<name>/history")
def model_history(name: str):
    """The training timeline of the model NAME: its snapshots, step 0 first."""
    return _history(registry().get(name))


@bp.post("/teach")
def teach_step():
    """Loss, gradients and δ for ?target=D, and the probabilities after one SGD step of ?lr=η on a copy."""
    handler = chosen_model()
    lesson = Lesson(_digit("target", required=True), parse_float(request.args, "lr", 0, MAX_LR, 0.1), _neuron(handler))
    return teach(handler.model, _one_image(handler), lesson)


@bp.post("/explain")
def explain_answer():
    """Attributions of the answer (or ?target=D, or one ?neuron=layer:i) to the pixels: ?method=…"""
    handler = chosen_model()
    method = request.args.get("method", "integrated_gradients")
    if method not in METHODS:
        raise ApiError(400, "invalid_parameter", f"method must be one of {', '.join(METHODS)}, not {method!r}")
    neuron = _neuron(handler, hidden_only=True)
    if method in NEURON_ONLY and neuron is None:
        raise ApiError(400, "invalid_parameter", f"method {method} explains one neuron: add neuron=layer:i")
    pixels = _one_image(handler)
    target = _digit("target") if "target" in request.args else int(handler.predictor.predict(pixels[None]).digits[0])
    question = Question(method, target, parse_int(request.args, "steps", STEPS[0], STEPS[1], STEPS[2]), neuron)
    return explain(handler.model, pixels, question)


def _history(handler: ModelHandler) -> dict:
    return {"model": handler.name, "snapshots": handler.timeline.snapshots}


def _digit(name: str, required: bool = False) -> int:
    return parse_int(request.args, name, 0, NUM_CLASSES - 1, default=None if required else 0)


def _neuron(handler: ModelHandler, hidden_only: bool = False) -> tuple[int, int] | None:
    """?neuron=layer:i as (layer position, index), 404 when the model has no such neuron."""
    if "neuron" not in request.args:
        return None
    layer, index = parse_neuron(request.args["neuron"])
    pos = handler.neurons.index(layer, index)
    if hidden_only and pos == len(handler.model.hidden):
        raise ApiError(400, "invalid_parameter", "explain a hidden neuron (hidden1…); the output layer's are digits")
    return pos, index


def _one_image(handler: ModelHandler) -> np.ndarray:
    """The request's one image as the network's input (28, 28), preprocessed as /api/predict does it."""
    inputs = read_inputs(request, current_app.config["BATCH_LIMIT"])
    if len(inputs) != 1:
        raise ApiError(400, "one_image", f"send one image, not {len(inputs)}")
    return handler.preprocess(inputs, parse_mode(request.args.get("mode", "auto"))).pixels[0]
