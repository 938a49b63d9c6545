"""What a run leaves beside its weights: the weights themselves, metrics.json, a training-curve plot, the
out-of-distribution statistics, each hidden neuron's top test images, the timeline; and TensorBoard scalars."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from model.files import CURVES, FEATURE_STATS, HISTORY, METRICS, TOP_IMAGES, atomic_write_bytes
from model.mlp import MLP
from model.weights import save_weights
from training.data import Splits
from training.errors import OutputError
from training.excitations import save_top_images
from training.feature_stats import save_feature_stats
from training.settings import TrainSettings
from training.timeline import Timeline

PROVENANCE = ("test_accuracy", "val_accuracy", "epochs", "seed", "dataset_fingerprint", "train_seconds", "device")


def write_outputs(
    settings: TrainSettings, model: MLP, metrics: dict[str, Any], data: Splits, timeline: Timeline
) -> None:
    """Write the weights (with the metrics' PROVENANCE keys) and every file beside them; a file that cannot be written
    is an OutputError, the earlier ones replaced whole and the rest left as they were."""
    out = settings.out
    try:
        save_weights(out, model, {k: metrics[k] for k in PROVENANCE})
        write_metrics(settings.beside_weights(METRICS), metrics)
        plot_history(settings.beside_weights(CURVES), metrics["history"])
        save_feature_stats(settings.beside_weights(FEATURE_STATS), model, data.train_x, data.train_y, data.val_x, out)
        timeline.write(settings.beside_weights(HISTORY), model.config)
        save_top_images(settings.beside_weights(TOP_IMAGES), model.cpu(), data.test_images)
    except OSError as exc:
        raise OutputError(
            f"cannot write {exc.filename or out}: {exc.strerror}; previous files were left as they were"
        ) from None


def summarise(history: list[dict[str, float]]) -> dict[str, Any]:
    """The best epoch by validation accuracy, the number of epochs, and the training throughput."""
    seconds = sum(h["seconds"] for h in history) or float("nan")
    samples = sum(h["samples_per_second"] * h["seconds"] for h in history)
    best = max(history, key=lambda h: h["val_accuracy"], default={"epoch": 0, "val_accuracy": float("nan")})
    return {
        "val_accuracy": best["val_accuracy"],
        "best_epoch": best["epoch"],
        "epochs": len(history),
        "samples_per_second": samples / seconds,
    }


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
