"""Weights files: safetensors (no pickle), the config and provenance in the metadata, written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from model.config import MLPConfig
from model.files import atomic_write_bytes, safetensors_metadata
from model.mlp import MLP

FORMAT = "digits-mlp/1"


class WeightsError(Exception):
    """A weights file that is missing, unreadable or does not match what it claims."""


def library_versions() -> dict[str, str]:
    """Versions that produced (or read) a model, for provenance."""
    import safetensors

    return {"python": platform.python_version(), "torch": torch.__version__, "safetensors": safetensors.__version__}


def _checksum(tensors: dict[str, torch.Tensor], config_json: str, provenance_json: str) -> str:
    """sha256 over the config, provenance and every tensor's bytes, so tampering is caught on load."""
    h = hashlib.sha256(config_json.encode() + b"\0" + provenance_json.encode())
    for name in sorted(tensors):
        h.update(name.encode() + b"\0")
        h.update(tensors[name].contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def _tensors(model: MLP) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def weights_bytes(model: MLP, provenance: dict[str, Any] | None = None) -> bytes:
    """Serialise a model, its config and its provenance into safetensors bytes."""
    prov = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "libraries": library_versions(),
        **(provenance or {}),
    }
    tensors = _tensors(model)
    config_json, prov_json = model.config.to_json(), json.dumps(prov, sort_keys=True)
    meta = {
        "format": FORMAT,
        "config": config_json,
        "provenance": prov_json,
        "checksum": _checksum(tensors, config_json, prov_json),
    }
    return st_save(tensors, metadata=meta)


def save_weights(path: str | os.PathLike, model: MLP, provenance: dict[str, Any] | None = None) -> Path:
    """Save a model atomically as safetensors with its config and provenance; return the path."""
    atomic_write_bytes(path, weights_bytes(model, provenance))
    return Path(path)


def _read_file(path: Path) -> bytes:
    if not path.is_file():
        raise WeightsError(f"{path}: no such weights file (train one with `make train`)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"{path}: cannot read weights file ({exc.strerror})") from None


def _read_metadata(path: Path, data: bytes) -> dict[str, str]:
    try:
        meta = safetensors_metadata(data)
    except (ValueError, UnicodeDecodeError, AttributeError):
        raise WeightsError(f"{path}: not a safetensors file (bad header)") from None
    if meta.get("format") != FORMAT:
        raise WeightsError(
            f"{path}: not a digits MLP weights file (format {meta.get('format')!r}, expected {FORMAT!r})"
        )
    return meta


def load_weights(path: str | os.PathLike, device: str | torch.device = "cpu") -> tuple[MLP, dict[str, Any]]:
    """Rebuild the model from a weights file alone; return it (in eval mode), its config, provenance and sha256."""
    path = Path(path)
    data = _read_file(path)
    meta = _read_metadata(path, data)
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError) as exc:
        raise WeightsError(f"{path}: truncated or corrupt weights file ({exc})") from None
    if _checksum(tensors, meta.get("config", ""), meta.get("provenance", "")) != meta.get("checksum"):
        raise WeightsError(f"{path}: checksum mismatch: the weights or their metadata were altered after saving")
    config = config_from(path, meta)
    try:
        provenance = json.loads(meta["provenance"])
    except (KeyError, ValueError, TypeError) as exc:
        raise WeightsError(f"{path}: invalid provenance in metadata ({exc})") from None
    model = MLP(config)
    _load_state(path, model, tensors)
    info = {"config": config.to_dict(), "provenance": provenance, "sha256": hashlib.sha256(data).hexdigest()}
    return model.to(device).eval(), info


def config_from(path: Path, meta: dict[str, str]) -> MLPConfig:
    """The network's config stored in a file's metadata; WeightsError naming the file when it is missing or invalid."""
    try:
        return MLPConfig.from_dict(json.loads(meta["config"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise WeightsError(f"{path}: invalid config in metadata ({exc})") from None


def _load_state(path: Path, model: MLP, tensors: dict[str, torch.Tensor]) -> None:
    expected = model.state_dict()
    if set(expected) != set(tensors):
        missing, extra = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
        raise WeightsError(f"{path}: tensors do not match the config (missing {missing}, unexpected {extra})")
    for name, tensor in sorted(tensors.items()):
        if tensor.shape != expected[name].shape:
            raise WeightsError(
                f"{path}: tensor {name} has shape {list(tensor.shape)}, the config needs {list(expected[name].shape)}"
            )
    model.load_state_dict(tensors)
