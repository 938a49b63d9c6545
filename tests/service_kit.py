"""Helpers shared by the service tests: PNGs, drawings, non-digits (strokes, silhouettes), a live server."""

from __future__ import annotations

import io
import math
import threading
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageDraw
from werkzeug.serving import make_server


def encoded(img: Image.Image) -> bytes:
    """A Pillow image as PNG bytes."""
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def png(gray: np.ndarray) -> bytes:
    """A (H, W) uint8 array as PNG bytes."""
    return encoded(Image.fromarray(np.asarray(gray, dtype=np.uint8)))


def grainy_page(size: tuple[int, int], mode: str = "L") -> Image.Image:
    """A page of SIZE (width, height) with paper grain (grey levels 201-225, seeded) and one dark vertical stroke a
    twentieth of the width wide, from a quarter of the height to three quarters, down the middle; in MODE."""
    w, h = size
    grain = np.random.default_rng(0).integers(0, 24, (h, w), np.uint8)
    img = Image.fromarray(np.full((h, w), 225, np.uint8) - grain)
    ImageDraw.Draw(img).line([(w // 2, h // 4), (w // 2, 3 * h // 4)], fill=20, width=w // 20)
    return img.convert(mode)


def drawn(lines=(), ellipses=(), width: int = 18, size: int = 200) -> bytes:
    """Black strokes on white paper, like a drawing on the web page, as PNG bytes."""
    img = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(img)
    for line in lines:
        draw.line(line, fill=0, width=width, joint="curve")
    for box in ellipses:
        draw.ellipse(box, outline=0, width=width)
    return encoded(img)


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


# Animal silhouettes, filled black on white, on the same 200×200 canvas: ("e", box) a filled ellipse, ("p", points)
# a filled polygon, ("l", points, width) a thick line (legs, tails, trunks), ("s", box, start, end) a filled pie slice.
SILHOUETTES = {
    "cat": [
        ("e", (60, 90, 150, 185)),
        ("e", (70, 40, 130, 100)),
        ("p", [(72, 60), (80, 18), (100, 48)]),
        ("p", [(100, 48), (120, 18), (128, 60)]),
        ("l", [(132, 176), (180, 150), (185, 110)], 12),
    ],
    "dog": [
        ("e", (40, 80, 150, 130)),
        ("e", (130, 50, 180, 95)),
        ("e", (160, 68, 196, 92)),
        ("p", [(135, 55), (148, 100), (126, 88)]),
        ("l", [(55, 115), (55, 178)], 14),
        ("l", [(78, 115), (78, 178)], 14),
        ("l", [(118, 115), (118, 178)], 14),
        ("l", [(140, 110), (140, 178)], 14),
        ("l", [(45, 95), (15, 60)], 10),
    ],
    "fish": [
        ("e", (30, 65, 150, 135)),
        ("p", [(128, 100), (192, 55), (192, 145)]),
        ("p", [(70, 72), (100, 35), (112, 74)]),
    ],
    "bird": [
        ("e", (60, 85, 150, 120)),
        ("e", (135, 68, 172, 105)),
        ("p", [(166, 80), (196, 90), (166, 98)]),
        ("p", [(80, 95), (110, 18), (128, 95)]),
        ("p", [(66, 98), (18, 82), (24, 122)]),
    ],
    "rabbit": [
        ("e", (45, 100, 150, 185)),
        ("e", (110, 60, 168, 118)),
        ("e", (114, 4, 134, 78)),
        ("e", (140, 10, 160, 80)),
        ("e", (34, 128, 64, 160)),
    ],
    "elephant": [
        ("e", (35, 60, 155, 140)),
        ("e", (130, 45, 190, 112)),
        ("e", (118, 50, 160, 120)),
        ("l", [(180, 95), (188, 140), (172, 182)], 16),
        ("l", [(55, 120), (55, 185)], 22),
        ("l", [(95, 125), (95, 185)], 22),
        ("l", [(135, 120), (135, 185)], 22),
    ],
    "turtle": [
        ("s", (40, 60, 160, 170), 180, 360),
        ("e", (150, 92, 190, 122)),
        ("e", (55, 108, 82, 142)),
        ("e", (118, 108, 145, 142)),
        ("p", [(42, 112), (20, 122), (42, 118)]),
    ],
    "snail": [
        ("e", (60, 35, 150, 136)),
        ("p", [(28, 160), (192, 160), (178, 122), (44, 128)]),
        ("l", [(175, 125), (185, 85)], 5),
        ("l", [(165, 125), (165, 88)], 5),
    ],
    "butterfly": [
        ("e", (18, 28, 100, 102)),
        ("e", (100, 28, 182, 102)),
        ("e", (34, 96, 100, 162)),
        ("e", (100, 96, 166, 162)),
        ("e", (92, 38, 108, 168)),
    ],
    "horse": [
        ("e", (40, 70, 150, 122)),
        ("p", [(128, 88), (150, 30), (172, 40), (150, 104)]),
        ("e", (150, 22, 196, 56)),
        ("l", [(55, 110), (52, 186)], 12),
        ("l", [(75, 112), (78, 186)], 12),
        ("l", [(120, 112), (118, 186)], 12),
        ("l", [(140, 108), (145, 186)], 12),
        ("l", [(42, 88), (22, 140)], 10),
    ],
    "duck": [
        ("e", (28, 92, 162, 162)),
        ("e", (118, 38, 172, 92)),
        ("p", [(166, 58), (196, 70), (166, 82)]),
        ("p", [(30, 118), (8, 90), (40, 104)]),
    ],
    "mouse": [
        ("e", (40, 92, 142, 162)),
        ("p", [(128, 100), (188, 132), (128, 158)]),
        ("e", (112, 66, 150, 106)),
        ("l", [(42, 140), (14, 120), (20, 80)], 5),
    ],
    "giraffe": [
        ("e", (45, 92, 132, 134)),
        ("p", [(108, 104), (128, 22), (146, 26), (132, 112)]),
        ("e", (124, 8, 168, 36)),
        ("l", [(58, 120), (56, 190)], 10),
        ("l", [(78, 124), (80, 190)], 10),
        ("l", [(108, 124), (106, 190)], 10),
        ("l", [(124, 118), (128, 190)], 10),
    ],
    "owl": [("e", (55, 48, 145, 186)), ("p", [(60, 70), (66, 22), (90, 56)]), ("p", [(110, 56), (134, 22), (140, 70)])],
    "whale": [
        ("e", (18, 72, 158, 142)),
        ("p", [(148, 104), (196, 66), (182, 108), (196, 148)]),
        ("l", [(60, 72), (52, 44), (40, 32)], 5),
        ("l", [(60, 72), (70, 42), (84, 32)], 5),
    ],
    "frog": [
        ("e", (38, 92, 162, 160)),
        ("e", (52, 62, 92, 102)),
        ("e", (108, 62, 148, 102)),
        ("e", (20, 138, 72, 172)),
        ("e", (128, 138, 180, 172)),
    ],
}


def silhouette(shapes, turn: float = 0.0, mirror: bool = False, scale: float = 1.0, size: int = 200) -> bytes:
    """One silhouette of SILHOUETTES, filled black on white, turned by `turn` degrees, mirrored, scaled, as PNG."""
    img = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(img)
    for kind, *args in shapes:
        if kind == "e":
            draw.ellipse(args[0], fill=0)
        elif kind == "p":
            draw.polygon(args[0], fill=0)
        elif kind == "l":
            draw.line(args[0], fill=0, width=args[1], joint="curve")
        else:
            draw.pieslice(args[0], args[1], args[2], fill=0)
    if mirror:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    img = img.rotate(turn, resample=Image.Resampling.BILINEAR, fillcolor=255)
    if scale != 1.0:
        small = img.resize((round(size * scale),) * 2, Image.Resampling.LANCZOS)
        img = Image.new("L", (size, size), 255)
        img.paste(small, ((size - small.width) // 2, (size - small.height) // 2))
    return encoded(img)


def not_digit_silhouettes() -> dict[str, bytes]:
    """Three PNGs of each animal silhouette: as drawn, mirrored and turned by -15°, smaller and turned by 15°."""
    out = {}
    for name, shapes in SILHOUETTES.items():
        out[name] = silhouette(shapes)
        out[f"{name}_mirrored"] = silhouette(shapes, turn=-15, mirror=True)
        out[f"{name}_small"] = silhouette(shapes, turn=15, scale=0.7)
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
