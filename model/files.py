"""A model's folder on disk: the names of the files training writes beside the weights, and safe file writes.

Every file name lives here once, so training (which writes them) and the service (which reads them) cannot drift
apart; ``atomic_write_bytes`` is how every one of them is written, so a crash never leaves half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

WEIGHTS = "model.safetensors"  # the default weights file name (a models folder holds NAME/model.safetensors)
METRICS = "metrics.json"  # test/validation accuracy, history, confusion matrix, settings
CURVES = "training_curves.png"  # loss and accuracy per epoch
TOP_IMAGES = "top_images.safetensors"  # the test images that excite each hidden neuron most
FEATURE_STATS = "feature_stats.safetensors"  # out-of-distribution statistics (model/ood.py)
HISTORY = "history.safetensors"  # weight snapshots taken during training (the timeline)


def beside(weights_path: str | os.PathLike, name: str) -> Path:
    """The path of one of the files above, next to a weights file."""
    return Path(weights_path).parent / name


def safetensors_metadata(data: bytes) -> dict[str, str]:
    """The __metadata__ of a safetensors file's bytes, from its header alone (ValueError for a bad header)."""
    header_len = int.from_bytes(data[:8], "little")
    meta = json.loads(data[8 : 8 + header_len]).get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise ValueError("__metadata__ is not an object")
    return meta


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write data to path so that a crash leaves either the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a weights file is meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, read in blocks."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
