"""The zoo on the MNIST test set: each model's accuracy and how many of its hidden neurons are switched off.

    make zoo && python benchmarks/zoo.py          # every artifacts/models/NAME/model.safetensors

Switched off, for one neuron on one input, is what the page's compare view counts (service/static/compare.js):
  relu: dead, a = 0;  leaky_relu: on its small slope, a < 0;  elu: saturated, a < −0.99α;
  sigmoid: saturated, a < 0.01 or a > 0.99;  tanh: saturated, |a| > 0.99;  maxout: never (it has no flat part).
Two figures per model, over the 10,000 test images: the mean share of hidden neurons switched off per image
(what the page shows for one drawing, averaged), and the share switched off on every image (never on at all).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import DOCS, REPO, bar_panels, machine, report, table  # noqa: E402
from model import MLP, load_weights  # noqa: E402
from model.files import WEIGHTS  # noqa: E402
from training.data import load_mnist, resolve_root, to_inputs  # noqa: E402

OFF = {
    "relu": ("dead", lambda a, cfg: a <= 0),
    "leaky_relu": ("on the 0.01 slope", lambda a, cfg: a < 0),
    "elu": ("saturated", lambda a, cfg: a < -0.99 * cfg.elu_alpha),
    "sigmoid": ("saturated", lambda a, cfg: (a < 0.01) | (a > 0.99)),
    "tanh": ("saturated", lambda a, cfg: a.abs() > 0.99),
    "maxout": ("never off", lambda a, cfg: torch.zeros_like(a, dtype=torch.bool)),
}


@torch.inference_mode()
def measure(model: MLP, x: torch.Tensor, y: torch.Tensor) -> dict:
    """Test accuracy and, per hidden layer, the shares of neurons switched off (per image, and on every image)."""
    traces = model.trace(x)
    what, rule = OFF[model.config.activation]
    off = [rule(t.a, model.config) for t in traces[:-1]]  # per hidden layer: (N, n) bool
    return {
        "test_accuracy": (traces[-1].a.argmax(dim=1) == y).float().mean().item(),
        "what": what,
        "per_image": [o.float().mean().item() for o in off],
        "always": [o.all(dim=0).float().mean().item() for o in off],
    }


def describe(cfg) -> str:
    """The network in one line: sizes, activation, init, dropout, batch norm."""
    sizes = "-".join(str(n) for n in [784, *cfg.hidden, 10])
    return f"{sizes} {cfg.activation}, {cfg.init}, dropout {cfg.dropout:g}{', batch norm' if cfg.batch_norm else ''}"


def per_layer(shares: list[float]) -> str:
    """Percentages, one per hidden layer: "12.3" or "12.3 / 45.6"."""
    return " / ".join(f"{100 * s:.1f}" for s in shares)


def row(name: str, cfg, r: dict, seconds: float | None) -> tuple:
    return (
        name,
        describe(cfg),
        f"{100 * r['test_accuracy']:.2f}",
        r["what"],
        per_layer(r["per_image"]),
        per_layer(r["always"]),
        "—" if seconds is None else f"{seconds:.0f}",
    )


def plot(path: Path, results: dict[str, dict]) -> None:
    acc = [100 * r["test_accuracy"] for r in results.values()]
    off = [100 * sum(r["per_image"]) / len(r["per_image"]) for r in results.values()]
    panels = [("test accuracy (%)", acc), ("hidden neurons switched off per test image (%, mean)", off)]
    bar_panels(path, list(results), panels, rotation=40, height=4.2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument(
        "--models", type=Path, default=REPO / "artifacts" / "models", help="folder of NAME/model.safetensors"
    )
    p.add_argument("--plot", type=Path, default=DOCS / "zoo.png")
    args = p.parse_args(argv)
    paths = sorted(args.models.glob(f"*/{WEIGHTS}"), key=lambda q: (q.parent.name != "baseline", q.parent.name))
    if not paths:
        p.error(f"no {WEIGHTS} under {args.models}/*/: run `make zoo` first")
    info, mnist = machine(), load_mnist(resolve_root(None))
    x, y = to_inputs(mnist.test_x), mnist.test_y
    results, rows = {}, []
    for path in paths:
        model, _ = load_weights(path)
        metrics = path.parent / "metrics.json"
        seconds = json.loads(metrics.read_text()).get("train_seconds") if metrics.is_file() else None
        results[path.parent.name] = r = measure(model, x, y) | {"train_seconds": seconds}
        rows.append(row(path.parent.name, model.config, r, seconds))
    headers = (
        "model",
        "network",
        "test accuracy (%)",
        "switched off means",
        "switched off per image (%, mean; per layer)",
        "off on every image (%)",
        "training s",
    )
    report("zoo", argv, info, table(headers, rows), results, args.plot)
    plot(args.plot, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
