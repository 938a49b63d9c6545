"""Time preprocessing of one 1280×960 phone photo (JPEG) per request, and of the same photo showing the desk past two
of the page's edges, and past all four (a card in the frame): this tree against older revisions. Also the same photo
saved as the HEIC and AVIF phones make, at 1280×960 and scaled up to 12 megapixels (4032×3024), against its JPEG.

    python benchmarks/preprocess_speed.py                       # against ba8cad6, before photographs were read
    python benchmarks/preprocess_speed.py --against ba8cad6 --against b70c11a --rounds 60
    python benchmarks/preprocess_speed.py --skimage /tmp/skimage   # also scikit-image's versions of the three
                                                                   # OpenCV steps (installed with pip --target)

The variants run interleaved, round after round, on one thread, and the medians are reported, so a busy machine
slows all alike.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

import cv2  # noqa: E402

from benchmarks.common import machine, report, table  # noqa: E402
from service import paper, paper_lines  # noqa: E402
from service.paper_lines import AXES, RUN, THICK  # noqa: E402
from service.preprocess import preprocess  # noqa: E402
from tests.captures import LARGE, _photo  # noqa: E402
from training.data import load_mnist, resolve_root  # noqa: E402


def _module_at(rev: str, path: str, name: str):
    """The file at REV imported as module `name`, or None where REV has no such file."""
    source = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=REPO, capture_output=True)
    if source.returncode:
        return None
    file = Path(tempfile.mkdtemp()) / f"{name}.py"
    file.write_bytes(source.stdout)
    spec = importlib.util.spec_from_file_location(name, file)
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def old_preprocess(rev: str):
    """service/preprocess.py as it was at REV, with the service/paper*.py and sheet.py of REV it imports."""
    import service

    kept = {name: getattr(service, name, None) for name in ("paper", "paper_lines", "sheet")}
    try:
        for name in kept:  # `from service import paper` and `from service.paper import …` must find the old module
            old = _module_at(rev, f"service/{name}.py", f"{name}_at_{rev}")
            if old is not None:
                setattr(service, name, old)
                sys.modules[f"service.{name}"] = old
        return _module_at(rev, "service/preprocess.py", f"preprocess_at_{rev}").preprocess
    finally:
        for name, module in kept.items():
            setattr(service, name, module)
            if module is not None:
                sys.modules[f"service.{name}"] = module


def _sizes(page: np.ndarray) -> tuple[int, int]:
    """service/paper.py's plan reduction and closing kernel for an image of this size."""
    h, w = page.shape
    f = max(1, min(h, w) // paper.PLAN_SIDE)
    return f, max(3, int(paper.CLOSING * min(h // f, w // f)) | 1)


def skimage_steps(ink: np.ndarray, page: np.ndarray):
    """scikit-image's closing, line openings with labelling, and labelling, on the same images as OpenCV's."""
    from skimage.measure import label, regionprops
    from skimage.morphology import closing, footprint_rectangle, opening
    from skimage.transform import rescale

    f, k = _sizes(page)
    grey = np.round(ink * 255).astype(np.uint8)

    def run():
        small = rescale(page, 1 / f, anti_aliasing=True) if f > 1 else page
        closing(small, footprint_rectangle((k, k)))
        for along, across in (((1, RUN), (THICK, 1)), ((RUN, 1), (1, THICK))):
            lines = opening(grey, footprint_rectangle(along))
            thin = lines - np.minimum(opening(lines, footprint_rectangle(across)), lines)
            regionprops(label(thin > 12, connectivity=2))
        regionprops(label(ink > 0.1, connectivity=2), ink)

    return run


def opencv_steps(ink: np.ndarray, page: np.ndarray):
    """The same three steps with OpenCV, as service/paper.py and service/paper_lines.py call them."""
    _, k = _sizes(page)
    grey = cv2.convertScaleAbs(ink, alpha=255)

    def run():
        small, _ = paper.plan(page)
        cv2.morphologyEx(small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
        for size in AXES:
            paper_lines._thin(grey, paper_lines.FAINT * 0.05, 0.05, paper_lines.PRINT_INK, size)
        mask = (ink > 0.1).astype(np.uint8)
        cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)

    return run


def phone_formats(jpeg: bytes) -> dict[str, bytes]:
    """The photo as a phone could save it: JPEG (quality 88), HEIC and AVIF (quality 60), at its own size and at
    12 megapixels (4032×3024, bicubic, a little sensor noise so that the encoders have detail to keep)."""
    from PIL import Image

    import service.decode  # noqa: F401  (registers HEIC)

    photo = Image.open(io.BytesIO(jpeg)).convert("RGB")
    big = np.asarray(photo.resize((4032, 3024), Image.Resampling.BICUBIC), np.float32)
    big = Image.fromarray(np.clip(big + np.random.default_rng(0).normal(0, 1, big.shape), 0, 255).astype(np.uint8))
    out = {}
    for size, img in ((f"{photo.width}×{photo.height}", photo), ("4032×3024", big)):
        for fmt, quality in (("JPEG", 88), ("HEIF", 60), ("AVIF", 60)):
            buf = io.BytesIO()
            img.save(buf, fmt, quality=quality)
            out[f"{size} {'HEIC' if fmt == 'HEIF' else fmt}, {len(buf.getvalue()) // 1000:,} kB"] = buf.getvalue()
    return out


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
    p.add_argument("--against", action="append", help="git revision of an older preprocessing, once or more "
                   "(default: ba8cad6, before photos were read)")  # fmt: skip
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--skimage", type=Path, help="a folder where scikit-image is installed (pip install --target)")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    mnist = load_mnist(resolve_root(None))
    digit = mnist.test_x[0].numpy()
    data = _photo(digit, np.random.default_rng(0), "ruled", LARGE)
    photos = {"": data} | {
        f", the desk past {sides} edges": _photo(digit, np.random.default_rng(0), "ruled", replace(LARGE, desk=(n, n)))
        for sides, n in (("two", 2), ("all four", 4))
    }  # the same photo, on a desk
    ways = {f"preprocess at {rev}": old_preprocess(rev) for rev in args.against or ["ba8cad6"]}
    ways["preprocess now"] = preprocess
    variants = {f"{name}{on}": partial(run, photo) for on, photo in photos.items() for name, run in ways.items()}
    variants |= {f"preprocess now, {name}": partial(preprocess, photo) for name, photo in phone_formats(data).items()}
    from service.decode import open_image
    from service.preprocess import _flat, _shrink, _to_array

    gray = _to_array(_shrink(_flat(open_image(data)))[0])  # (480, 640): the service's working image
    ink = paper.flatten(gray, True).ink
    variants["OpenCV: closing, line openings, components"] = opencv_steps(ink, gray)
    if args.skimage:
        sys.path.insert(0, str(args.skimage))
        variants["scikit-image: the same three steps"] = skimage_steps(ink, gray)
    ms = median_ms(variants, args.rounds)
    md = table(("step (1280×960 JPEG)", "median ms"), [(name, f"{v:.1f}") for name, v in ms.items()])
    report("preprocess_speed", argv, machine(), md, ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
