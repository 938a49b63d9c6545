"""Helpers shared by the service tests: PNGs, drawings, things that are not digits, a live server."""

from __future__ import annotations

import io
import math
import threading
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageDraw
from werkzeug.serving import make_server


def png(gray: np.ndarray) -> bytes:
    """A (H, W) uint8 array as PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(gray, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def drawn(lines=(), ellipses=(), width: int = 18, size: int = 200) -> bytes:
    """Black strokes on white paper, like a drawing on the web page, as PNG bytes."""
    img = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(img)
    for line in lines:
        draw.line(line, fill=0, width=width, joint="curve")
    for box in ellipses:
        draw.ellipse(box, outline=0, width=width)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def one_stroke() -> bytes:
    """A vertical bar: a plausible '1'."""
    return drawn([[(100, 20), (100, 180)]])


# Things that are not one digit, drawn as strokes on a 200×200 canvas: letters, symbols, "10", "42", scribbles.
NOT_DIGITS = {
    "A": [[(40, 180), (100, 20), (160, 180)], [(65, 110), (135, 110)]],
    "X": [[(40, 20), (160, 180)], [(160, 20), (40, 180)]],
    "K": [[(50, 20), (50, 180)], [(150, 20), (50, 110), (150, 180)]],
    "W": [[(20, 20), (60, 180), (100, 60), (140, 180), (180, 20)]],
    "M": [[(20, 180), (40, 20), (100, 130), (160, 20), (180, 180)]],
    "H": [[(50, 20), (50, 180)], [(150, 20), (150, 180)], [(50, 100), (150, 100)]],
    "N": [[(50, 180), (50, 20), (150, 180), (150, 20)]],
    "E": [[(150, 20), (50, 20), (50, 180), (150, 180)], [(50, 100), (130, 100)]],
    "F": [[(150, 20), (50, 20), (50, 180)], [(50, 100), (130, 100)]],
    "R": [[(50, 180), (50, 20), (130, 20), (150, 60), (130, 100), (50, 100), (150, 180)]],
    "Y": [[(40, 20), (100, 100), (160, 20)], [(100, 100), (100, 180)]],
    "star": [[(100, 10), (130, 190), (10, 70), (190, 70), (70, 190), (100, 10)]],
    "zigzag": [[(10, 100), (40, 40), (70, 160), (100, 40), (130, 160), (160, 40), (190, 100)]],
    "hash": [[(70, 20), (60, 180)], [(140, 20), (130, 180)], [(20, 70), (180, 70)], [(20, 130), (180, 130)]],
    "box": [[(30, 30), (170, 30), (170, 170), (30, 170), (30, 30)]],
    "cross": [[(20, 100), (180, 100)], [(100, 20), (100, 180)]],
    "triangle": [[(100, 20), (180, 180), (20, 180), (100, 20)]],
    "42": [
        [(60, 20), (20, 120), (90, 120)],
        [(75, 60), (75, 180)],
        [(110, 50), (150, 20), (190, 50), (110, 180), (190, 180)],
    ],
    "spiral": [[(100 + 6 * t * math.cos(t), 100 + 6 * t * math.sin(t)) for t in np.linspace(0, 14, 200)]],
}


def not_digit_drawings() -> dict[str, bytes]:
    """PNGs of the shapes above, "10", and 16 random scribbles (seeded)."""
    out = {name: drawn(lines) for name, lines in NOT_DIGITS.items()}
    out["10"] = drawn([[(40, 20), (40, 180)]], [(80, 20, 180, 180)])
    for seed in range(16):
        rng = np.random.default_rng(seed)
        out[f"scribble{seed}"] = drawn([[tuple(rng.uniform(20, 180, 2)) for _ in range(6 + seed % 6)]])
    return out


@contextmanager
def live_server(app):
    """Serve the app on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
