"""How the compare view should ask N models about one drawing: measured in Chromium against the server (`make serve`).

    python benchmarks/compare_requests.py        # the default model and every artifacts/models/NAME (make zoo)

Strategies, each timed in the page with performance.now() from the first request to the last answer parsed,
interleaved round by round so load on the machine falls on all of them alike:
  parallel: one POST /api/predict?model=NAME&activations=1 per model with the drawing as PNG, all sent at once
      (what service/static/compare.js does);
  sequential: the same requests, each sent when the previous answer has arrived;
  parallel pixels: all at once, with the 28×28 pixels the first answer returned (JSON), so the server decodes and
      preprocesses the PNG once instead of N times.
The service has no route that answers for several models in one request, so that option is not measured.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT), str(REPO_ROOT / "tests" / "browser")]

from browser_kit import draw_seven, launch, prediction  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from benchmarks.common import REPO, machine, report, table  # noqa: E402
from benchmarks.live_server import free_port, start_server, stop, wait_ready  # noqa: E402

STRATEGIES = ("parallel", "sequential", "parallel pixels")

# One round: every strategy once, in the page. Returns {strategy: milliseconds}.
ROUND_JS = """async (models) => {
  const blob = await new Promise((resolve) => document.getElementById('pad').toBlob(resolve, 'image/png'));
  const pixels = window.digits.prediction.input.pixels;
  const png = (m) => { const f = new FormData(); f.append('image', blob, 'drawing.png');
    return fetch(`/api/predict?activations=1&model=${m}`, { method: 'POST', body: f }).then((r) => r.json()); };
  const json = (m) => fetch(`/api/predict?activations=1&model=${m}`, { method: 'POST',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ pixels }) }).then((r) => r.json());
  const timed = async (run) => { const t = performance.now(); const answers = await run();
    if (answers.some((a) => a.digit === undefined)) throw new Error(JSON.stringify(answers[0]));
    return performance.now() - t; };
  return {
    'parallel': await timed(() => Promise.all(models.map(png))),
    'sequential': await timed(async () => {
      const out = [];
      for (const m of models) out.push(await png(m));
      return out;
    }),
    'parallel pixels': await timed(() => Promise.all(models.map(json))),
  };
}"""


def measure(url: str, rounds: int) -> dict:
    """Draw a 7, list the served models, time every strategy ROUNDS times; also the whole compare view."""
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url + "/")
        draw_seven(page)
        prediction(page)
        models = page.evaluate("() => fetch('/api/models').then(r => r.json())")["models"]
        names = [m["name"] for m in models if m["state"] == "ready"]
        page.evaluate(ROUND_JS, names)  # warm-up: connections, caches
        runs = [page.evaluate(ROUND_JS, names) for _ in range(rounds)]
        page.locator("[data-testid=compare-open]").click()
        page.wait_for_function("() => document.getElementById('compare-groups').dataset.state === 'idle'")
        view = page.evaluate("() => window.digits.compare.lastMs")
        browser.close()
    return {"models": names, "runs": runs, "compare_view_ms": view}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--weights", type=Path, default=REPO / "artifacts" / "model.safetensors")
    p.add_argument("--name", default="mnist-mlp", help="the default model's name")
    p.add_argument("--models", type=Path, default=REPO / "artifacts" / "models")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--rounds", type=int, default=20)
    args = p.parse_args(argv)
    info, port = machine(), free_port()
    env = {"DIGITS_MODELS": str(args.models), "DIGITS_MODEL_NAME": args.name}
    server = start_server(args.weights, port, args.workers, extra_env=env)
    try:
        wait_ready(port, server)
        result = measure(f"http://127.0.0.1:{port}", args.rounds)
    finally:
        stop(server)
    medians = {s: statistics.median(r[s] for r in result["runs"]) for s in STRATEGIES}
    rows = [(s, f"{medians[s]:.0f}", f"{min(r[s] for r in result['runs']):.0f}") for s in STRATEGIES]
    md = table((f"{len(result['models'])} models, {args.workers} server workers", "median ms", "best ms"), rows)
    md += f"\n\nThe compare view itself (requests and drawing every card): {result['compare_view_ms']:.0f} ms."
    report("compare_requests", argv, info, md, result | {"medians": medians})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
