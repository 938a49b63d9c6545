"""Several served models on the page: the compare view answers with every one, the picker switches the main view.

Every number the page shows is checked against the API for that model, computed here (w·x + b by hand, the
share of switched-off neurons from the API's activations), never against the page itself.
"""

from __future__ import annotations

import json
import math
import time
import urllib.request

import numpy as np
import pytest
from browser_kit import draw_seven, prediction, serve

pytestmark = pytest.mark.browser

# Switched off for one input, as the compare view defines it (and says on the page).
INACTIVE = {"relu": lambda a: a <= 0, "sigmoid": lambda a: (a < 0.01) | (a > 0.99)}


def get(url: str):
    with urllib.request.urlopen(url) as r:
        return json.load(r)


def post_pixels(url: str, pixels: list[float]):
    """/api/predict with the 28×28 pixels the page's drawing became (0–1, sent as 0–255 intensities)."""
    body = json.dumps({"pixels": [255 * v for v in pixels]}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def wait_until_served(url: str, name: str, timeout: float = 10) -> None:
    """Poll /api/models until NAME is ready (the service rescans its folder at most every RELOAD_SECONDS)."""
    deadline = time.monotonic() + timeout
    while not any(m["name"] == name and m["state"] == "ready" for m in get(f"{url}/api/models")["models"]):
        assert time.monotonic() < deadline, f"{name} not served after {timeout} s"
        time.sleep(0.1)


def open_compare(page) -> None:
    page.locator("[data-testid=compare-open]").click()
    page.wait_for_function("() => document.getElementById('compare-groups').dataset.state === 'idle'")


def test_compare_view_runs_the_drawing_through_every_served_model(zoo_page, watch, zoo_url):
    draw_seven(zoo_page)
    prediction(zoo_page)
    open_compare(zoo_page)
    listing = get(f"{zoo_url}/api/models")
    served = [m["name"] for m in listing["models"] if m["state"] == "ready"]
    cards = zoo_page.locator("[data-testid=compare] [data-testid=compare-model]")
    assert sorted(cards.evaluate_all("cs => cs.map(c => c.dataset.model)")) == sorted(served)
    assert len(served) == 4

    pixels = zoo_page.evaluate("() => window.digits.prediction.input.pixels")
    main = zoo_page.evaluate("() => window.digits.prediction.probabilities")
    default = post_pixels(f"{zoo_url}/api/predict", pixels)  # the drawing's own pixels: the main view's answer
    assert default["probabilities"] == pytest.approx(main, abs=1e-3)
    for name in served:
        card = zoo_page.locator(f"[data-testid=compare-model][data-model='{name}']")
        assert card.get_attribute("data-state") == "done"
        answer = post_pixels(f"{zoo_url}/api/predict?model={name}&activations=1", pixels)
        assert card.locator("[data-testid=compare-digit]").text_content() == str(answer["digit"])
        model = next(m for m in listing["models"] if m["name"] == name)
        rule = INACTIVE[model["architecture"]["activation"]]
        hidden = [np.array(layer["a"]) for layer in answer["layers"] if layer["name"] != "output"]
        shown = json.loads(card.locator("[data-testid=compare-inactive]").get_attribute("data-shares"))
        expected = [rule(a).mean() for a in hidden]
        assert shown == pytest.approx(expected, abs=1.5 / 32)  # a neuron right at a threshold may round either way
        dots = card.locator("[data-testid=compare-curve] svg").get_attribute("data-points")
        assert int(dots) == sum(len(a) for a in hidden)  # every hidden neuron sits on the activation curve
        assert card.locator(".cmp-bars li").count() == 10
        assert card.locator("[data-testid=compare-neuron]").count() == sum(len(a) for a in hidden)
    groups = {
        g: zoo_page.locator(f"[data-group={g}] [data-testid=compare-model]").evaluate_all(
            "cs => cs.map(c => c.dataset.model)"
        )
        for g in ("reference", "activation", "depth", "regularisation")
    }
    assert groups == {
        "reference": [listing["default"]],
        "activation": ["act-sigmoid"],
        "depth": ["depth-2"],
        "regularisation": ["batchnorm"],
    }
    watch.assert_clean()


def test_picked_model_answers_and_its_neuron_z_is_w_dot_x_plus_b(zoo_page, watch, zoo_url):
    draw_seven(zoo_page)
    prediction(zoo_page)
    zoo_page.locator("[data-testid=model-picker]").select_option("act-sigmoid")
    zoo_page.wait_for_function(
        """() => document.body.dataset.state === 'idle'
                 && window.digits.prediction?.layers?.[0].activation === 'sigmoid'"""
    )
    state = zoo_page.evaluate("() => window.digits.prediction")
    z_page = np.array(state["layers"][0]["z"])
    i = int(np.argmax(np.abs(z_page)))  # z far from 0, so a relative check means something
    zoo_page.locator(f"[data-testid=neuron][data-layer=hidden1][data-index='{i}']").click()
    zoo_page.wait_for_function("() => document.querySelector('[data-testid=neuron-z]').dataset.value")

    neuron = get(f"{zoo_url}/api/layers/hidden1/neurons/{i}?model=act-sigmoid")
    w, b, x = np.array(neuron["weights"]), neuron["bias"], np.array(state["input"]["pixels"])
    expected_z = float(w @ x + b)  # by hand, from this model's weights and the pixels the page sent
    shown = {
        k: float(zoo_page.locator(f"[data-testid=neuron-{k}]").get_attribute("data-value")) for k in ("z", "a", "bias")
    }
    assert shown["bias"] == pytest.approx(b, rel=1e-6)
    assert shown["z"] == pytest.approx(expected_z, rel=1e-3, abs=1e-4)
    assert shown["a"] == pytest.approx(1 / (1 + math.exp(-expected_z)), rel=1e-3)
    default = get(f"{zoo_url}/api/layers/hidden1/neurons/{i}")
    assert not np.allclose(default["weights"], neuron["weights"])  # another network's neuron, not the default's
    watch.assert_clean()


def test_a_neuron_clicked_in_a_compare_card_opens_in_its_own_network(zoo_page, watch, zoo_url):
    draw_seven(zoo_page)
    prediction(zoo_page)
    open_compare(zoo_page)
    card = zoo_page.locator("[data-testid=compare-model][data-model='depth-2']")
    card.locator("[data-testid=compare-neuron][data-layer=hidden2][data-index='3']").click()
    zoo_page.wait_for_function("() => document.querySelector('[data-testid=neuron-z]').dataset.value")
    assert zoo_page.locator("[data-testid=model-picker]").input_value() == "depth-2"
    assert zoo_page.locator("[data-testid=compare]").is_hidden()
    state = zoo_page.evaluate("() => window.digits.prediction")
    neuron = get(f"{zoo_url}/api/layers/hidden2/neurons/3?model=depth-2")
    x = np.array(state["layers"][0]["a"])  # hidden2's input: hidden1's activations
    z = float(zoo_page.locator("[data-testid=neuron-z]").get_attribute("data-value"))
    assert z == pytest.approx(float(np.array(neuron["weights"]) @ x + neuron["bias"]), rel=1e-3, abs=1e-4)
    watch.assert_clean()


def test_a_model_trained_while_the_page_is_open_joins_the_comparison(browser, watch, tmp_path):
    from conftest import random_weights

    from model import MLPConfig
    from service import create_app

    default = random_weights(tmp_path / "default.safetensors", MLPConfig(hidden=(32,)), 0)
    (tmp_path / "models" / "act-tanh").mkdir(parents=True)
    config = {"WEIGHTS_PATH": str(default), "MODELS_DIR": str(tmp_path / "models"), "RELOAD_SECONDS": 0.1}
    with serve(create_app(config | {"TESTING": True})) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        watch.attach(page)
        page.goto(url + "/")
        draw_seven(page)
        prediction(page)
        open_compare(page)
        assert page.locator("[data-testid=compare-model]").count() == 1
        random_weights(
            tmp_path / "models" / "act-tanh" / "model.safetensors", MLPConfig(hidden=(32,), activation="tanh"), 1
        )
        wait_until_served(url, "act-tanh")
        page.locator("[data-testid=network-open]").click()
        page.locator("[data-testid=compare-open]").click()  # the tab lists the models again
        card = page.locator("[data-testid=compare-model][data-model='act-tanh']")
        card.and_(page.locator("[data-state=done]")).wait_for()
        assert page.locator("[data-group=activation] [data-testid=compare-model]").count() == 1
        assert page.locator("[data-testid=model-picker] option").count() == 2
        page.close()
    watch.assert_clean()
