"""KServe's Python ModelServer serving the same weights over the Open Inference Protocol (V2 REST).

    DIGITS_WEIGHTS=artifacts/model.safetensors PORT=8000 python -m benchmarks.others.kserve_app

POST /v2/models/mnist-mlp/infer with an FP32 [1, 784] tensor of pixels in [0, 1]; answers the probabilities.
KServe has no image preprocessing of its own, so it gets pixels; the service is measured with the same request.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer

from model import load_weights


class Digits(Model):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        torch.set_num_threads(1)
        self.model, _ = load_weights(os.environ.get("DIGITS_WEIGHTS", "artifacts/model.safetensors"))
        self.model.eval()
        self.ready = True

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        pixels = payload.inputs[0].as_numpy().astype(np.float32).reshape(-1, 784)  # (B, 784)
        with torch.inference_mode():
            probabilities = torch.softmax(self.model(torch.from_numpy(pixels)), dim=1).numpy()  # (B, 10)
        out = InferOutput("probabilities", list(probabilities.shape), "FP32", probabilities)
        return InferResponse(payload.id or "", self.name, [out])


if __name__ == "__main__":
    server = ModelServer(http_port=int(os.environ.get("PORT", "8000")), enable_grpc=False, workers=1)
    server.start([Digits("mnist-mlp")])
