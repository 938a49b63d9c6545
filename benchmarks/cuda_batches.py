"""Batches on a GPU: the network's images/s on CUDA beside the service's own CPU path, on the same machine.

    python benchmarks/cuda_batches.py WEIGHTS                       # batches of 256, 4,096 and 65,536
    python benchmarks/cuda_batches.py WEIGHTS --batches 256 1024 --repeats 50
    python benchmarks/cuda_batches.py WEIGHTS --device cpu --batches 64 --repeats 3   # a dry run without a GPU

The service answers on the CPU (numpy, model.frozen), so this measures what a GPU would give a batch endpoint such
as /v2 with UINT8 input, after the request is parsed. Rows, for each batch size B of MNIST test digits:

- **CPU, as served**: the service's Predictor (every layer traced in numpy, then the out-of-distribution checks)
  on this machine's CPU, uint8 → [0, 1] included: what /v2 runs after decoding.
- **CUDA fp32 from host uint8**: the uint8 [B, 28, 28] batch in pinned host memory copied to the GPU, scaled to
  [0, 1], the network, softmax, and the digits and probabilities copied back. The checks are not ported to CUDA.
- **CUDA bf16 autocast from host uint8**: the same in bf16 autocast (the weights stay fp32).
- **CUDA fp32 resident**: the input already on the GPU and the answers left there: the kernels alone.

Each row: --warmup untimed batches, then --repeats timed ones (CUDA synchronised), the median. The CUDA fp32
answers are compared with the CPU's: the largest probability difference and the share of equal digits.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine, report, served_predictor, table  # noqa: E402
from model import load_weights  # noqa: E402
from training.data import load_mnist, resolve_root  # noqa: E402


def median_seconds(run: Callable[[], object], warmup: int, repeats: int, sync: Callable[[], None]) -> float:
    """Median wall seconds of RUN over REPEATS calls after WARMUP, SYNC called before each clock reading."""
    for _ in range(warmup):
        run()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def batch_of(images: np.ndarray, size: int) -> np.ndarray:
    """SIZE MNIST digits, the test set repeated as often as it takes."""
    return np.resize(images, (size, *images.shape[1:]))


def gpu_answer(model: torch.nn.Module, x: torch.Tensor, amp: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (B, 28, 28) on the GPU → digits and probabilities, the way the service scales pixels."""
    with torch.inference_mode(), torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp):
        probs = torch.softmax(model(x.reshape(len(x), -1).float().div_(255.0)).float(), dim=1)
    return probs.argmax(1), probs


def from_host(model: torch.nn.Module, pinned: torch.Tensor, amp: bool) -> Callable[[], object]:
    """One batch from pinned host memory to answers back on the host."""
    device = next(model.parameters()).device

    def run() -> tuple[np.ndarray, np.ndarray]:
        digits, probs = gpu_answer(model, pinned.to(device, non_blocking=True), amp)
        return digits.cpu().numpy(), probs.cpu().numpy()

    return run


def measure(weights: Path, images: np.ndarray, sizes: list[int], device: str, warmup: int, repeats: int) -> list[dict]:
    cpu = served_predictor(weights)
    model = load_weights(weights, device)[0]
    cuda = device == "cuda"
    gpu_sync = torch.cuda.synchronize if cuda else lambda: None
    rows = []
    for size in sizes:
        batch = batch_of(images, size)
        pinned = torch.from_numpy(batch).pin_memory() if cuda else torch.from_numpy(batch)
        resident = pinned.to(device)
        expected = cpu.predict(batch.astype(np.float32) / 255.0)
        digits, probs = from_host(model, pinned, amp=False)()
        gpu = "CUDA" if cuda else "torch on the CPU (dry run)"
        runs = {
            "CPU, as served (numpy + checks)": (lambda b=batch: cpu.predict(b.astype(np.float32) / 255.0), False),
            f"{gpu} fp32 from host uint8": (from_host(model, pinned, amp=False), True),
            f"{gpu} bf16 autocast from host uint8": (from_host(model, pinned, amp=True), True),
            f"{gpu} fp32 resident": (lambda r=resident: gpu_answer(model, r, amp=False), True),
        }
        for name, (run, on_gpu) in runs.items():
            seconds = median_seconds(run, warmup, repeats, gpu_sync if on_gpu else lambda: None)
            rows.append(
                {
                    "batch": size,
                    "path": name,
                    "ms": seconds * 1e3,
                    "images_per_s": size / seconds,
                    "max_prob_diff": float(np.abs(probs - expected.probabilities).max()),
                    "same_digits": float((digits == expected.digits).mean()),
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("weights", type=Path)
    p.add_argument("--batches", type=int, nargs="+", default=[256, 4096, 65536])
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--data-dir", type=Path, default=None)
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda", help="cpu: a dry run of the script")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("cuda_batches: no CUDA device here; run it on a GPU machine", file=sys.stderr)
        return 1
    info = machine() | {"gpu": torch.cuda.get_device_name() if args.device == "cuda" else "none (dry run on the CPU)"}
    images = load_mnist(resolve_root(args.data_dir)).test_x.numpy()
    rows = measure(args.weights, images, args.batches, args.device, args.warmup, args.repeats)
    markdown = f"GPU: {info['gpu']}\n\n" + table(
        ["batch", "path", "ms per batch (median)", "images/s", "CUDA fp32 vs CPU: max |Δp|, same digit"],
        [
            [
                f"{r['batch']:,}",
                r["path"],
                f"{r['ms']:.3f}",
                f"{r['images_per_s']:,.0f}",
                f"{r['max_prob_diff']:.1e}, {100 * r['same_digits']:.2f} %",
            ]
            for r in rows
        ],
    )
    report("cuda_batches", argv, info, markdown, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
