"""LitServe serving the same weights: the multipart PNG in, the service's preprocessing, digit and probabilities out.

    DIGITS_WEIGHTS=artifacts/model.safetensors PORT=8000 python -m benchmarks.others.litserve_app

One inference worker on the CPU (LitServe's default), as its docs start; the HTTP side is its uvicorn.
"""

from __future__ import annotations

import os

import litserve as ls
import torch

from model import load_weights
from service.preprocess import preprocess


class DigitsAPI(ls.LitAPI):
    def setup(self, device):
        torch.set_num_threads(1)
        self.model, _ = load_weights(os.environ.get("DIGITS_WEIGHTS", "artifacts/model.safetensors"))
        self.model.eval()

    def decode_request(self, request):
        return preprocess(request["image"].file.read()).pixels  # (28, 28) float32 in [0, 1]

    def predict(self, pixels):
        with torch.inference_mode():
            return torch.softmax(self.model(torch.from_numpy(pixels).reshape(1, -1)), dim=1)[0]

    def encode_response(self, probabilities):
        digit = int(probabilities.argmax())
        return {"digit": digit, "confidence": float(probabilities[digit]), "probabilities": probabilities.tolist()}


if __name__ == "__main__":
    server = ls.LitServer(DigitsAPI(api_path="/api/predict"), accelerator="cpu")
    server.run(port=int(os.environ.get("PORT", "8000")), generate_client_file=False)
