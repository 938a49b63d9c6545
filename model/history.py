"""The training timeline: snapshots of the weights as training goes, in one file beside the weights.

Snapshots sit at log-spaced steps (step 0 is the initialisation, then about 1, 2, 4, 8 … steps through the first
epoch, then every epoch's end), because a network changes most at the start. Each carries the training loss of the
steps since the one before and the validation accuracy at that point. Training writes the file
(training/timeline.py); the service reads it with read_history, which is why this module lives in model/.

Format "digits-history/1", safetensors (model.files.HISTORY):
  metadata  {"format": "digits-history/1", "config": MLPConfig.to_json(),
             "snapshots": JSON list of {"step", "epoch", "seen_images", "loss", "val_accuracy"}, step 0 first}
            (epoch: fractional, step / steps per epoch; loss: null for step 0)
  tensors   "{k}.{state_dict key}" for snapshot k = 0 … K-1; floating-point tensors as float16 (a snapshot is for
            looking at, not for training on), integer ones (batch norm's num_batches_tracked) as they are.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from model.config import MLPConfig
from model.files import atomic_write_bytes, safetensors_metadata
from model.weights import WeightsError, config_from

FORMAT = "digits-history/1"
SNAPSHOT_KEYS = ("step", "epoch", "seen_images", "loss", "val_accuracy")


def snapshot_steps(total_steps: int, steps_per_epoch: int, count: int) -> list[int]:
    """At most count steps to snapshot, in order: 0, log-spaced steps through the first epoch (where the network
    changes most), and every epoch's end; when count is too small for every epoch's end, log-spaced steps through the
    whole run instead."""
    if count < 2 or total_steps < 1:
        return [0][:count]
    ends = set(range(steps_per_epoch, total_steps + 1, steps_per_epoch)) | {total_steps}
    span = min(steps_per_epoch, total_steps)
    if len(ends) >= count:
        ends, span = {total_steps}, total_steps
    chosen = sorted({0} | ends)
    for points in range(2, 4 * count):  # rounding merges early points, so try more than count
        steps = {0} | ends | _log_spaced(span, points)
        if len(steps) > count:
            break
        chosen = sorted(steps)
    return chosen


def _log_spaced(last: int, points: int) -> set[int]:
    """points steps from 1 to last with a constant ratio between neighbours, rounded (so early ones may merge)."""
    return {round(last ** (i / (points - 1))) for i in range(points)}


def compact(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A snapshot as the file keeps it: a float16 copy on the CPU (integer tensors copied as they are)."""
    return {
        key: t.detach().to("cpu", torch.float16, copy=True) if t.is_floating_point() else t.detach().cpu().clone()
        for key, t in state.items()
    }


def history_bytes(config: MLPConfig, snapshots: list[dict[str, Any]], states: list[dict[str, torch.Tensor]]) -> bytes:
    """Serialise the snapshots (their figures and compact() states, in the same order) as the format above."""
    tensors = {f"{k}.{key}": t.contiguous() for k, state in enumerate(states) for key, t in compact(state).items()}
    meta = {"format": FORMAT, "config": config.to_json(), "snapshots": json.dumps(snapshots)}
    return st_save(tensors, metadata=meta)


def write_history(
    path: str | os.PathLike, config: MLPConfig, snapshots: list[dict[str, Any]], states: list[dict[str, torch.Tensor]]
) -> None:
    """Write the timeline file atomically."""
    atomic_write_bytes(path, history_bytes(config, snapshots, states))


class SnapshotStates(Sequence):
    """Each snapshot's state_dict as float32, made on demand: states[k] (or states(k)) for snapshot k."""

    def __init__(self, config: MLPConfig, tensors: dict[str, torch.Tensor], count: int) -> None:
        self.config, self._tensors, self._count = config, tensors, count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, k: int) -> dict[str, torch.Tensor]:
        if not -self._count <= k < self._count:
            raise IndexError(f"snapshot {k} out of range 0-{self._count - 1}")
        prefix = f"{k % self._count}."
        return {
            name[len(prefix) :]: t.float() if t.is_floating_point() else t
            for name, t in self._tensors.items()
            if name.startswith(prefix)
        }

    __call__ = __getitem__


def read_history(path: str | os.PathLike) -> tuple[list[dict[str, Any]], SnapshotStates]:
    """Read a timeline file: (the snapshots' figures, step 0 first; their weights). WeightsError names the file and
    what is wrong with it."""
    path = Path(path)
    try:
        tensors, meta = _load(path.read_bytes())
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read history file ({exc.strerror})") from None
    except (SafetensorError, ValueError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{path}: not a readable safetensors file ({exc})") from None
    if meta.get("format") != FORMAT:
        raise WeightsError(f"{path}: not a digits history file (format {meta.get('format')!r}, expected {FORMAT!r})")
    config = config_from(path, meta)
    try:
        snapshots = json.loads(meta["snapshots"])
    except (KeyError, ValueError, TypeError) as exc:
        raise WeightsError(f"{path}: invalid snapshots in metadata ({exc})") from None
    _check(path, snapshots, tensors)
    return snapshots, SnapshotStates(config, tensors, len(snapshots))


def _load(data: bytes) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    return st_load(data), safetensors_metadata(data)


def _check(path: Path, snapshots: Any, tensors: dict[str, torch.Tensor]) -> None:
    """Every snapshot has its figures and the same tensors as snapshot 0; no tensor belongs to none."""
    if not isinstance(snapshots, list) or not snapshots:
        raise WeightsError(f"{path}: no snapshots in the metadata")
    for k, snap in enumerate(snapshots):
        if not isinstance(snap, dict) or set(snap) != set(SNAPSHOT_KEYS):
            raise WeightsError(f"{path}: snapshot {k} needs exactly the keys {', '.join(SNAPSHOT_KEYS)}")
    names = [{n.partition(".")[2] for n in tensors if n.partition(".")[0] == str(k)} for k in range(len(snapshots))]
    if not names[0] or any(n != names[0] for n in names):
        raise WeightsError(f"{path}: the snapshots do not all hold the same tensors")
    if len(tensors) != len(names[0]) * len(snapshots):
        raise WeightsError(f"{path}: tensors that belong to no snapshot")
