"""The simplest Flask digit server worth the name: the yardstick for benchmarks/serve.py --compare.

    DIGITS_WEIGHTS=artifacts/model.safetensors gunicorn -w 2 -k sync benchmarks.baseline_flask:app

What a tutorial would write: one route, the service's own preprocessing call, the same weights, the forward pass
under inference mode, the digit and its probabilities as JSON. No out-of-distribution checks, no metrics, no
limits, no error handling beyond Flask's: everything the real service does on top of this is what it must pay
for and still be faster.
"""

from __future__ import annotations

import os

import torch
from flask import Flask, jsonify, request

from model import load_weights
from service.preprocess import preprocess

torch.set_num_threads(1)
model, _ = load_weights(os.environ.get("DIGITS_WEIGHTS", "artifacts/model.safetensors"))
model.eval()
app = Flask(__name__)


@app.post("/api/predict")
def predict():
    pixels = preprocess(request.files["image"].read()).pixels  # (28, 28) float32 in [0, 1]
    with torch.inference_mode():
        probabilities = torch.softmax(model(torch.from_numpy(pixels).reshape(1, -1)), dim=1)[0]
    digit = int(probabilities.argmax())
    return jsonify(digit=digit, confidence=float(probabilities[digit]), probabilities=probabilities.tolist())
