"""The hot loop, read top to bottom: for each batch, forward, the loss, backward, an optimiser step.

Whole-dataset tensors live on the device and batches are sliced out by index: no per-sample Python.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from model.config import NUM_CLASSES
from training.augment import augment_batch
from training.outliers import outlier_loss, with_outliers


@dataclass
class Learner:
    """What an optimiser step needs: the network (DDP-wrapped under torchrun), its optimiser and learning-rate
    schedule, and how batches are fed to it."""

    net: nn.Module
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler | None
    augment: str = "none"
    amp: bool = False  # bf16 autocast
    outlier_weight: float = 0.0  # outlier exposure (training/outliers.py); 0 turns it off
    letters: torch.Tensor | None = None  # typeset letters (N, 784) among the outliers (training/typeset.py)

    @property
    def model(self) -> nn.Module:
        """The network itself, without the DDP wrapper: what is evaluated, checkpointed and saved."""
        return self.net.module if isinstance(self.net, DistributedDataParallel) else self.net


@dataclass
class EpochProgress:
    """Where an epoch stands, kept current so an interrupt can checkpoint mid-epoch."""

    step: int = 0
    loss_sum: float | torch.Tensor = 0.0  # a device tensor while training, to avoid a sync per step
    samples: int = 0

    def add(self, loss: torch.Tensor, n: int) -> None:
        """Count one finished step of n samples whose mean loss was loss."""
        self.step += 1
        self.loss_sum += loss * n
        self.samples += n

    @property
    def mean_loss(self) -> float:
        return float(self.loss_sum) / max(self.samples, 1)


def epoch_order(n: int, seed: int, epoch: int, rank: int = 0, world_size: int = 1) -> torch.Tensor:
    """This rank's shuffled sample indices for an epoch; a pure function of (seed, epoch), so resume needs no state."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    order = torch.randperm(n, generator=g)
    usable = n - n % world_size  # every rank takes the same number of steps
    return order[rank:usable:world_size]


def steps_per_epoch(n: int, batch_size: int, world_size: int = 1) -> int:
    """Optimiser steps in one epoch of n samples shared among world_size ranks (the last batch may be short)."""
    return -(-(n // world_size) // batch_size)


def autocast(device: torch.device, enabled: bool):
    """Mixed precision (bf16) when asked for; a no-op context otherwise."""
    return torch.autocast(device.type, dtype=torch.bfloat16) if enabled else nullcontext()


AfterStep = Callable[[EpochProgress, torch.Tensor, int], None]  # (progress, the batch's loss, its size)


def train_epoch(
    learner: Learner,
    x: torch.Tensor,
    y: torch.Tensor,
    batches: Sequence[torch.Tensor],
    progress: EpochProgress,
    after_step: AfterStep | None = None,
) -> float:
    """Train on batches[progress.step:] (index tensors into x, y); return the epoch's mean cross-entropy."""
    learner.net.train()
    for idx in batches[progress.step :]:
        idx = idx.to(x.device, non_blocking=True)
        loss = train_step(learner, x[idx], y[idx], progress.step)  # (B, 784), (B,)
        progress.add(loss, len(idx))  # stays on the device: no sync per step
        if after_step is not None:
            after_step(progress, loss, len(idx))
    return progress.mean_loss


def train_step(learner: Learner, x: torch.Tensor, y: torch.Tensor, step: int) -> torch.Tensor:
    """One optimiser step on the digits x (B, 784) with labels y (B,); return their cross-entropy (detached).

    The loss is the digits' cross-entropy, plus outlier exposure's term on the steps that add outliers.
    """
    x = augment_batch(x, learner.augment)
    batch = with_outliers(x, y, learner.outlier_weight, step, learner.letters, learner.augment)  # inputs in fp32
    with autocast(x.device, learner.amp):
        logits = learner.net(batch)  # (B [+ outliers], 10)
        loss = F.cross_entropy(logits[: len(x)], y)
        total = loss + outlier_loss(logits[len(x) :], learner.outlier_weight)
    learner.opt.zero_grad(set_to_none=True)
    total.backward()
    learner.opt.step()
    if learner.sched is not None:
        learner.sched.step()
    return loss.detach().float()


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
