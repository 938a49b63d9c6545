"""MLPConfig: everything a user may choose about the network, in one place that travels with the weights."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from model.activations import ACTIVATIONS
from model.init import INITS

INPUT_SIDE = 28  # MNIST images are 28×28
INPUT_SIZE = INPUT_SIDE * INPUT_SIDE  # 784 input neurons, one per pixel, 0.0 = background, 1.0 = ink
NUM_CLASSES = 10  # one output neuron per digit
DIGIT_BOX = 20  # MNIST fitted each digit's longest side in a 20×20 box …
DIGIT_CENTRE = 14.0  # … and put its centre of mass here, in the 28×28 frame (measured mean over MNIST: 14.0, 14.0)

ACTIVATION_NAMES = tuple(ACTIVATIONS)
INIT_NAMES = tuple(INITS)


def _check_choice(what: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; choose one of: {', '.join(valid)}")


def option(default: Any, help: str, **cli: Any) -> Any:
    """A settings field with its help text and any argparse extras (choices, metavar, const, group): one
    declaration that training/cli.py turns into a flag, so an option is added in one place."""
    return field(default=default, metadata={"help": help, **cli})


@dataclass(frozen=True)
class MLPConfig:
    """Architecture of a 784 → hidden… → 10 multilayer perceptron; each field is also a `python -m training` flag.

    The defaults are the default recipe's network (784-512-256-10 ReLU, He initialisation, dropout 0.2). Two
    layers rather than one of 800: fewer weights, and better on every upload kind and non-digit flag measured, for
    three seeds each (docs/experiments.md, sixth look).
    """

    hidden: tuple[int, ...] = option((512, 256), "hidden layer sizes, e.g. 800 or 512,256")
    activation: str = option("relu", "f(z) of every hidden neuron", choices=ACTIVATION_NAMES)
    init: str = option("he", "how the weights start (biases start at 0)", choices=INIT_NAMES)
    init_std: float = option(0.01, "σ of the normal initialisation (--init normal)")
    leaky_alpha: float = option(0.01, "slope of leaky_relu below 0")
    elu_alpha: float = option(1.0, "elu saturates at -alpha")
    maxout_pieces: int = option(2, "linear pieces per maxout neuron")
    dropout: float = option(0.2, "share of hidden activations zeroed at random while training")
    batch_norm: bool = option(False, "batch normalisation between z and f")
    input_size: int = field(default=INPUT_SIZE, init=False)
    num_classes: int = field(default=NUM_CLASSES, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(n) for n in self.hidden))
        if not self.hidden or any(n < 1 for n in self.hidden):
            raise ValueError(f"hidden sizes must be positive integers, got {list(self.hidden)}")
        _check_choice("activation", self.activation, ACTIVATION_NAMES)
        _check_choice("init", self.init, INIT_NAMES)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.maxout_pieces < 2:
            raise ValueError(f"maxout needs at least 2 pieces per neuron, got {self.maxout_pieces}")
        if self.init_std <= 0 or self.elu_alpha <= 0 or not 0 < self.leaky_alpha < 1:
            raise ValueError("init_std and elu_alpha must be > 0 and leaky_alpha in (0, 1)")

    @property
    def pieces(self) -> int:
        """Linear pieces per hidden neuron: k for maxout, 1 otherwise."""
        return self.maxout_pieces if self.activation == "maxout" else 1

    @property
    def layer_sizes(self) -> list[int]:
        """Neurons per layer, input and output included: [784, *hidden, 10]."""
        return [self.input_size, *self.hidden, self.num_classes]

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, the one stored in the weights file."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.init} | {
            "hidden": list(self.hidden)
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MLPConfig:
        """Rebuild a config, refusing keys this version does not know."""
        known = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(unknown)}")
        return cls(**{**data, "hidden": tuple(data.get("hidden", cls.hidden))})
