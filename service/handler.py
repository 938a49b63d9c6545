"""ModelHandler: one served network and the one request path that /api, /v2 and `digits predict` all take.

The steps are TorchServe's handler without its weight: ``from_weights`` (initialise: load the weights and what
training left beside them, once) → ``preprocess`` (uploads → the network's 28×28 inputs) → ``inference``
(digits, probabilities, and what the caller asked to see). ``handle`` runs both steps and counts the answers.
Only the format of the answer differs between callers: our JSON (service.respond), Open Inference Protocol
tensors (service.v2), or a line of text (service.cli).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model import MLP, load_weights
from model.files import HISTORY, TOP_IMAGES, beside
from service.inference import Prediction, Predictor
from service.inputs import Inputs, Options
from service.metrics import count_predictions
from service.neurons import Neurons
from service.ood import load_ood
from service.preprocess import preprocess_all
from service.timeline import Timeline
from service.weights_info import describe

log = logging.getLogger(__name__)


@dataclass
class Batch:
    """A request's images as the network's inputs, with an account of how each was made."""

    pixels: np.ndarray  # (B, 28, 28) float32 in [0, 1], 0 = background, 1 = ink
    reports: list[dict[str, Any]]  # per image: what preprocessing did (or {"source": "pixels"})


class ModelHandler:
    """One network, loaded once, and the steps every request goes through."""

    def __init__(
        self,
        name: str,
        model: MLP,
        predictor: Predictor,
        neurons: Neurons,
        description: dict,
        timeline: Timeline,
        max_pixels: int,
    ) -> None:
        self.name, self.model, self.predictor = name, model, predictor
        self.neurons, self.description, self.timeline = neurons, description, timeline
        self.max_pixels = max_pixels  # the largest image it decodes (settings' MAX_PIXELS)

    @classmethod
    def from_weights(cls, path: str | Path, name: str, config: Mapping[str, Any]) -> ModelHandler:
        """Initialise from a weights file and the files beside it (raises model.WeightsError)."""
        path = Path(path)
        model, info = load_weights(path)
        ood = load_ood(path, model, info["sha256"], config["OOD_PERCENTILE"]) if config["OOD"] else None
        predictor = Predictor(model, config["UNCERTAIN_BELOW"], config["UNCERTAIN_ENTROPY_ABOVE"], ood)
        log.info("serving %s as %s (%s, %d parameters)", path, name, model.config.layer_sizes, model.parameter_count())
        neurons, timeline = Neurons(model, beside(path, TOP_IMAGES)), Timeline(beside(path, HISTORY), model)
        return cls(name, model, predictor, neurons, describe(model, info, path, name), timeline, config["MAX_PIXELS"])

    def at_snapshot(self, k: int) -> ModelHandler:
        """This model as it was at snapshot k of its training (no out-of-distribution checks: they describe the
        final weights); 404 when there is no such snapshot."""
        net = self.timeline.network(k)
        predictor = Predictor(net, self.predictor.uncertain_below, self.predictor.entropy_above, None)
        return ModelHandler(self.name, net, predictor, Neurons(net), self.description, self.timeline, self.max_pixels)

    @property
    def version(self) -> str:
        """A stable short hash of the weights: the first 12 hex digits of the file's sha256."""
        return self.description["weights"]["sha256"][:12]

    def preprocess(self, inputs: Inputs, mode: str) -> Batch:
        """Encoded images → normalised 28×28 inputs (raises ApiError); pixel arrays pass as they are."""
        if inputs.pixels is not None:
            return Batch(inputs.pixels, [{"source": "pixels"} for _ in inputs.pixels])
        prepped = preprocess_all(inputs.files, mode, self.max_pixels)
        pixels = prepped[0].pixels[None] if len(prepped) == 1 else np.stack([p.pixels for p in prepped])
        return Batch(pixels, [p.report for p in prepped])  # (B, 28, 28)

    def inference(self, batch: Batch, options: Options) -> Prediction:
        """Run the network once over the batch."""
        return self.predictor.predict(batch.pixels, layers=options.activations, top=options.top, checks=options.checks)

    def handle(self, inputs: Inputs, options: Options) -> tuple[Batch, Prediction]:
        """Preprocess → inference, counting every answer in the metrics."""
        batch = self.preprocess(inputs, options.mode)
        prediction = self.inference(batch, options)
        count_predictions(prediction.digits, prediction.uncertain)
        return batch, prediction
