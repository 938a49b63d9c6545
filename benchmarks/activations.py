"""Six activation functions in the same network: test accuracy, training time, and dead or saturated neurons.

    python benchmarks/activations.py            # 784-256-10, 3 epochs each, the default recipe otherwise

Each network is trained by the real trainer (training.trainer.run), then its hidden layer is traced on the
10,000 test images. Definitions (see docs/benchmarks.md):
  dead (relu, leaky_relu, elu): a neuron whose pre-activation z = w·x + b is ≤ 0 on every test image, so it sits
      on the flat (relu) or small-slope (leaky, elu) side for all inputs;
  saturated (sigmoid, tanh): a neuron whose activation is within 1 % of the output range of a bound
      (sigmoid a < 0.01 or a > 0.99; tanh |a| > 0.98) on more than half of the test images;
  single-piece (maxout): a neuron whose same linear piece wins on every test image, i.e. it acts as one linear unit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import DOCS, bar_panels, machine, report, table  # noqa: E402
from model import MLP, MLPConfig, load_weights  # noqa: E402
from training.data import load_mnist, resolve_root, to_inputs  # noqa: E402
from training.settings import TrainSettings  # noqa: E402
from training.trainer import run  # noqa: E402

ACTIVATIONS = ("relu", "leaky_relu", "elu", "maxout", "sigmoid", "tanh")
# Each activation with the initialisation made for it: Glorot's for the S-shaped ones, He's for the rest.
INIT = {"sigmoid": "xavier", "tanh": "xavier"}
SATURATION = 0.01  # fraction of the output range
MOST = 0.5  # "most inputs"


@torch.inference_mode()
def inactive_share(model: MLP, x: torch.Tensor) -> tuple[str, float]:
    """(what is counted, share of hidden neurons counted) for the model's activation, per the module docstring."""
    name = model.config.activation
    hidden = model.trace(x)[0]  # z, a: (N, n)
    if name in ("relu", "leaky_relu", "elu"):
        return "dead", (hidden.z <= 0).all(dim=0).float().mean().item()
    if name == "maxout":
        z = model.hidden[0](x).view(len(x), -1, model.config.pieces)  # (N, n, k)
        winners = z.argmax(dim=-1)  # (N, n)
        return "single-piece", (winners == winners[0]).all(dim=0).float().mean().item()
    low, high = (0.0, 1.0) if name == "sigmoid" else (-1.0, 1.0)
    margin = SATURATION * (high - low)
    near_bound = (hidden.a < low + margin) | (hidden.a > high - margin)  # (N, n)
    return "saturated", (near_bound.float().mean(dim=0) > MOST).float().mean().item()


def train_one(activation: str, args, root: Path, out_dir: Path) -> dict:
    settings = TrainSettings(
        model=MLPConfig(hidden=(args.hidden,), activation=activation, init=INIT.get(activation, "he")),
        epochs=args.epochs,
        seed=args.seed,
        data_dir=root,
        out=out_dir / activation / "m.safetensors",
        progress=False,
        device="cpu",
        threads=args.threads,
    )
    metrics = run(settings)
    return {"test_accuracy": metrics["test_accuracy"], "seconds": metrics["train_seconds"], "out": settings.out}


def plot(path: Path, results: dict[str, dict]) -> None:
    panels = [
        ("test accuracy (%)", [100 * r["test_accuracy"] for r in results.values()]),
        ("training seconds", [r["seconds"] for r in results.values()]),
        ("dead / saturated / single-piece neurons (%)", [100 * r["share"] for r in results.values()]),
    ]
    bar_panels(path, list(results), panels, rotation=30, height=4)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--plot", type=Path, default=DOCS / "activations.png")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)  # the trainer sets it too; here so the machine line says so
    root, info = resolve_root(None), machine()
    test_x = to_inputs(load_mnist(root).test_x)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ACTIVATIONS:
            r = train_one(name, args, root, Path(tmp))
            r["measure"], r["share"] = inactive_share(load_weights(r.pop("out"))[0], test_x)
            results[name] = r
    rows = [
        (
            name,
            INIT.get(name, "he"),
            f"{100 * r['test_accuracy']:.2f}",
            f"{r['seconds']:.1f}",
            f"{100 * r['share']:.1f} % {r['measure']}",
        )
        for name, r in results.items()
    ]
    md = table(
        (
            f"activation (784-{args.hidden}-10, {args.epochs} epochs)",
            "init",
            "test accuracy (%)",
            "training seconds",
            "dead / saturated / single-piece neurons",
        ),
        rows,
    )
    plot(args.plot, results)
    report("activations", argv, info, md, results, args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
