"""The hot loop: whole-dataset tensors on the device, batches sliced by index, no per-sample Python."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from model.config import NUM_CLASSES
from training.augment import augment_batch
from training.outliers import training_loss


@dataclass
class EpochProgress:
    """Where an epoch stands, kept current so an interrupt can checkpoint mid-epoch."""

    step: int = 0
    loss_sum: float | torch.Tensor = 0.0  # a device tensor while training, to avoid a sync per step
    samples: int = 0
    extra: dict = field(default_factory=dict)


def epoch_order(n: int, seed: int, epoch: int, rank: int = 0, world_size: int = 1) -> torch.Tensor:
    """This rank's shuffled sample indices for an epoch; a pure function of (seed, epoch), so resume needs no state."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(n, generator=g)
    usable = n - n % world_size  # every rank takes the same number of steps
    return order[rank:usable:world_size]


def autocast(device: torch.device, enabled: bool):
    """Mixed precision (bf16) when asked for; a no-op context otherwise."""
    return torch.autocast(device.type, dtype=torch.bfloat16) if enabled else nullcontext()


def train_epoch(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    order: torch.Tensor,
    opt: torch.optim.Optimizer,
    sched,
    batch_size: int,
    progress: EpochProgress,
    augment: str = "none",
    amp: bool = False,
    bar: tqdm | None = None,
    on_step: Callable[[EpochProgress], None] | None = None,
    outlier_weight: float = 0.0,
) -> float:
    """Train one epoch from progress.step on; return the mean cross-entropy on the training digits."""
    model.train()
    starts = range(progress.step * batch_size, len(order), batch_size)
    for start in starts:
        idx = order[start : start + batch_size].to(x.device, non_blocking=True)
        xb, yb = x[idx], y[idx]  # (B, 784), (B,)
        xb = augment_batch(xb, augment)
        with autocast(x.device, amp):
            loss, digit_loss = training_loss(model, xb, yb, outlier_weight, progress.step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        _advance(progress, digit_loss.detach().float(), len(idx), bar)  # stays on the device: no sync per step
        if on_step is not None:
            on_step(progress)
    return float(progress.loss_sum) / max(progress.samples, 1)


def _advance(progress: EpochProgress, loss: torch.Tensor, n: int, bar: tqdm | None) -> None:
    progress.step += 1
    progress.loss_sum += loss * n
    progress.samples += n
    if bar is not None:
        bar.update(1)
        if progress.step % 25 == 0:
            bar.set_postfix(loss=f"{float(progress.loss_sum) / progress.samples:.4f}", refresh=False)


@torch.inference_mode()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 10_000) -> torch.Tensor:
    """Logits for every row of x, in eval mode, batch by batch."""
    model.eval()
    return torch.cat([model(x[i : i + batch_size]).float() for i in range(0, len(x), batch_size)])


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Accuracy and mean cross-entropy loss on (x, y)."""
    if len(x) == 0:
        return {"accuracy": float("nan"), "loss": float("nan")}
    logits = predict(model, x)
    return {"accuracy": (logits.argmax(1) == y).float().mean().item(), "loss": F.cross_entropy(logits, y).item()}


def confusion_matrix(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[list[int]]:
    """10×10 counts: row = true digit, column = predicted digit."""
    pred = predict(model, x).argmax(1)
    counts = torch.bincount(y * NUM_CLASSES + pred, minlength=NUM_CLASSES**2)
    return counts.view(NUM_CLASSES, NUM_CLASSES).tolist()
