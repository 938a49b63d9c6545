"""Small grayscale PNGs: pixel arrays → PNG bytes or data URLs (for inputs, weights and top images)."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def png_bytes(gray: np.ndarray) -> bytes:
    """Encode a (H, W) uint8 array, or floats in [0, 1], as a grayscale PNG."""
    if gray.dtype != np.uint8:
        gray = np.clip(np.rint(gray * 255.0), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(gray).save(buf, format="PNG")
    return buf.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def png_data_url(gray: np.ndarray) -> str:
    """A PNG data URL of a grayscale array, ready for an <img src>."""
    return data_url(png_bytes(gray))


def weights_png(weights: np.ndarray) -> bytes:
    """A neuron's weights (H, W) as a PNG: mid-grey is 0, white the largest positive, black the most negative."""
    scale = float(np.abs(weights).max()) or 1.0
    return png_bytes((0.5 + 0.5 * weights / scale).astype(np.float32))
