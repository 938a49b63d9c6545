"""Which part of a phone photo costs digits: the same photos taken again with one condition at its hardest end.

    python benchmarks/photo_conditions.py                          # artifacts/model.safetensors, 300 photos
    python benchmarks/photo_conditions.py A.safetensors --photos 600 --seed 2

benchmarks/uploads.py reads photos whose every condition (pen, turn, size, tilt, blur, light, noise, JPEG, shadow)
is drawn from its range at once, so a condition that costs digits only at one end of its range is averaged away.
Here each photo (a MNIST *test* digit on plain, ruled or squared paper in turn, tests/captures.py) is taken once
as made and once per condition with that condition held at its hardest end (tests.captures.Photo) and every other
draw the same: photo i has its own generator, seeded (seed, i), and a held range still takes its draw. So a
condition's row differs from the first only by that condition, and `lost` / `won` count the photos read right as
made and wrong with it held, and the reverse. The pencil row writes the same photos in graphite instead of ink;
the last two rows hold all of them at once, in ink and in pencil. Every photo goes through
service.preprocess and the service's Predictor, as /api/predict answers it; a 422 counts as a wrong answer.

A second table takes blank pages (--blanks of them, no digit written, plain, ruled and squared in turn, page i's
generator seeded (seed, 1, i)) as made and with every condition at its hardest, and counts those answered with a
digit where the service should say 422: what the preprocessing takes for writing on a page that has none.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from benchmarks.common import machine, report, served_predictor, table  # noqa: E402
from benchmarks.uploads import answers, pct  # noqa: E402
from tests.captures import PENCILS, PHOTO, Photo, _photo  # noqa: E402
from training.data import load_mnist, resolve_root  # noqa: E402

HARDEST = {
    "thinnest pen (3 % of the digit's height)": {"pen": (0.03, 0.03)},
    "thickest pen (12 %, MNIST's)": {"pen": (0.12, 0.12)},
    "digit turned 4°": {"turn": (4, 4)},
    "smallest digit (a quarter of the short side)": {"height": (0.25, 0.25)},
    "camera turned 3°": {"tilt": (3, 3)},
    "most blur (radius 1.2 px)": {"blur": (1.2, 1.2)},
    "light falling off 40 %, evenly": {"falloff": (0.4, 0.4), "falloff_power": (1, 1)},
    "most noise (σ 7 grey levels)": {"noise": (7, 7)},
    "JPEG quality 60": {"quality": (60, 60)},
    "largest frame (1280×960)": {"frame": (1280, 960)},
    "a shadow at the border": {"shadow": True},
    "pencil (graphite, HB to 2H)": {"pens": PENCILS},
    "the desk past all four of the page's edges (a card in the frame)": {"desk": (4, 4)},
    "the desk past two of the page's edges": {"desk": (2, 2)},  # last: the rows all at once take two, as before
}
PAPERS = ("plain", "ruled", "squared")
BLANK_CONDITIONS = ("as made", "all of them at once")  # a blank page has no pen: ink and pencil alike


def conditions() -> dict[str, Photo]:
    """Name → how the photos are taken: as made, each condition at its hardest alone, then all of them at once."""
    out = {"as made": PHOTO} | {name: replace(PHOTO, **held) for name, held in HARDEST.items()}
    hardest = {k: v for held in HARDEST.values() for k, v in held.items()} | {"pen": (0.03, 0.03)}  # the thin pen
    out["all of them at once"] = replace(PHOTO, **hardest | {"pens": PHOTO.pens})  # in ink, as before the pencil
    out["all of them at once, in pencil"] = replace(PHOTO, **hardest)
    return out


def photos(mnist, how: Photo, n: int, seed: int) -> tuple[list[bytes], np.ndarray]:
    """n photos of n different MNIST test digits taken HOW, paper by paper in turn, and their labels."""
    picks = np.random.default_rng(seed).choice(len(mnist.test_x), n, replace=False)
    x, y = mnist.test_x.numpy(), mnist.test_y.numpy()
    data = [_photo(x[j], np.random.default_rng([seed, i]), PAPERS[i % 3], how) for i, j in enumerate(picks)]
    return data, y[picks]


def blank_pages(how: Photo, n: int, seed: int) -> tuple[list[bytes], list[str]]:
    """n photos of blank pages taken HOW, paper by paper in turn, and their papers."""
    empty = np.zeros((28, 28), np.uint8)
    papers = [PAPERS[i % 3] for i in range(n)]
    return [_photo(empty, np.random.default_rng([seed, 1, i]), paper, how) for i, paper in enumerate(papers)], papers


def answered(predictor, how: Photo, n: int, seed: int) -> dict[str, list[int]]:
    """Per paper, [answered with a digit (not 422), taken] of n blank pages taken HOW."""
    data, papers = blank_pages(how, n, seed)
    _, _, refused = answers(predictor, data)
    got = {paper: [0, 0] for paper in PAPERS}
    for paper, no in zip(papers, refused.tolist()):
        got[paper][0] += not no
        got[paper][1] += 1
    return got


def read(predictor, data: list[bytes], labels: np.ndarray) -> dict[str, np.ndarray]:
    """Per photo: read right, refused (422), flagged uncertain."""
    digits, flagged, refused = answers(predictor, data)
    return {"right": digits == labels, "refused": refused, "flagged": flagged}


def measure(weights: Path, mnist, n: int, seed: int, blanks: int) -> tuple[dict[str, dict], dict[str, dict]]:
    """Per condition, the photos' counts; per condition of the blank pages, those answered per paper."""
    predictor = served_predictor(weights)
    ways = conditions()
    blank = {name: answered(predictor, ways[name], blanks, seed) for name in BLANK_CONDITIONS} if blanks else {}
    taken = {name: read(predictor, *photos(mnist, how, n, seed)) for name, how in ways.items()}
    made = taken["as made"]["right"]
    return {
        name: {
            "n": n,
            "right": int(a["right"].sum()),
            "refused": int(a["refused"].sum()),
            "flagged": int(a["flagged"].sum()),
            "sure_right": int((a["right"] & ~a["flagged"]).sum()),
            "lost": int((made & ~a["right"]).sum()),
            "won": int((~made & a["right"]).sum()),
        }
        for name, a in taken.items()
    }, blank


