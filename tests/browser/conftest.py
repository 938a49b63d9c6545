"""Browser fixtures: the real app on loopback, trained weights, one headless Chromium per session."""

from __future__ import annotations

import pytest
from browser_kit import CHROMIUM, Watch, launch, serve


@pytest.fixture(scope="session")
def base_url(trained_weights):
    """The app built by the factory around a small model trained on real MNIST, served on 127.0.0.1."""
    from service import create_app

    with serve(create_app({"WEIGHTS_PATH": str(trained_weights), "TESTING": True})) as url:
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
    """A fresh page on the app, watched for console errors, failed requests and foreign hosts."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    watch.attach(page)
    page.goto(base_url + "/")
    page.wait_for_selector("[data-testid=neuron][data-layer=hidden1]")
    yield page
    context.close()
