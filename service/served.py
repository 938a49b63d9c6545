"""ServedModel: the network loaded once at start-up, and the request path preprocess → infer → respond."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from model import WeightsError, load_weights
from model.files import TOP_IMAGES, beside
from service.inference import Prediction, Predictor
from service.inputs import Inputs
from service.neurons import Neurons
from service.ood import load_ood
from service.png import png_data_url
from service.preprocess import preprocess
from service.respond import Options, prediction_dicts
from service.weights_info import describe

log = logging.getLogger(__name__)


class StartupError(RuntimeError):
    """The service cannot start (e.g. missing or corrupt weights); its message is one line naming the cause."""


def make_predictor(model, weights_path: Path, info: Mapping[str, Any], config: Mapping[str, Any]) -> Predictor:
    """The predictor with the configured uncertainty rules, out-of-distribution checks included."""
    ood = load_ood(weights_path, model, info["sha256"], config["OOD_PERCENTILE"]) if config["OOD"] else None
    return Predictor(model, config["UNCERTAIN_BELOW"], config["UNCERTAIN_ENTROPY_ABOVE"], ood)


class ServedModel:
    """Everything the views need about the model, built once from the weights file."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        path = Path(config["WEIGHTS_PATH"])
        try:
            model, info = load_weights(path)
        except WeightsError as exc:
            raise StartupError(str(exc)) from None
        self.name = config["MODEL_NAME"]
        self.model = model
        self.predictor = make_predictor(model, path, info, config)
        self.neurons = Neurons(model, beside(path, TOP_IMAGES))
        self.description = describe(model, info, path, self.name)
        log.info("serving %s (%s, %d parameters)", path, model.config.layer_sizes, model.parameter_count())

    def answer(self, inputs: Inputs, options: Options) -> tuple[list[dict[str, Any]], Prediction]:
        """Preprocess the images, run the network once over the batch, and shape one answer per image."""
        if inputs.pixels is not None:
            pixels, shown = inputs.pixels, [_pixels_input(p) for p in inputs.pixels] if options.input else None
        else:
            prepped = [preprocess(data, mode=options.mode) for data in inputs.files]
            pixels = np.stack([p.pixels for p in prepped])  # (B, 28, 28)
            shown = [_prepped_input(p) for p in prepped] if options.input else None
        pred = self.predictor.predict(pixels, layers=options.activations, top=options.top)
        return prediction_dicts(pred, options, shown), pred


def _prepped_input(prepped) -> dict[str, Any]:
    return {"png": prepped.png_data_url(), "pixels": _pixel_list(prepped.pixels), "report": prepped.report}


def _pixels_input(pixels: np.ndarray) -> dict[str, Any]:
    return {"png": png_data_url(pixels), "pixels": _pixel_list(pixels), "report": {"source": "pixels"}}


def _pixel_list(pixels: np.ndarray) -> list[float]:
    return np.round(pixels.reshape(-1).astype(np.float64), 4).tolist()  # (784,)
