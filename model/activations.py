"""Activation functions f(z), one per name, each written as its textbook formula."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from model.config import MLPConfig

Activation = Callable[[torch.Tensor], torch.Tensor]


def _relu(cfg: MLPConfig) -> Activation:
    return lambda z: torch.clamp_min(z, 0.0)  # max(0, z)


def _sigmoid(cfg: MLPConfig) -> Activation:
    return torch.sigmoid  # 1 / (1 + e^-z)


def _tanh(cfg: MLPConfig) -> Activation:
    return torch.tanh


def _leaky_relu(cfg: MLPConfig) -> Activation:
    alpha = cfg.leaky_alpha
    return lambda z: torch.where(z > 0, z, alpha * z)  # max(αz, z) for 0 < α < 1


def _elu(cfg: MLPConfig) -> Activation:
    alpha = cfg.elu_alpha
    return lambda z: torch.where(z > 0, z, alpha * torch.expm1(z))  # α(e^z − 1) below 0


def _maxout(cfg: MLPConfig) -> Activation:
    return lambda z: z.amax(dim=-1)  # (B, n, k) -> (B, n): the best of k linear pieces


ACTIVATIONS: dict[str, Callable[[MLPConfig], Activation]] = {
    "relu": _relu,
    "sigmoid": _sigmoid,
    "tanh": _tanh,
    "leaky_relu": _leaky_relu,
    "elu": _elu,
    "maxout": _maxout,
}


def activation_fn(cfg: MLPConfig) -> Activation:
    """Return the activation function f named by the config."""
    return ACTIVATIONS[cfg.activation](cfg)
