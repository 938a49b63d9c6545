"""The realistic-upload set: MNIST test digits re-drawn the way people upload them, encoded as real image files.

python -m tests.realistic OUT_DIR [--n 350] [--seed 0]   # writes OUT_DIR/0000_paper_png_7.png, …
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

Rng = np.random.Generator


def _tile(digit: np.ndarray, side: int, rng: Rng, thick: int = 1, max_angle: float = 0.0) -> np.ndarray:
    """The digit's ink (side, side) in [0, 1], upscaled, optionally thickened and slightly rotated."""
    img = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    if thick > 1:
        img = img.filter(ImageFilter.MaxFilter(thick | 1))  # odd size: dilate the strokes
    if max_angle:
        img = img.rotate(float(rng.uniform(-max_angle, max_angle)), Image.Resampling.BICUBIC)
    return np.asarray(img, np.float32) / 255


def _place(tile: np.ndarray, width: int, height: int, rng: Rng) -> np.ndarray:
    """An ink map (height, width) with the tile at a random spot, wherever it fits."""
    ink = np.zeros((height, width), np.float32)
    s = tile.shape[0]
    y, x = int(rng.integers(0, height - s + 1)), int(rng.integers(0, width - s + 1))
    ink[y : y + s, x : x + s] = tile
    return ink


def _paint(ink: np.ndarray, paper, colour) -> np.ndarray:
    """RGB uint8 (H, W, 3): paper colour where ink is 0, ink colour where it is 1."""
    paper, colour = np.asarray(paper, np.float32), np.asarray(colour, np.float32)
    rgb = paper * (1 - ink[..., None]) + colour * ink[..., None]  # (H, W, 3)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _encode(img: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **options)
    return buf.getvalue()


def paper_png(digit: np.ndarray, rng: Rng) -> bytes:
    """Dark ink on white, a 280×280 RGB PNG filled by a big digit (a phone-drawn canvas)."""
    ink = _place(_tile(digit, int(rng.integers(180, 281)), rng), 280, 280, rng)
    return _encode(Image.fromarray(_paint(ink, (255, 255, 255), (0, 0, 0))), "PNG")


def offcentre_big(digit: np.ndarray, rng: Rng) -> bytes:
    """A small digit off to one side of a 400×300 grayscale PNG."""
    ink = _place(_tile(digit, int(rng.integers(60, 121)), rng), 400, 300, rng)
    return _encode(Image.fromarray(_paint(ink, (250,) * 3, (20,) * 3)[..., 0]), "PNG")


def thick_webp(digit: np.ndarray, rng: Rng) -> bytes:
    """Thick blue marker strokes on white, lossy WebP."""
    side = int(rng.integers(140, 221))
    ink = _place(_tile(digit, side, rng, thick=side // 25), 256, 256, rng)
    return _encode(Image.fromarray(_paint(ink, (255, 255, 255), (20, 40, 160))), "WEBP", quality=80)


def canvas_rgba(digit: np.ndarray, rng: Rng) -> bytes:
    """A canvas export: black strokes whose alpha is the ink, on a fully transparent background."""
    ink = _place(_tile(digit, int(rng.integers(150, 281)), rng, thick=3), 280, 280, rng)
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., 3] = np.round(ink * 255).astype(np.uint8)
    return _encode(Image.fromarray(rgba), "PNG")


def grey_jpeg(digit: np.ndarray, rng: Rng) -> bytes:
    """A photo of grey paper: grey background, dark-grey ink, sensor noise, slight tilt, JPEG quality 70."""
    ink = _place(_tile(digit, int(rng.integers(120, 201)), rng, thick=3, max_angle=10), 320, 240, rng)
    paper, colour = float(rng.uniform(150, 215)), float(rng.uniform(20, 70))
    gray = _paint(ink, (paper,) * 3, (colour,) * 3).astype(np.float32) + rng.normal(0, 7, ink.shape + (1,))
    rgb = np.clip(np.round(gray), 0, 255).astype(np.uint8)
    return _encode(Image.fromarray(rgb), "JPEG", quality=70)


ORIENTATION_STORED = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def exif_jpeg(digit: np.ndarray, rng: Rng) -> bytes:
    """A phone photo stored sideways with an EXIF Orientation tag that turns it upright."""
    ink = _place(_tile(digit, int(rng.integers(150, 231)), rng, thick=3), 300, 240, rng)
    orientation = int(rng.choice(list(ORIENTATION_STORED)))
    stored = Image.fromarray(_paint(ink, (245, 240, 230), (30, 30, 40))).transpose(ORIENTATION_STORED[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(stored, "JPEG", quality=85, exif=exif.tobytes())


def chalk_gif(digit: np.ndarray, rng: Rng) -> bytes:
    """Light chalk on a dark-green board, palette GIF (light ink on dark, but not black)."""
    ink = _place(_tile(digit, int(rng.integers(100, 201)), rng, thick=3), 240, 240, rng)
    return _encode(Image.fromarray(_paint(ink, (30, 60, 40), (235, 235, 225))).convert("P"), "GIF")


KINDS = {f.__name__: f for f in (paper_png, offcentre_big, thick_webp, canvas_rgba, grey_jpeg, exif_jpeg, chalk_gif)}


def build_realistic_set(images, labels, n: int = 350, seed: int = 0) -> list[tuple[bytes, int, str]]:
    """(file bytes, label, kind) for n MNIST digits drawn at random, the kinds taken in turn."""
    rng = np.random.default_rng(seed)
    images, labels = np.asarray(images, np.uint8), np.asarray(labels)
    picks = rng.choice(len(images), size=n, replace=False)
    kinds = list(KINDS.items())
    return [
        (kinds[i % len(kinds)][1](images[j], rng), int(labels[j]), kinds[i % len(kinds)][0])
        for i, j in enumerate(picks)
    ]


def write_set(out: Path, items: list[tuple[bytes, int, str]]) -> None:
    """Write (encoded image, label, kind) uploads into OUT as index_kind_label.ext (also for tests/captures.py)."""
    out.mkdir(parents=True, exist_ok=True)
    for i, (data, label, kind) in enumerate(items):
        fmt = Image.open(io.BytesIO(data)).format
        ext = {"JPEG": "jpg"}.get(fmt, fmt.lower())
        (out / f"{i:04d}_{kind}_{label}.{ext}").write_bytes(data)


def main(argv=None) -> int:
    """Write the set as files named index_kind_label.ext."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write into")
    parser.add_argument("--n", type=int, default=350, help="number of uploads (default: 350)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--data-dir", type=Path, default=Path("data"), help="MNIST folder (default: data)")
    args = parser.parse_args(argv)
    from training.data import load_mnist

    mnist = load_mnist(args.data_dir)
    write_set(args.out, build_realistic_set(mnist.test_x, mnist.test_y, args.n, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
