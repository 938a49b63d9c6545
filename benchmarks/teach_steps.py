"""What one step of /api/teach does beyond the drawing: the learning rate at which the other digits start to suffer.

    python benchmarks/teach_steps.py                                   # artifacts/model.safetensors
    python benchmarks/teach_steps.py artifacts/models/act-tanh/model.safetensors

The lessons docs/api.md describes: MNIST test digits 0, 4, …, 36, each taught its right label and a wrong one (the
next digit, label + 1 mod 10), with the step /api/teach takes (service.teach.lesson_step) for every η of its sweep
(service.lr_sweep.GRID: 1e-3 … 1e3, half a decade apart). Per lesson: the loss on the drawing before the step,
whether the loss after it ever rises from one η to the next, and on 1,000 other MNIST test digits (numbers 1000 to
1999) the first η whose step costs a point of their accuracy, with the step's size there (‖η·g‖ / ‖w‖, the
sweep's `weight_change`), and the first η that leaves them at chance (≤ 15 % right).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from benchmarks.common import machine, report, table  # noqa: E402
from model import load_weights  # noqa: E402
from service.lr_sweep import GRID  # noqa: E402
from service.teach import lesson_step  # noqa: E402
from training.data import load_mnist, resolve_root  # noqa: E402

LESSONS = range(0, 40, 4)  # MNIST test digits taught
OTHERS = slice(1000, 2000)  # the digits that show the harm
CHANCE = 0.15


def lesson(model, x: torch.Tensor, target: int, others: torch.Tensor, labels: torch.Tensor, base: float) -> dict:
    """One lesson's row: the loss before, whether it rises with η, and where the other digits lose a point and all."""
    step, _, loss = lesson_step(model, x.numpy(), target)
    on_others = dataclasses.replace(step, inputs=others)  # the same stepped weights, the other digits as input
    size, row = step.relative_size(), {"target": target, "loss": float(loss), "rises": False}
    previous = None
    for eta in GRID:
        loss_after = float(F.cross_entropy(step.logits_after(eta), step.target))
        row["rises"] |= previous is not None and loss_after > previous
        previous = loss_after
        accuracy = float((on_others.logits_after(eta).argmax(1) == labels).float().mean())
        if accuracy <= base - 0.01 and "point_lr" not in row:
            row["point_lr"], row["point_change"] = eta, eta * size
        if accuracy <= CHANCE and "chance_lr" not in row:
            row["chance_lr"] = eta
    return row


def measure(weights: Path, mnist) -> dict:
    model, _ = load_weights(weights)
    model.eval()
    others, labels = mnist.test_x[OTHERS].reshape(-1, 784).float() / 255, mnist.test_y[OTHERS]
    with torch.no_grad():
        base = float((model(others).argmax(1) == labels).float().mean())
    rows = []
    for i in LESSONS:
        x, label = mnist.test_x[i].float() / 255, int(mnist.test_y[i])
        for kind, target in (("right", label), ("wrong", (label + 1) % 10)):
            rows.append({"digit": i, "label": label, "kind": kind} | lesson(model, x, target, others, labels, base))
    return {"weights": str(weights), "accuracy_on_others": base, "lessons": rows}


def _lr(value: float | None) -> str:
    return "beyond 1000" if value is None else f"{value:.3g}"


def markdown(result: dict) -> str:
    rows = [
        (
            r["digit"],
            f"{r['target']} ({r['kind']})",
            f"{r['loss']:.3g}",
            "yes" if r["rises"] else "no",
            _lr(r.get("point_lr")),
            "–" if "point_change" not in r else f"{100 * r['point_change']:.2g} %",
            _lr(r.get("chance_lr")),
        )
        for r in result["lessons"]
    ]
    head = ("test digit", "taught", "loss before", "loss rises with η", "η: −1 point", "step there", "η: chance")
    return (
        f"**{result['weights']}**: {100 * result['accuracy_on_others']:.1f} % right on the 1,000 other digits "
        f"before any step\n\n" + table(head, rows)
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("weights", type=Path, nargs="*", default=[REPO / "artifacts" / "model.safetensors"])
    args = p.parse_args(argv)
    mnist = load_mnist(resolve_root(None))
    results = [measure(w, mnist) for w in args.weights]
    report("teach_steps", argv, machine(), "\n\n".join(markdown(r) for r in results), results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
