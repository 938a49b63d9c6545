"""What a run leaves beside its weights: metrics.json, a training-curve plot, TensorBoard scalars."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from model.files import atomic_write_bytes


def write_metrics(path: Path, metrics: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(metrics, indent=2) + "\n").encode())


def plot_history(path: Path, history: list[dict[str, float]]) -> None:
    """Loss and accuracy per epoch, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax_loss.plot(epochs, [h["val_loss"] for h in history], "o-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    ax_acc.plot(epochs, [100 * h["val_accuracy"] for h in history], "o-", color="tab:green", label="validation")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Validation accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


class Scalars:
    """Per-epoch scalars to TensorBoard when --tensorboard is given; silent otherwise."""

    def __init__(self, logdir: Path | None) -> None:
        self.writer = None
        if logdir is not None:
            from torch.utils.tensorboard import SummaryWriter  # optional dependency: pip install .[tensorboard]

            self.writer = SummaryWriter(str(logdir))

    def log(self, row: dict[str, float]) -> None:
        if self.writer is None:
            return
        for key, value in row.items():
            if key != "epoch":
                self.writer.add_scalar(key, value, row["epoch"])
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
