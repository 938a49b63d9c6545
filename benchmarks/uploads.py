"""Accuracy on real uploads, kind by kind: what the service answers for photos, scans, pens, canvases and clean files.

    python benchmarks/uploads.py                                      # artifacts/model.safetensors
    python benchmarks/uploads.py A.safetensors B.safetensors --per-kind 100 --seed 1

Every upload goes through service.preprocess and the service's Predictor (probabilities and out-of-distribution
checks, as /api/predict judges `uncertain`). Sets, all made from MNIST *test* digits:
  * captures (tests/captures.py): phone photos of plain, ruled and squared paper, a small digit in a big frame,
    low-resolution scans (8×8, 12×12, 16×16 scaled up), thin and thick pens; PER_KIND of each;
  * realistic (tests/realistic.py): canvas-like uploads (canvases, RGBA exports, off-centre PNGs, grey JPEGs, …);
  * mnist-png: 1,000 MNIST test digits as PNG files; printed: the ten digits typeset in Pillow's font, 12 ways;
    printed_fonts: the same in the 7 fonts matplotlib ships that training does not draw (OTHER_FONTS), and with
    --font, in any font file given (a kind of its own each: printed_NAME);
  * writers, when scikit-learn is installed (the `bench` extra): other people's handwriting, not MNIST: the 1,797
    digits of the UCI optdigits test set that scikit-learn ships (`load_digits`: 8×8, 17 grey levels, writers
    other than MNIST's), scaled up bilinearly to 64×64 as a blurry low-resolution upload.
Per kind: accuracy, 422 answers, share flagged uncertain, and the accuracy of the answers given without the flag.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from benchmarks.common import machine, report, served_predictor, table  # noqa: E402
from service.errors import ApiError  # noqa: E402
from service.preprocess import preprocess  # noqa: E402
from tests.captures import build_capture_set  # noqa: E402
from tests.realistic import build_realistic_set  # noqa: E402
from training.data import load_mnist, resolve_root  # noqa: E402
from training.typeset import FONT_DIR, FONTS  # noqa: E402

OTHER_FONTS = (
    "DejaVuSans-BoldOblique.ttf", "DejaVuSansMono-Oblique.ttf", "DejaVuSansMono-BoldOblique.ttf",
    "DejaVuSerif-BoldItalic.ttf", "STIXGeneralBolIta.ttf", "cmb10.ttf", "cmti10.ttf",
)  # fmt: skip  # matplotlib's fonts with digits that training/typeset.py's FONTS leave out
assert not set(OTHER_FONTS) & set(FONTS), "a font training draws is not another font"


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def printed(font_file: Path | None = None, kind: str = "printed") -> list[tuple[bytes, int, str]]:
    """The digits 0-9 in the font file (Pillow's bundled font when None): 3 sizes × 2 pen weights × 2 polarities."""
    out = []
    for size in (60, 120, 200):
        font = ImageFont.truetype(str(font_file), size) if font_file else ImageFont.load_default(size=size)
        for stroke in (0, size // 30):
            for dark in (True, False):
                for digit in range(10):
                    img = Image.new("L", (size * 2, size * 2), 255 if dark else 0)
                    ink = 0 if dark else 255
                    ImageDraw.Draw(img).text((size, size), str(digit), fill=ink, font=font, anchor="mm",
                                             stroke_width=stroke, stroke_fill=ink)  # fmt: skip
                    out.append((_png(img), digit, kind))
    return out


def _font_file(path: Path) -> bool:
    """Can FreeType read the file as a font?"""
    try:
        ImageFont.truetype(str(path), 10)
    except OSError:
        return False
    return True


def printed_fonts(files: list[Path]) -> list[tuple[bytes, int, str]]:
    """printed() in each of OTHER_FONTS (kind printed_fonts), then in each of FILES (kind printed_NAME)."""
    out = [item for name in OTHER_FONTS for item in printed(FONT_DIR / name, "printed_fonts")]
    return out + [item for path in files for item in printed(path, f"printed_{path.stem}")]


def writers() -> list[tuple[bytes, int, str]]:
    """UCI optdigits (scikit-learn's copy) as 64×64 PNGs, light ink on black; [] without scikit-learn."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        print("uploads: scikit-learn is not installed (pip install -e '.[bench]'): no writers set", file=sys.stderr)
        return []
    digits = load_digits()
    images = (digits.images / 16 * 255).round().astype(np.uint8)  # (1797, 8, 8), 0-16 → 0-255
    return [
        (_png(Image.fromarray(a).resize((64, 64), Image.Resampling.BILINEAR)), int(label), "writers_8x8")
        for a, label in zip(images, digits.target)
    ]


PER_KIND, SEED = 100, 1  # the sets the README's table is measured on (the tests use seed 0)


def uploads(
    mnist, per_kind: int = PER_KIND, seed: int = SEED, fonts: list[Path] | None = None
) -> list[tuple[bytes, int, str, str]]:
    """(bytes, label, kind, set) for every set; FONTS: font files to print the digits in besides OTHER_FONTS."""
    x, y = mnist.test_x.numpy(), mnist.test_y.numpy()
    sets = {
        "captures": build_capture_set(x, y, per_kind=per_kind, seed=seed),
        "realistic": build_realistic_set(x, y, n=350, seed=seed),
        "clean": [(_png(Image.fromarray(d)), int(label), "mnist_png") for d, label in zip(x[:1000], y[:1000])]
        + printed()
        + printed_fonts(fonts or []),
        "writers": writers(),
    }
    return [(data, label, kind, name) for name, items in sets.items() for data, label, kind in items]


def answers(predictor, uploads: list[bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the service answers each upload, through preprocess and PREDICTOR: the digit (-1 where refused), the
    uncertain flag and whether it was refused (422), each (N,)."""
    pixels, kept, refused = [], [], np.zeros(len(uploads), bool)
    for i, data in enumerate(uploads):
        try:
            pixels.append(preprocess(data).pixels)
            kept.append(i)
        except ApiError as err:
            assert err.status == 422, err
            refused[i] = True
    digits, unsure = np.full(len(uploads), -1), np.zeros(len(uploads), bool)
    if kept:
        pred = predictor.predict(np.stack(pixels))
        digits[kept], unsure[kept] = pred.digits, pred.uncertain
    return digits, unsure, refused


def measure(weights: Path, items: list[tuple[bytes, int, str, str]]) -> dict[str, dict]:
    """Per kind: n, correct, refused (422), flagged, correct among the unflagged."""
    digits, flags, refusals = answers(served_predictor(weights), [data for data, *_ in items])
    rows: dict[str, dict] = {}
    for (_, label, kind, name), digit, unsure, refused in zip(items, digits, flags, refusals):
        r = rows.setdefault(kind, {"set": name, "n": 0, "correct": 0, "flagged": 0, "sure_correct": 0, "refused": 0})
        r["n"] += 1  # a 422 counts as a wrong answer
        r["refused"] += int(refused)
        r["correct"] += int(digit == label)
        r["flagged"] += int(unsure)
        r["sure_correct"] += int(digit == label and not unsure)
    return rows


def pct(a: int, b: int) -> str:
    """a of b as a percentage with one decimal, '–' of none."""
    return f"{100 * a / b:.1f} %" if b else "–"


def markdown(weights: Path, rows: dict[str, dict]) -> str:
    lines = [
        (
            k,
            r["set"],
            r["n"],
            pct(r["correct"], r["n"]),
            r["refused"],
            pct(r["flagged"], r["n"]),
            pct(r["sure_correct"], r["n"] - r["refused"] - r["flagged"]),
        )  # fmt: skip
        for k, r in rows.items()
    ]
    head = ("kind", "set", "n", "correct", "422", "flagged uncertain", "correct when not flagged")
    return f"**{weights}**\n\n" + table(head, lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("weights", type=Path, nargs="*", default=[REPO / "artifacts" / "model.safetensors"])
    p.add_argument("--per-kind", type=int, default=PER_KIND, help=f"captures of each kind (default: {PER_KIND})")
    p.add_argument("--seed", type=int, default=SEED, help=f"seed of the sets (default {SEED}; the tests use 0)")
    p.add_argument("--font", type=Path, action="append", default=[], help="also print the digits in this font file")
    args = p.parse_args(argv)
    unreadable = [str(f) for f in args.font if not _font_file(f)]
    if unreadable:
        p.error(f"not a font file FreeType reads: {', '.join(unreadable)}")
    items = uploads(load_mnist(resolve_root(None)), args.per_kind, args.seed, args.font)
    results = {str(w): measure(w, items) for w in args.weights}
    md = "\n\n".join(markdown(Path(w), rows) for w, rows in results.items())
    report("uploads", argv, machine(), md, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
