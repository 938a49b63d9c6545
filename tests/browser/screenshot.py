"""Draw a digit on the real page in headless Chromium, open a busy neuron, and save docs/screenshot.png.

.venv/bin/python tests/browser/screenshot.py --weights artifacts/model.safetensors [--out docs/screenshot.png]
.venv/bin/python tests/browser/screenshot.py --compare      # the compare tab with every model: docs/compare.png
.venv/bin/python tests/browser/screenshot.py --lessons      # docs/teach.png, explain.png, screenshot.png, timeline.png
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
    parser.add_argument(
        "--lessons",
        action="store_true",
        help="shoot the teach, explain and timeline views and the whole page, every card in use, into --docs instead "
        "(the weights need their history)",
    )
    parser.add_argument("--docs", type=Path, default=Path("docs"), help="where --lessons saves (default: %(default)s)")
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
        if args.lessons:
            out = shoot_lessons(page, args.docs)
        else:
            (show_compare if args.compare else open_busiest_neuron)(page)
            settle(page)
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


def settle(page) -> None:
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)  # let the bars finish their transition


def wait_idle(page, selector: str) -> None:
    page.wait_for_selector(f"{selector}[data-state=idle]", timeout=60_000)
    page.wait_for_function("() => document.body.dataset.state === 'idle'")


def shoot(page, path: Path, *selectors: str) -> None:
    """Save the smallest part of the page that holds every element named (full width, as the page lays it out)."""
    settle(page)
    box = page.evaluate(
        """(selectors) => {
            const rects = selectors.map((s) => document.querySelector(s).getBoundingClientRect());
            const top = Math.min(...rects.map((r) => r.top)) + window.scrollY;
            const bottom = Math.max(...rects.map((r) => r.bottom)) + window.scrollY;
            const width = document.documentElement.clientWidth;
            return {x: 0, y: Math.max(top - 12, 0), width, height: bottom - top + 24};
        }""",
        list(selectors),
    )
    page.screenshot(path=str(path), full_page=True, clip=box)


def shoot_lessons(page, folder: Path) -> str:
    """Teach it a 1 with η = 0.02 (docs/teach.png), explain the answer (docs/explain.png), the whole page with every
    card in use (docs/screenshot.png), then move the timeline to where validation accuracy first passes 50 %
    (docs/timeline.png); a busy hidden neuron open throughout."""
    open_busiest_neuron(page)
    page.locator("[data-testid=teach-digit][data-digit='1']").click()
    page.locator("[data-testid=teach-lr]").fill("1")  # LEARNING_RATES[1] = 0.02 (teach.js): a step part of the way
    page.locator("[data-testid=teach-lr]").dispatch_event("change")
    wait_idle(page, "#teach")
    shoot(page, folder / "teach.png", "#teach")
    wait_idle(page, "#why")
    wait_idle(page, "#conductance-fig")
    shoot(page, folder / "explain.png", "#why")
    settle(page)
    page.screenshot(path=str(folder / "screenshot.png"), full_page=True)
    snapshots = page.evaluate("() => fetch('/api/history').then((r) => r.json())")["snapshots"]
    k = next(i for i, s in enumerate(snapshots) if (s["val_accuracy"] or 0) >= 0.5)
    page.locator("[data-testid=timeline]").fill(str(k))
    wait_idle(page, "#timeline-card")
    shoot(page, folder / "timeline.png", ".row", "#timeline-card", "#network")
    return ", ".join(str(folder / name) for name in ("teach.png", "explain.png", "screenshot.png", "timeline.png"))


def show_compare(page) -> None:
    page.wait_for_selector("[data-testid=model-picker][data-ready=true]")
    page.locator("[data-testid=compare-open]").click()
    page.wait_for_function("() => document.getElementById('compare-groups').dataset.state === 'idle'")


if __name__ == "__main__":
    sys.exit(main())
