"""FrozenMLP: a trained MLP's forward pass in numpy, for serving. Same z and a as MLP.trace in eval mode.

Why a second forward pass: serving answers one image at a time, and for a batch of one torch's per-operation
dispatch costs more than the arithmetic. On the 2-core serving machine, the network and the out-of-distribution
checks took 0.85 ms per image through torch and 0.18 ms through numpy (docs/serving.md has the measurement).
Training, teaching and attributions need autograd and keep using MLP itself; tests/test_frozen.py checks that both
give the same numbers for every activation, batch norm and depth. Each layer's weights are kept transposed, one
row per input (model/products.py reads only the rows an image needs): a copy made once, so the model must not
change after its FrozenMLP is made (served models never do; a snapshot or a taught copy gets its own).

Riders: matrices that other computations multiply a layer's input by (the out-of-distribution checks multiply the
pixels, the first layer's input, and the last hidden layer's activations, the output layer's input). They are
appended to that layer's rows as extra columns, so one image's rows are found and read once for both, in one
product (model/products.py; a batch takes two dense products as before): `trace_riding` gives the traces and those
products (docs/serving.md has what it saves).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from model.config import MLPConfig
from model.mlp import MLP, LayerTrace
from model.products import product, split_product

Activation = Callable[[np.ndarray], np.ndarray]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0, -z))  # 1 / (1 + e^-z), without overflow for large |z|


def _elu(alpha: float) -> Activation:
    return lambda z: np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0)))


NUMPY_ACTIVATIONS: dict[str, Callable[[MLPConfig], Activation]] = {
    "relu": lambda cfg: lambda z: np.maximum(z, 0),
    "sigmoid": lambda cfg: _sigmoid,
    "tanh": lambda cfg: np.tanh,
    "leaky_relu": lambda cfg: lambda z: np.where(z > 0, z, np.float32(cfg.leaky_alpha) * z),
    "elu": lambda cfg: _elu(cfg.elu_alpha),
    "maxout": lambda cfg: lambda pieces: pieces.max(axis=-1),  # (B, n, k) -> (B, n)
}


def softmax(logits: np.ndarray) -> np.ndarray:
    """Probabilities (B, 10) from logits (B, 10)."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class FrozenMLP:
    """The network of an MLP in eval mode, in numpy: trace(x) → every layer's z and a; trace_riding(x) → also what
    the riders (per layer, by index: 0 the first hidden layer, -1 the output layer) make of that layer's input."""

    def __init__(self, model: MLP, riders: Mapping[int, np.ndarray] | None = None) -> None:
        model.eval()  # dropout off, batch norm on its running statistics
        self.config, self.names = model.config, model.layer_names
        linears = [*model.hidden, model.output]
        keys = {i % len(linears): i for i in riders or {}}  # layer → the rider's key, as given
        self.keys = [keys.get(i) for i in range(len(linears))]
        self.fused = [None if k is None else _fused(lin.weight, riders[k]) for lin, k in zip(linears, self.keys)]
        self.layers = [  # (Wᵀ, b): for a layer with a rider, a view of its fused rows' first columns
            (_rows(lin.weight) if fused is None else fused[:, : lin.out_features], _array(lin.bias))
            for lin, fused in zip(linears, self.fused)
        ]
        self.norms = [_affine(norm) for norm in model.norms]
        self.f = NUMPY_ACTIVATIONS[model.config.activation](model.config)

    def trace(self, x: np.ndarray) -> list[LayerTrace]:
        """Every layer's z and a (numpy) for pixels x (B, 784) float32; the output layer's a is the softmax."""
        return self._run(x, None)

    def trace_riding(self, x: np.ndarray) -> tuple[list[LayerTrace], dict[int, np.ndarray]]:
        """trace(x), and each rider's product with its layer's input (B, m), under the rider's key."""
        rides: dict[int, np.ndarray] = {}
        return self._run(x, rides), rides

    def _run(self, x: np.ndarray, rides: dict[int, np.ndarray] | None) -> list[LayerTrace]:
        a, traces = x.reshape(len(x), -1), []  # (B, 784)
        for i, (norm, name) in enumerate(zip(self.norms, self.names)):
            z = self._z(i, a, rides)  # (B, n·k)
            pieces = self._pieces(z if norm is None else z * norm[0] + norm[1])  # (B, n) or (B, n, k)
            a = self.f(pieces)  # (B, n)
            traces.append(LayerTrace(name, self.config.activation, self._shown_z(z, pieces), a))
        logits = self._z(len(self.layers) - 1, a, rides)  # (B, 10)
        return [*traces, LayerTrace("output", "softmax", logits, softmax(logits))]

    def _z(self, i: int, a: np.ndarray, rides: dict[int, np.ndarray] | None) -> np.ndarray:
        """Layer i's w·x + b for its input a; with rides, its rider's product too, from the same rows."""
        w, b = self.layers[i]
        if rides is None or self.keys[i] is None:
            return product(a, w) + b
        z, rides[self.keys[i]] = split_product(a, self.fused[i], w.shape[1])  # (B, n), (B, m)
        return z + b

    def _pieces(self, z: np.ndarray) -> np.ndarray:
        k = self.config.pieces
        return z if k == 1 else z.reshape(len(z), -1, k)

    def _shown_z(self, z: np.ndarray, pieces: np.ndarray) -> np.ndarray:
        """w·x + b per neuron; for maxout the winning piece's (as MLP.trace reports it)."""
        if self.config.pieces == 1:
            return z
        winner = pieces.argmax(axis=-1)[..., None]  # (B, n, 1)
        return np.take_along_axis(self._pieces(z), winner, axis=-1)[..., 0]


def _array(tensor) -> np.ndarray:
    return tensor.detach().numpy()  # shares the tensor's memory


def _rows(weight) -> np.ndarray:
    """A layer's weights (n_out, n_in) as Wᵀ (n_in, n_out), C-contiguous: one row per input."""
    return np.ascontiguousarray(weight.detach().numpy().T)


def _fused(weight, rider: np.ndarray) -> np.ndarray:
    """Wᵀ with a rider's columns after its own (n_in, n_out + m), C-contiguous."""
    return np.ascontiguousarray(np.concatenate([weight.detach().numpy().T, rider.astype(np.float32)], axis=1))


def _affine(norm) -> tuple[np.ndarray, np.ndarray] | None:
    """Batch norm in eval mode as z · scale + shift; None where there is none."""
    if not hasattr(norm, "running_var"):
        return None
    scale = norm.weight.detach() / (norm.running_var + norm.eps).sqrt()
    shift = norm.bias.detach() - norm.running_mean * scale
    return scale.numpy(), shift.numpy()
