"""Accuracy against training time for the named recipes, from the metrics.json each training run writes.

    python -m training --out artifacts/default/model.safetensors
    python -m training --recipe best --out artifacts/best/model.safetensors
    python benchmarks/recipes.py artifacts/default/metrics.json artifacts/best/metrics.json

Plots validation accuracy after each epoch against the seconds trained so far, marks the final test accuracy,
and prints a table (docs/recipes.png, artifacts/benchmarks/recipes.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import DOCS, machine, pyplot, report, save_figure, table  # noqa: E402


def label(metrics: dict) -> str:
    """A recipe's short description: network, epochs, batch, augmentation, outliers, precision."""
    s = metrics["settings"]
    hidden = "-".join(str(n) for n in s["hidden"])
    precision = "bf16 autocast" if metrics.get("amp") else "fp32"
    return (
        f"784-{hidden}-10, {s['epochs']} epochs, batch {s['batch_size']}, lr {s['lr']:g}, augment {s['augment']}, "
        f"dropout {s['dropout']}, outlier weight {s.get('outlier_weight', 0)}, {precision}"
    )


def plot(path: Path, runs: dict[str, dict]) -> None:
    fig, ax = pyplot().subplots(figsize=(8, 5))
    for (name, m), color in zip(runs.items(), itertools.cycle(["tab:blue", "tab:orange", "tab:green", "tab:red"])):
        seconds = list(itertools.accumulate(h["seconds"] for h in m["history"]))
        ax.plot(
            seconds,
            [100 * h["val_accuracy"] for h in m["history"]],
            "o-",
            ms=3,
            color=color,
            label=f"{name}: validation",
        )
        ax.plot(
            seconds[-1],
            100 * m["test_accuracy"],
            "*",
            ms=14,
            color=color,
            label=f"{name}: test {100 * m['test_accuracy']:.2f} %",
        )
    ax.axhline(99.0, color="grey", ls="--", lw=1)
    ax.set(
        xlabel="training seconds (cumulative)",
        ylabel="accuracy (%)",
        ylim=(96, 100),
        title="Accuracy against training time",
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("metrics", type=Path, nargs="+", help="metrics.json files; the recipe name is read from each")
    p.add_argument("--plot", type=Path, default=DOCS / "recipes.png")
    args = p.parse_args(argv)
    runs = {}
    for path in args.metrics:
        m = json.loads(path.read_text())
        runs[m["settings"].get("recipe") or path.parent.name] = m
    rows = [
        (
            name,
            label(m),
            f"{100 * m['test_accuracy']:.2f}",
            f"{100 * m['val_accuracy']:.2f}",
            m["best_epoch"],
            f"{m['train_seconds']:.0f}",
            f"{m['samples_per_second']:,.0f}",
            m["device"],
        )
        for name, m in runs.items()
    ]
    md = table(
        (
            "run",
            "recipe",
            "test accuracy (%)",
            "best validation (%)",
            "best epoch",
            "training seconds",
            "samples/s",
            "device",
        ),
        rows,
    )
    plot(args.plot, runs)
    report("recipes", argv, machine(), md, rows, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