def markdown(weights: str, rows: dict[str, dict], blank: dict[str, dict], blanks: int) -> str:
    head = ("photos taken with", "correct", "422", "flagged uncertain", "correct when not flagged", "lost", "won")
    lines = [
        (
            name,
            f"{r['right']}/{r['n']} ({pct(r['right'], r['n'])})",
            r["refused"],
            pct(r["flagged"], r["n"]),
            pct(r["sure_right"], r["n"] - r["refused"] - r["flagged"]),
            r["lost"],
            r["won"],
        )
        for name, r in rows.items()
    ]
    out = f"**{weights}**\n\n" + table(head, lines)
    if blank:
        cells = [
            (name, *(f"{a} of {n}" for a, n in got.values()), f"{sum(a for a, _ in got.values())} of {blanks}")
            for name, got in blank.items()
        ]
        out += "\n\nBlank pages answered with a digit (the service should say 422):\n\n"
        out += table(("blank pages taken with", *PAPERS, "all"), cells)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("weights", type=Path, nargs="*", default=[REPO / "artifacts" / "model.safetensors"])
    p.add_argument("--photos", type=int, default=300, help="photos per condition (default: 300, the issue's set)")
    p.add_argument("--seed", type=int, default=1, help="seed of the digits and the photos (default: 1)")
    p.add_argument("--blanks", type=int, default=600, help="blank pages per condition (default: 600; 0: none)")
    args = p.parse_args(argv)
    mnist = load_mnist(resolve_root(None))
    results = {str(w): measure(w, mnist, args.photos, args.seed, args.blanks) for w in args.weights}
    md = "\n\n".join(markdown(w, rows, blank, args.blanks) for w, (rows, blank) in results.items())
    report("photo_conditions", argv, machine(), md, {w: {"photos": r, "blank": b} for w, (r, b) in results.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
