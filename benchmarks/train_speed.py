"""One training epoch two ways: our whole-tensor loop against the PyTorch MNIST example's per-sample DataLoader.

    python benchmarks/train_speed.py            # both pipelines, same MLP (784-800-10), same batch size

Both train the same network with the same optimiser for one epoch over the 60,000 training images; only the
input pipeline differs. A second pair of rows times the input pipelines alone (batches produced, no training). The DataLoader runs with num_workers=0: on a 2-core machine a worker process would take
a core from the training process it feeds (pass --workers to try others).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, report, table  # noqa: E402
from model import MLP, MLPConfig  # noqa: E402
from training.data import load_mnist, resolve_root, to_inputs  # noqa: E402
from training.loop import EpochProgress, train_epoch  # noqa: E402

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # the PyTorch example's Normalize constants


def fresh_model(seed: int) -> tuple[MLP, torch.optim.Optimizer]:
    """The default recipe's network and optimiser, identically initialised for each pipeline."""
    torch.manual_seed(seed)
    model = MLP(MLPConfig(hidden=(800,), dropout=0.2))
    return model, torch.optim.Adam(model.parameters(), lr=2e-3)


def step(model: MLP, opt: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor) -> None:
    """One optimiser step, as the PyTorch example's train() takes it."""
    loss = F.cross_entropy(model(xb), yb)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def timed(fn) -> dict[str, float]:
    """Wall-clock and this process's CPU seconds for fn(); returns them with fn's sample count."""
    wall, cpu = time.perf_counter(), time.process_time()
    samples = fn()
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu, "samples": samples}


def ours(root: Path, batch_size: int, seed: int, train: bool) -> dict[str, float]:
    """One epoch of training.loop.train_epoch on whole tensors (train=False: just slice out the batches)."""
    mnist = load_mnist(root)
    x, y = to_inputs(mnist.train_x), mnist.train_y  # (60000, 784), (60000,)
    model, opt = fresh_model(seed)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))

    def epoch() -> int:
        if train:
            train_epoch(model, x, y, order, opt, None, batch_size, EpochProgress())
        else:
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                x[idx], y[idx]  # the loop's own batch slicing
        return len(order)

    return timed(epoch)


def dataloader(root: Path, batch_size: int, seed: int, workers: int, train: bool) -> dict[str, float]:
    """One epoch of the PyTorch MNIST example's pipeline: per-sample PIL → ToTensor → Normalize, collated."""
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])
    dataset = datasets.MNIST(str(root), train=True, transform=transform)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers,
                        generator=torch.Generator().manual_seed(seed))
    model, opt = fresh_model(seed)
    model.train()

    def epoch() -> int:
        for xb, yb in loader:  # (B, 1, 28, 28), (B,)
            if train:
                step(model, opt, xb, yb)
        return len(dataset)

    return timed(epoch)


def rows(results: dict[str, dict[str, float]]) -> list[tuple]:
    """Table rows: seconds, samples/s, and the speed-up over the slowest pipeline of the same kind."""
    out = []
    for kind in ("train", "input only"):
        group = {name: r for name, r in results.items() if name.startswith(kind + ":")}
        slowest = min(r["samples"] / r["wall_s"] for r in group.values())
        for name, r in group.items():
            rate = r["samples"] / r["wall_s"]
            out.append((name, f"{r['wall_s']:.2f}", f"{r['cpu_s']:.2f}", f"{rate:,.0f}", f"{rate / slowest:.1f}×"))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    root, info = resolve_root(None), machine()
    loader = f"torchvision MNIST + DataLoader (num_workers={args.workers})"
    results = {}
    for kind, train in (("train", True), ("input only", False)):
        results[f"{kind}: ours (whole tensors, training.loop)"] = ours(root, args.batch_size, args.seed, train)
        results[f"{kind}: {loader}"] = dataloader(root, args.batch_size, args.seed, args.workers, train)
    md = table((f"one epoch of 60,000 images, batch {args.batch_size}", "wall s", "CPU s", "samples/s", "speed-up"),
               rows(results))
    report("train_speed", argv, info, md, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
