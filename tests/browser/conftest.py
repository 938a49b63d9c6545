"""Browser fixtures: the real app on loopback, trained weights, one headless Chromium per session."""

from __future__ import annotations

import pytest
import torch
from browser_kit import CHROMIUM, Watch, launch, open_page, serve

from model import MLP, MLPConfig, save_weights

# The served models of the compare tests: random weights (the page needs numbers, not accuracy), each differing
# from the default (784-32-10 relu) in one choice, so each lands in its own group.
ZOO = {
    "act-sigmoid": MLPConfig(hidden=(32,), activation="sigmoid"),
    "depth-2": MLPConfig(hidden=(32, 24)),
    "batchnorm": MLPConfig(hidden=(32,), batch_norm=True),
}


@pytest.fixture(scope="session")
def base_url(trained_weights):
    """The app built by the factory around a small model trained on real MNIST, served on 127.0.0.1."""
    from service import create_app

    with serve(create_app({"WEIGHTS_PATH": str(trained_weights), "TESTING": True})) as url:
        yield url


def random_weights(path, config: MLPConfig, seed: int):
    """A network with random weights, saved as a weights file."""
    torch.manual_seed(seed)
    return save_weights(path, MLP(config).eval(), {"test_accuracy": 0.1, "epochs": 0})


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    """A models folder holding ZOO, as `make zoo` leaves artifacts/models/ (NAME/model.safetensors)."""
    root = tmp_path_factory.mktemp("models")
    for seed, (name, config) in enumerate(ZOO.items(), start=1):
        (root / name).mkdir()
        random_weights(root / name / "model.safetensors", config, seed)
    return root


@pytest.fixture(scope="session")
def zoo_url(tmp_path_factory, models_dir):
    """The app serving a random 784-32-10 relu default and the models of ZOO beside it."""
    from service import create_app

    default = random_weights(tmp_path_factory.mktemp("default") / "model.safetensors", MLPConfig(hidden=(32,)), 0)
    config = {"WEIGHTS_PATH": str(default), "MODELS_DIR": str(models_dir), "TESTING": True}
    with serve(create_app(config)) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright import sync_api  # a test dependency (pyproject's [test] extra)

    if not CHROMIUM.is_file():  # a failure, not a skip: `make test` installs it (make browser-deps)
        pytest.fail(f"{CHROMIUM} missing: run `make browser-deps` (apt-get install -y chromium chromium-driver)")
    with sync_api.sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture
def watch():
    return Watch()


@pytest.fixture
def page(browser, base_url, watch):
    """The page on the app around the trained model, once its neurons are drawn."""
    yield from open_page(browser, base_url, watch, "[data-testid=neuron][data-layer=hidden1]")


@pytest.fixture
def zoo_page(browser, zoo_url, watch):
    """A fresh page on the app serving several models, once its model picker lists them."""
    yield from open_page(
        browser,
        zoo_url,
        watch,
        "[data-testid=model-picker][data-ready=true]",
        "[data-testid=neuron][data-layer=hidden1]",
    )
