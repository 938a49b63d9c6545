"""The network: an MLP whose every neuron computes a = f(w·x + b)."""

from model.activations import ACTIVATIONS, activation_fn
from model.config import INPUT_SIDE, INPUT_SIZE, NUM_CLASSES, MLPConfig
from model.mlp import MLP, LayerTrace
from model.weights import WeightsError, load_weights, save_weights

__all__ = [
    "ACTIVATIONS",
    "INPUT_SIDE",
    "INPUT_SIZE",
    "NUM_CLASSES",
    "MLP",
    "LayerTrace",
    "MLPConfig",
    "WeightsError",
    "activation_fn",
    "load_weights",
    "save_weights",
]
