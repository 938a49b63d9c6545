"""Training checkpoints: everything needed to resume exactly, written atomically, read without code execution."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from model.files import atomic_write_bytes
from training.errors import UsageError


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a checkpoint so that a kill at any moment leaves the previous one intact."""
    buf = io.BytesIO()
    torch.save(state, buf)
    atomic_write_bytes(path, buf.getvalue())


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
