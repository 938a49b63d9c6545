"""Draw a digit on the real page in headless Chromium, open a busy neuron, and save docs/screenshot.png.

.venv/bin/python tests/browser/screenshot.py --weights artifacts/model.safetensors [--out docs/screenshot.png]
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
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot.png"), help="(default: %(default)s)")
    parser.add_argument("--width", type=int, default=1600, help="viewport width in CSS pixels (default: %(default)s)")
    args = parser.parse_args(argv)
    watch = Watch()
    with serve(create_app({"WEIGHTS_PATH": str(args.weights)})) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": args.width, "height": 1000})
        watch.attach(page)
        page.goto(url + "/")
        draw_seven(page)
        prediction(page)
        busiest = page.evaluate(
            "() => { const a = window.digits.prediction.layers[0].a; return a.indexOf(Math.max(...a)) }"
        )
        page.locator(f"[data-testid=neuron][data-layer=hidden1][data-index='{busiest}']").click()
        page.wait_for_function("() => document.querySelector('[data-testid=neuron-z]').dataset.value")
        page.mouse.move(0, 0)
        page.wait_for_timeout(300)  # let the bars finish their transition
        page.screenshot(path=str(args.out), full_page=True)
        browser.close()
    print(f"saved {args.out}" + (f"; page problems: {watch.problems}" if watch.problems else ""))
    return 1 if watch.problems else 0


if __name__ == "__main__":
    sys.exit(main())
