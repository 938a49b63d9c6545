"""Every training setting, with its default, in one dataclass; the CLI flags are generated from it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from model.config import MLPConfig

DEFAULT_OUT = Path("artifacts/model.safetensors")


@dataclass
class TrainSettings:
    """A training run: the model to build and how to fit it."""

    hidden: tuple[int, ...] = (800,)
    activation: str = "relu"
    init: str = "he"
    init_std: float = 0.01
    leaky_alpha: float = 0.01
    elu_alpha: float = 1.0
    maxout_pieces: int = 2
    dropout: float = 0.2
    batch_norm: bool = False
    epochs: int = 10
    batch_size: int = 256
    lr: float = 3e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    scheduler: str = "onecycle"
    augment: str = "affine"
    outlier_weight: float = 0.5  # outlier exposure: synthetic non-digits trained towards uniform (docs/experiments.md)
    amp: str = "auto"  # bf16 autocast: auto = where the hardware does bf16 natively
    seed: int = 0
    device: str = "auto"
    data_dir: Path | None = None
    download: bool = False
    val_size: int = 5000
    subset: int | None = None
    out: Path = DEFAULT_OUT
    checkpoint: Path | None = None
    resume: Path | None = None
    tensorboard: Path | None = None
    dry_run: bool = False
    progress: bool = True
    threads: int | None = None

    def model_config(self) -> MLPConfig:
        """The network these settings describe (raises ValueError for impossible choices)."""
        return MLPConfig(
            hidden=self.hidden,
            activation=self.activation,
            init=self.init,
            init_std=self.init_std,
            leaky_alpha=self.leaky_alpha,
            elu_alpha=self.elu_alpha,
            maxout_pieces=self.maxout_pieces,
            dropout=self.dropout,
            batch_norm=self.batch_norm,
        )

    @property
    def checkpoint_path(self) -> Path:
        return self.checkpoint or self.out.with_suffix(".ckpt")

    def beside_weights(self, name: str) -> Path:
        """A path next to the weights file, e.g. metrics.json."""
        return self.out.parent / name
