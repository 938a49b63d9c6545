"""Training checkpoints: everything needed to resume exactly, written atomically, read without code execution."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from model.files import atomic_write_bytes
from training.errors import OutputError, UsageError
from training.loop import EpochProgress, Learner
from training.settings import TrainSettings
from training.timeline import Timeline


@dataclass
class RunState:
    """Where a run stands between two steps, besides its weights and optimiser: epochs finished, the current epoch's
    progress, the per-epoch history, the best weights so far (by validation accuracy) and the timeline."""

    timeline: Timeline
    epoch: int = 0
    progress: EpochProgress = field(default_factory=EpochProgress)
    history: list[dict[str, float]] = field(default_factory=list)
    best: tuple[float, dict[str, torch.Tensor]] | None = None


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint so that a kill at any moment leaves the previous one intact."""
    buf = io.BytesIO()
    torch.save(state, buf)
    try:
        atomic_write_bytes(path, buf.getvalue())
    except OSError as exc:  # read-only folder, full disk: one line, not a traceback
        raise OutputError(
            f"cannot write checkpoint {path}: {exc.strerror}; "
            "the previous checkpoint and weights were left as they were"
        ) from None


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint with torch.load(weights_only=True): tensors and plain data only, no pickled code."""
    if not path.is_file():
        raise UsageError(f"--resume {path}: no such checkpoint")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise UsageError(f"--resume {path}: not a readable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or "model" not in state or "epoch" not in state:
        raise UsageError(f"--resume {path}: not a digits training checkpoint")
    return state


def checkpoint_of(learner: Learner, state: RunState, settings: TrainSettings, world_size: int) -> dict[str, Any]:
    """Everything needed to continue exactly where the run stands."""
    return {
        "model": learner.model.state_dict(),
        "optimizer": learner.opt.state_dict(),
        "scheduler": learner.sched.state_dict() if learner.sched else None,
        "epoch": state.epoch,
        "step": state.progress.step,
        "loss_sum": float(state.progress.loss_sum),
        "samples": state.progress.samples,
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "history": state.history,
        "best": state.best,
        "timeline": state.timeline.state_dict(),
        "config": learner.model.config.to_dict(),
        "settings": settings.to_dict(),
        "world_size": world_size,
    }


def resume(learner: Learner, state: RunState, settings: TrainSettings, world_size: int) -> None:
    """Load the checkpoint settings.resume names into the learner and the state, random number generators included;
    refuse one made for another network or another batch order and schedule."""
    ckpt = load_checkpoint(settings.resume)
    if ckpt["config"] != learner.model.config.to_dict():
        raise UsageError(
            f"--resume {settings.resume}: checkpoint is for model {ckpt['config']}, "
            f"not {learner.model.config.to_dict()}; pass the same model flags"
        )
    _check_same_schedule(ckpt, settings, world_size)
    learner.model.load_state_dict(ckpt["model"])
    learner.opt.load_state_dict(ckpt["optimizer"])
    if learner.sched and ckpt["scheduler"]:
        learner.sched.load_state_dict(ckpt["scheduler"])
    state.epoch, state.history, state.best = ckpt["epoch"], ckpt["history"], ckpt["best"]
    state.progress = EpochProgress(ckpt["step"], ckpt["loss_sum"], ckpt["samples"])
    if "timeline" in ckpt and state.timeline.steps:  # ranks other than 0 keep no timeline
        state.timeline.load_state_dict(ckpt["timeline"])
    torch.set_rng_state(ckpt["rng"])
    if ckpt["cuda_rng"] and next(learner.model.parameters()).is_cuda:
        torch.cuda.set_rng_state_all(ckpt["cuda_rng"])


def _check_same_schedule(ckpt: dict[str, Any], settings: TrainSettings, world_size: int) -> None:
    """The batch order and LR schedule depend on these; resuming with others would not continue the same run."""
    saved = {
        "--epochs": ckpt["settings"]["epochs"],
        "--batch-size": ckpt["settings"]["batch_size"],
        "processes (torchrun)": ckpt.get("world_size", 1),
        "--seed": ckpt["settings"]["seed"],
    }
    now = {
        "--epochs": settings.epochs,
        "--batch-size": settings.batch_size,
        "processes (torchrun)": world_size,
        "--seed": settings.seed,
    }
    differ = [f"{k} {saved[k]} (now {now[k]})" for k in saved if saved[k] != now[k]]
    if differ:
        raise UsageError(
            f"--resume {settings.resume}: the checkpoint was made with {', '.join(differ)}; "
            "resume with the same settings"
        )
