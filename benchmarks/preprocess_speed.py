"""Time preprocessing of one 1280×960 phone photo (JPEG) per request: this tree against an older revision.

    python benchmarks/preprocess_speed.py                       # against ba8cad6, before photographs were read
    python benchmarks/preprocess_speed.py --against HEAD~3 --rounds 60
    python benchmarks/preprocess_speed.py --skimage /tmp/skimage   # also scikit-image's versions of the three
                                                                   # OpenCV steps (installed with pip --target)

The variants run interleaved, round after round, on one thread, and the medians are reported, so a busy machine
slows both alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

import cv2  # noqa: E402

from benchmarks.common import machine, report, table  # noqa: E402
from service import paper  # noqa: E402
from service.preprocess import preprocess  # noqa: E402
from tests.captures import _photo  # noqa: E402
from training.data import load_mnist, resolve_root  # noqa: E402


def old_preprocess(rev: str):
    """service/preprocess.py as it was at REV, imported under another name."""
    source = subprocess.run(["git", "show", f"{rev}:service/preprocess.py"], cwd=REPO, check=True, capture_output=True)
    path = Path(tempfile.mkdtemp()) / "preprocess_old.py"
    path.write_bytes(source.stdout)
    spec = importlib.util.spec_from_file_location("preprocess_old", path)
    module = sys.modules["preprocess_old"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.preprocess


def _sizes(page: np.ndarray) -> tuple[int, int, int, int, int]:
    """service/paper.py's plan reduction, closing kernel and Hough settings for an image of this size."""
    h, w = page.shape
    f = max(1, round(min(h, w) / paper.PLAN_SIDE))
    k = max(3, int(paper.CLOSING * min(h // f, w // f)) | 1)
    length = int(paper.LINE_SPAN * min(h, w))
    return f, k, length // 2, length, int(0.2 * max(h, w))


def skimage_steps(ink: np.ndarray, page: np.ndarray):
    """scikit-image's closing, probabilistic Hough transform and labelling on the same images as OpenCV's."""
    from skimage.measure import label, regionprops
    from skimage.morphology import closing, footprint_rectangle
    from skimage.transform import probabilistic_hough_line, rescale

    f, k, votes, length, gap = _sizes(page)
    angles = np.linspace(-np.pi / 2, np.pi / 2, 360, endpoint=False)

    def run():
        small = rescale(page, 1 / f, anti_aliasing=True) if f > 1 else page
        closing(small, footprint_rectangle((k, k)))
        mask = ink > 0.1
        probabilistic_hough_line(mask, threshold=votes, line_length=length, line_gap=gap, theta=angles)
        regionprops(label(mask, connectivity=2), ink)

    return run


def opencv_steps(ink: np.ndarray, page: np.ndarray):
    """The same three steps with OpenCV, as service/paper.py calls them."""
    f, k, votes, length, gap = _sizes(page)
    h, w = page.shape

    def run():
        small = cv2.resize(page, (w // f, h // f), interpolation=cv2.INTER_AREA) if f > 1 else page
        cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
        mask = (ink > 0.1).astype(np.uint8)
        cv2.HoughLinesP(mask * 255, 1, np.pi / 360, votes, None, minLineLength=length, maxLineGap=gap)
        cv2.connectedComponentsWithStats(mask, connectivity=8)

    return run


def median_ms(variants: dict, rounds: int) -> dict[str, float]:
    """Median milliseconds of each callable, run interleaved."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            times[name].append(1000 * (time.perf_counter() - start))
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--against", default="ba8cad6", help="git revision of the old preprocessing (default: ba8cad6)")
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--skimage", type=Path, help="a folder where scikit-image is installed (pip install --target)")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    mnist = load_mnist(resolve_root(None))
    data = _photo(mnist.test_x[0].numpy(), np.random.default_rng(0), "ruled", size=(1280, 960))
    old = old_preprocess(args.against)
    variants = {f"preprocess at {args.against}": lambda: old(data), "preprocess now": lambda: preprocess(data)}
    from service.decode import open_image
    from service.preprocess import _flat, _shrink, _to_array

    gray = _to_array(_shrink(_flat(open_image(data)))[0])  # (480, 640): the service's working image
    ink = paper.flatten(gray, True).ink
    variants["OpenCV: closing, Hough, components"] = opencv_steps(ink, gray)
    if args.skimage:
        sys.path.insert(0, str(args.skimage))
        variants["scikit-image: the same three steps"] = skimage_steps(ink, gray)
    ms = median_ms(variants, args.rounds)
    md = table(("step (1280×960 JPEG)", "median ms"), [(name, f"{v:.1f}") for name, v in ms.items()])
    report("preprocess_speed", argv, machine(), md, ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
