"""Draw a digit on the real page in headless Chromium, open a busy neuron, and save docs/screenshot.png.

.venv/bin/python tests/browser/screenshot.py --weights artifacts/model.safetensors [--out docs/screenshot.png]
.venv/bin/python tests/browser/screenshot.py --compare      # the compare tab with every model: docs/compare.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2])]

from browser_kit import Watch, draw_seven, launch, prediction, serve  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from service import create_app  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--weights", type=Path, default=Path("artifacts/model.safetensors"), help="(default: %(default)s)"
    )
    parser.add_argument(
        "--models", type=Path, default=Path("artifacts/models"), help="the other models' folder (default: %(default)s)"
    )
    parser.add_argument("--compare", action="store_true", help="shoot the compare tab instead of one network")
    parser.add_argument("--out", type=Path, help="(default: docs/screenshot.png, or docs/compare.png with --compare)")
    parser.add_argument("--width", type=int, default=1600, help="viewport width in CSS pixels (default: %(default)s)")
    args = parser.parse_args(argv)
    out = args.out or Path("docs/compare.png" if args.compare else "docs/screenshot.png")
    watch = Watch()
    config = {"WEIGHTS_PATH": str(args.weights), "MODELS_DIR": str(args.models)}
    with serve(create_app(config)) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": args.width, "height": 1000})
        watch.attach(page)
        page.goto(url + "/")
        draw_seven(page)
        prediction(page)
        (show_compare if args.compare else open_busiest_neuron)(page)
        page.mouse.move(0, 0)
        page.wait_for_timeout(300)  # let the bars finish their transition
        page.screenshot(path=str(out), full_page=True)
        browser.close()
    print(f"saved {out}" + (f"; page problems: {watch.problems}" if watch.problems else ""))
    return 1 if watch.problems else 0


def open_busiest_neuron(page) -> None:
    busiest = page.evaluate(
        "() => { const a = window.digits.prediction.layers[0].a; return a.indexOf(Math.max(...a)) }"
    )
    page.locator(f"[data-testid=neuron][data-layer=hidden1][data-index='{busiest}']").click()
    page.wait_for_function("() => document.querySelector('[data-testid=neuron-z]').dataset.value")


def show_compare(page) -> None:
    page.wait_for_selector("[data-testid=model-picker][data-ready=true]")
    page.locator("[data-testid=compare-open]").click()
    page.wait_for_function("() => document.getElementById('compare-groups').dataset.state === 'idle'")


if __name__ == "__main__":
    sys.exit(main())
