"""One neuron up close: its incoming weights and bias, its outgoing weights, and the test images that excite it most."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file

from model import INPUT_SIDE, MLP
from service.errors import ApiError
from service.json_provider import rounded
from service.png import png_data_url, weights_png


class Neurons:
    """Every neuron's weights as numpy arrays, and the top-images table when training left one."""

    def __init__(self, model: MLP, top_images_path: Path | None = None) -> None:
        linears = [*model.hidden, model.output]
        self.names = model.layer_names
        self.pieces = [model.config.pieces] * len(model.hidden) + [1]
        self.weights = [layer.weight.detach().numpy().copy() for layer in linears]  # (n·k, n_in) each
        self.biases = [layer.bias.detach().numpy().copy() for layer in linears]
        self.top = _load_top(top_images_path)

    def index(self, layer: str, i: int) -> int:
        """Position of the layer, or 404 for an unknown layer or neuron."""
        if layer not in self.names:
            raise ApiError(404, "unknown_layer", f"no layer {layer!r}; layers are {', '.join(self.names)}")
        pos = self.names.index(layer)
        size = len(self.biases[pos]) // self.pieces[pos]
        if not 0 <= i < size:
            raise ApiError(404, "unknown_neuron", f"{layer} has neurons 0 to {size - 1}, not {i}")
        return pos

    def incoming(self, pos: int, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Weights (k, n_in) and biases (k,) of neuron i: k = 1 except for maxout's k linear pieces."""
        k = self.pieces[pos]
        return self.weights[pos][i * k : (i + 1) * k], self.biases[pos][i * k : (i + 1) * k]

    def describe(self, layer: str, i: int) -> dict[str, Any]:
        """The /api/layers/<layer>/neurons/<i> document."""
        pos = self.index(layer, i)
        w, b = self.incoming(pos, i)
        doc = {
            "layer": layer,
            "index": i,
            "pieces": self.pieces[pos],
            "weights": rounded(w[0]) if len(w) == 1 else rounded(w),
            "bias": rounded(b)[0] if len(b) == 1 else rounded(b),
            "outgoing": rounded(self.weights[pos + 1][:, i]) if pos + 1 < len(self.names) else None,
        }
        doc["top_images"] = self._top_images(layer, i)
        return doc

    def png(self, layer: str, i: int) -> bytes:
        """A first-layer neuron's incoming weights as a 28×28 PNG (maxout: its pieces side by side)."""
        pos = self.index(layer, i)
        if pos != 0:
            raise ApiError(400, "no_image", "only the first hidden layer's weights are a 28×28 image")
        w, _ = self.incoming(pos, i)
        return weights_png(np.hstack([row.reshape(INPUT_SIDE, INPUT_SIDE) for row in w]))

    def _top_images(self, layer: str, i: int) -> list[dict[str, Any]] | None:
        if self.top is None or f"{layer}.indices" not in self.top:
            return None
        rows = zip(self.top[f"{layer}.indices"][i], self.top[f"{layer}.values"][i], self.top[f"{layer}.test_index"][i])
        return [
            {"png": png_data_url(self.top["images"][j]), "activation": round(float(v), 6), "test_index": int(t)}
            for j, v, t in rows
        ]


def _load_top(path: Path | None) -> dict[str, np.ndarray] | None:
    """The top-images table, or None when the file is absent or unreadable (the page then shows no examples)."""
    if path is None or not path.is_file():
        return None
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError):
        return None
