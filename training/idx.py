"""Write the standard IDX files (the format MNIST is published in) from uint8 arrays."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from model.files import atomic_write_bytes

_UBYTE = 0x08


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX: magic (0, 0, type, ndim), big-endian dims, then the raw bytes."""
    if array.dtype != np.uint8:
        raise ValueError(f"IDX writer takes uint8 arrays, got {array.dtype}")
    header = struct.pack(">BBBB", 0, 0, _UBYTE, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write one IDX file atomically."""
    atomic_write_bytes(path, idx_bytes(array))
