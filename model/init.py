"""Weight initialisation schemes, by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from torch import nn

if TYPE_CHECKING:
    from model.config import MLPConfig

# nn.init's gain names for each activation; maxout and elu behave like relu for He's derivation.
_GAIN_NAME = {
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "elu": "relu",
    "maxout": "relu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
}


def _he(layer: nn.Linear, cfg: MLPConfig) -> None:
    nn.init.kaiming_normal_(layer.weight, a=cfg.leaky_alpha, nonlinearity=_kaiming_name(cfg))


def _xavier(layer: nn.Linear, cfg: MLPConfig) -> None:
    nn.init.xavier_uniform_(layer.weight, gain=nn.init.calculate_gain(_GAIN_NAME[cfg.activation], cfg.leaky_alpha))


def _normal(layer: nn.Linear, cfg: MLPConfig) -> None:
    nn.init.normal_(layer.weight, mean=0.0, std=cfg.init_std)


def _kaiming_name(cfg: MLPConfig) -> str:
    return "leaky_relu" if cfg.activation == "leaky_relu" else "relu"


INITS: dict[str, Callable[[nn.Linear, MLPConfig], None]] = {"he": _he, "xavier": _xavier, "normal": _normal}


def init_layer(layer: nn.Linear, cfg: MLPConfig) -> None:
    """Initialise one layer's weights by the config's scheme; biases start at zero."""
    INITS[cfg.init](layer, cfg)
    nn.init.zeros_(layer.bias)
