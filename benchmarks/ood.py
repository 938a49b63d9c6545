"""How often the service raises `uncertain` on things that are not a digit, and on real digits.

    python benchmarks/ood.py                                  # artifacts/model.safetensors (make train)
    python benchmarks/ood.py artifacts/best/model.safetensors other.safetensors

Every image goes through the service's own pipeline (POST /api/predict on the Flask test client), so the figures
are what a user gets. Four sets:
  * drawn non-digits: the 36 stroke drawings the tests use (letters, shapes, "10", "42", 16 scribbles);
  * animal silhouettes: 16 animals filled black on white, each as drawn, mirrored and turned, smaller and turned
    (48; tests/service_kit.py); training's outliers hold no filled shape;
  * typeset letters: a second, independent set, A-Z and a-z in Pillow's bundled font, without the letters that
    are written like a digit (O o D I l i S s Z z B b G q g: 0, 1, 5, 2, 8, 6, 9); training sees the same letters
    as outliers, but only in matplotlib's fonts (training/typeset.py), never in this one;
  * MNIST: the 10,000 test digits, and the share of the model's mistakes that carry the flag; also the 5,000
    validation images training held out (the same fixed split, training.data.split_validation).
A good model flags most of the first two and few of the third.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from service_kit import encoded, not_digit_drawings, not_digit_silhouettes  # noqa: E402  (test data, shared on purpose)

from benchmarks.common import machine, report, table  # noqa: E402
from service import create_app  # noqa: E402
from training.data import load_mnist, resolve_root, split_validation  # noqa: E402
from training.settings import TrainSettings  # noqa: E402
from training.typeset import LETTERS  # noqa: E402  (the same letters; training draws them in other fonts)


def typeset(char: str, size: int = 200) -> bytes:
    """One character, black on white, drawn with a pen-thick stroke, as a PNG."""
    img = Image.new("L", (size, size), 255)
    ImageDraw.Draw(img).text(
        (size / 2, size / 2),
        char,
        fill=0,
        anchor="mm",
        font=ImageFont.load_default(size=140),
        stroke_width=6,
        stroke_fill=0,
    )  # a pen, not a hairline
    return encoded(img)


def flagged(client, images: dict[str, bytes]) -> list[str]:
    """Names of the images whose answer carries uncertain: true."""
    out = []
    for name, data in images.items():
        answer = client.post("/api/predict", data=data, content_type="image/png").get_json()
        if answer["uncertain"]:
            out.append(name)
    return out


def measure(weights: Path, mnist) -> dict:
    app = create_app({"WEIGHTS_PATH": str(weights), "TESTING": True})
    client = app.test_client()
    drawings, silhouettes = not_digit_drawings(), not_digit_silhouettes()
    letters = {c: typeset(c) for c in LETTERS}
    predictor = app.extensions["digits"].get().predictor
    pred = predictor.predict(mnist.test_x.numpy().astype(np.float32) / 255)
    wrong = pred.digits != mnist.test_y.numpy()
    val_x = split_validation(mnist.train_x, mnist.train_y, TrainSettings().val_size)[2]
    val = predictor.predict(val_x.numpy().astype(np.float32) / 255)
    hits_d, hits_s, hits_l = flagged(client, drawings), flagged(client, silhouettes), flagged(client, letters)
    return {
        "weights": str(weights),
        "drawings": [len(hits_d), len(drawings)],
        "silhouettes": [len(hits_s), len(silhouettes)],
        "letters": [len(hits_l), len(letters)],
        "missed_drawings": sorted(set(drawings) - set(hits_d)),
        "missed_silhouettes": sorted(set(silhouettes) - set(hits_s)),
        "missed_letters": sorted(set(letters) - set(hits_l)),
        "mnist_flagged": float(pred.uncertain.mean()),
        "validation_flagged": float(val.uncertain.mean()),
        "accuracy": float(1 - wrong.mean()),
        "errors_flagged": float(pred.uncertain[wrong].mean()) if wrong.any() else float("nan"),
    }


def row(r: dict) -> tuple:
    share = lambda hits: f"{hits[0]}/{hits[1]} ({100 * hits[0] / hits[1]:.0f} %)"  # noqa: E731
    return (
        r["weights"],
        share(r["drawings"]),
        share(r["silhouettes"]),
        share(r["letters"]),
        f"{100 * r['mnist_flagged']:.2f} %",
        f"{100 * r['errors_flagged']:.0f} %",
        f"{100 * r['validation_flagged']:.2f} %",
        f"{100 * r['accuracy']:.2f} %",
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("weights", type=Path, nargs="*", default=[REPO / "artifacts" / "model.safetensors"])
    args = p.parse_args(argv)
    mnist = load_mnist(resolve_root(None))
    results = [measure(w, mnist) for w in args.weights]
    md = table(
        (
            "weights",
            "drawn non-digits flagged",
            "animal silhouettes flagged",
            "typeset letters flagged",
            "MNIST test digits flagged",
            "of its MNIST mistakes flagged",
            "validation images flagged",
            "MNIST accuracy",
        ),
        [row(r) for r in results],
    )
    missed = "\n".join(
        f"- {r['weights']}: drawings not flagged: {', '.join(r['missed_drawings'])}; "
        f"silhouettes not flagged: {', '.join(r['missed_silhouettes'])}; "
        f"letters not flagged: {' '.join(r['missed_letters'])}"
        for r in results
    )
    report("ood", argv, machine(), f"{md}\n\n{missed}", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
