"""Recording the training timeline (model/history.py): weight snapshots taken from the training loop.

A snapshot copies the weights (float16, to the CPU) and the caller evaluates them on the validation set in eval mode:
neither draws a random number nor changes the model, so a run with snapshots trains exactly as one without. The
snapshots travel in the checkpoints, so a resumed run writes the same timeline as an uninterrupted one.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn

from model.config import MLPConfig
from model.history import compact, write_history


class Timeline:
    """The snapshots of one run so far, and the training loss since the last one."""

    def __init__(self, steps: list[int], steps_per_epoch: int, world_size: int = 1) -> None:
        self.steps = frozenset(steps)  # global optimiser steps to snapshot after (0: before the first)
        self.steps_per_epoch, self.world_size = steps_per_epoch, world_size
        self.snapshots: list[dict[str, Any]] = []
        self.states: list[dict[str, torch.Tensor]] = []
        self.loss_sum: float | torch.Tensor = 0.0  # since the last snapshot; a device tensor while training
        self.samples = self.seen_images = 0

    def wants(self, step: int) -> bool:
        return step in self.steps

    def add(self, loss: torch.Tensor, n: int) -> None:
        """Count a finished step of n samples (this rank's) whose mean loss was loss."""
        if self.steps:
            self.loss_sum += loss * n
            self.samples += n
            self.seen_images += n * self.world_size

    def take(self, model: nn.Module, step: int, val_accuracy: float) -> None:
        """Snapshot the model as it is after step optimiser steps."""
        loss = float(self.loss_sum) / self.samples if self.samples else None  # None: no step since the last one
        self.snapshots.append(
            {
                "step": step,
                "epoch": step / self.steps_per_epoch,
                "seen_images": self.seen_images,
                "loss": loss,
                "val_accuracy": None if math.isnan(val_accuracy) else val_accuracy,  # NaN: no validation set
            }
        )
        self.states.append(compact(model.state_dict()))
        self.loss_sum, self.samples = 0.0, 0

    def write(self, path: Path, config: MLPConfig) -> None:
        """Write the timeline file; with none taken (--snapshots 0), remove one an earlier run left: it would not
        match these weights."""
        if self.snapshots:
            write_history(path, config, self.snapshots, self.states)
        else:
            path.unlink(missing_ok=True)

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps of the timeline."""
        return {
            "snapshots": self.snapshots,
            "states": self.states,
            "loss_sum": float(self.loss_sum),
            "samples": self.samples,
            "seen_images": self.seen_images,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.snapshots, self.states = state["snapshots"], state["states"]
        self.loss_sum, self.samples, self.seen_images = state["loss_sum"], state["samples"], state["seen_images"]
