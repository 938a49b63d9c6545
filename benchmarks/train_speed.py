"""One training epoch two ways: our whole-tensor loop against the PyTorch MNIST example's per-sample DataLoader.

    python benchmarks/train_speed.py             # default recipe's MLP (784-800-10), batch size, optimiser
    python benchmarks/train_speed.py --repeats 5 --batch-size 128

Both train the same network with the same optimiser (fused Adam), batch size and precision for one epoch over the
60,000 training images; only the input pipeline differs. Neither augments nor adds outliers (the PyTorch example
does neither). Precision: fp32, and also bf16 autocast where the CPU or GPU does bf16 natively (the default
recipe's choice there, --amp auto), each pipeline in the same precision. A second group of rows times the input
pipelines alone (batches produced, no training). Each figure is the median of --repeats epochs, the pipelines
taking turns, so a burst of load on a shared machine lands on both. The DataLoader runs with num_workers=0, as the
example does on a CPU: on a 2-core machine a worker process would take a core from the training it feeds (pass
--workers to try others).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, report, table  # noqa: E402
from model import MLP  # noqa: E402
from training.data import load_mnist, resolve_root, to_inputs  # noqa: E402
from training.device import native_bf16  # noqa: E402
from training.loop import EpochProgress, Learner, autocast, train_epoch  # noqa: E402
from training.optim import make_optimizer  # noqa: E402
from training.settings import TrainSettings  # noqa: E402

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # the PyTorch example's Normalize constants


def fresh_model(seed: int) -> tuple[MLP, torch.optim.Optimizer]:
    """The default recipe's network and optimiser, identically initialised for each pipeline."""
    defaults = TrainSettings()
    torch.manual_seed(seed)
    model = MLP(defaults.model)
    return model, make_optimizer(defaults.optimizer, model, lr=defaults.lr, weight_decay=defaults.weight_decay)


def step(model: MLP, opt: torch.optim.Optimizer, xb: torch.Tensor, yb: torch.Tensor, amp: bool) -> None:
    """One optimiser step, as the PyTorch example's train() takes it."""
    with autocast(xb.device, amp):
        loss = F.cross_entropy(model(xb), yb)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def timed(fn) -> dict[str, float]:
    """Wall-clock and this process's CPU seconds for fn(); returns them with fn's sample count."""
    wall, cpu = time.perf_counter(), time.process_time()
    samples = fn()
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu, "samples": samples}


def ours(mnist, batch_size: int, seed: int, train: bool, amp: bool) -> dict[str, float]:
    """One epoch of training.loop.train_epoch on whole tensors (train=False: just slice out the batches)."""
    x, y = to_inputs(mnist.train_x), mnist.train_y  # (60000, 784), (60000,)
    model, opt = fresh_model(seed)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))

    def epoch() -> int:
        if train:
            train_epoch(Learner(model, opt, None, amp=amp), x, y, order.split(batch_size), EpochProgress())
        else:
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                x[idx], y[idx]  # the loop's own batch slicing
        return len(order)

    return timed(epoch)


def dataloader(root: Path, batch_size: int, seed: int, workers: int, train: bool, amp: bool) -> dict[str, float]:
    """One epoch of the PyTorch MNIST example's pipeline: per-sample PIL → ToTensor → Normalize, collated."""
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])
    dataset = datasets.MNIST(str(root), train=True, transform=transform)
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=True, num_workers=workers, generator=torch.Generator().manual_seed(seed)
    )
    model, opt = fresh_model(seed)
    model.train()

    def epoch() -> int:
        for xb, yb in loader:  # (B, 1, 28, 28), (B,)
            if train:
                step(model, opt, xb, yb, amp)
        return len(dataset)

    return timed(epoch)


def median(runs: list[dict[str, float]]) -> dict[str, float]:
    """The median of each figure over repeated runs, plus every run's wall seconds."""
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return {**out, "wall_s_each": [round(r["wall_s"], 3) for r in runs]}


def rows(results: dict[str, dict[str, float]]) -> list[tuple]:
    """Table rows: seconds, samples/s, and the speed-up over the slowest pipeline of the same kind."""
    out = []
    for kind in dict.fromkeys(name.split(": ")[0] for name in results):
        group = {name: r for name, r in results.items() if name.split(": ")[0] == kind}
        slowest = min(r["samples"] / r["wall_s"] for r in group.values())
        for name, r in group.items():
            rate = r["samples"] / r["wall_s"]
            each = ", ".join(f"{s:.2f}" for s in r["wall_s_each"])
            out.append(
                (name, f"{r['wall_s']:.2f} ({each})", f"{r['cpu_s']:.2f}", f"{rate:,.0f}", f"{rate / slowest:.1f}×")
            )
    return out


def pairs(args: argparse.Namespace, root: Path) -> dict[str, tuple]:
    """{row name: (function, arguments)} for every pipeline and precision to time."""
    mnist, loader = load_mnist(root), f"torchvision MNIST + DataLoader (num_workers={args.workers})"
    precisions = [("fp32", False)] + ([("bf16 autocast", True)] if native_bf16(torch.device("cpu")) else [])
    out = {}
    for label, amp in reversed(precisions):
        out[f"train, {label}: ours (whole tensors, training.loop)"] = (
            ours,
            (mnist, args.batch_size, args.seed, True, amp),
        )
        out[f"train, {label}: {loader}"] = (dataloader, (root, args.batch_size, args.seed, args.workers, True, amp))
    out["input only: ours (whole tensors, training.loop)"] = (ours, (mnist, args.batch_size, args.seed, False, False))
    out[f"input only: {loader}"] = (dataloader, (root, args.batch_size, args.seed, args.workers, False, False))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--batch-size", type=int, default=TrainSettings.batch_size)
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes")
    p.add_argument("--repeats", type=int, default=3, help="epochs per pipeline; the median is reported")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    info, todo = machine(), pairs(args, resolve_root(None))
    runs: dict[str, list] = {name: [] for name in todo}
    for _ in range(args.repeats):  # take turns, so load that comes and goes falls on every pipeline
        for name, (fn, fn_args) in todo.items():
            runs[name].append(fn(*fn_args))
    results = {name: median(r) for name, r in runs.items()}
    md = table(
        (
            f"one epoch of 60,000 images, batch {args.batch_size}",
            f"wall s: median (each of {args.repeats})",
            "CPU s",
            "samples/s",
            "speed-up",
        ),
        rows(results),
    )
    report("train_speed", argv, info, md, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
