"""The lessons on the page, in headless Chromium: the training timeline, one step of backprop, attributions, and
z = w·x + b written out. Each test checks a number the page shows against the API (or a hand computation).

The app serves a random 784-32-10 network with a 4-snapshot history written here (model.history), so these tests
depend on neither training nor its timeline writer.
"""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest
import torch
from browser_kit import draw_seven, open_page, prediction, serve

from model import MLP, MLPConfig, save_weights
from model.files import HISTORY
from model.history import write_history

pytestmark = pytest.mark.browser

CONFIG = MLPConfig(hidden=(32,))
STEPS = (0, 3, 30, 300)


def _app_url(root, with_history: bool):
    from service import create_app

    states = []
    for seed in range(len(STEPS)):
        torch.manual_seed(seed)
        states.append(MLP(CONFIG).eval().state_dict())
    model = MLP(CONFIG).eval()
    model.load_state_dict(states[-1])
    weights = save_weights(root / "model.safetensors", model, {"test_accuracy": 0.1, "epochs": 1})
    if with_history:
        figures = [
            {
                "step": s,
                "epoch": s / 300,
                "seen_images": 64 * s,
                "loss": None if s == 0 else 2.3 / (1 + k),
                "val_accuracy": 0.1 + 0.25 * k,
            }
            for k, s in enumerate(STEPS)
        ]
        write_history(root / HISTORY, CONFIG, figures, states)
    return serve(create_app({"WEIGHTS_PATH": str(weights), "TESTING": True}))


@pytest.fixture(scope="module")
def lessons_url(tmp_path_factory):
    with _app_url(tmp_path_factory.mktemp("lessons"), with_history=True) as url:
        yield url


@pytest.fixture
def lessons_page(browser, lessons_url, watch):
    yield from open_page(
        browser, lessons_url, watch, "[data-testid=neuron][data-layer=hidden1]", "#timeline-card:not([hidden])"
    )


def api(url: str, path: str, pixels=None):
    """GET path, or POST the page's input pixels (0-1) to it as JSON."""
    body = None if pixels is None else json.dumps({"pixels": [v * 255 for v in pixels]}).encode()
    req = urllib.request.Request(url + path, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def drawn(page) -> list[float]:
    """Draw a 7, wait for the answer, return the 784 pixels the network saw."""
    draw_seven(page)
    prediction(page)
    return page.evaluate("() => window.digits.prediction.input.pixels")


def wait_idle(page, selector: str) -> None:
    page.wait_for_selector(f"{selector}[data-state=idle]")
    page.wait_for_function("() => document.body.dataset.state === 'idle'")


def value(page, testid: str) -> float:
    return float(page.locator(f"[data-testid={testid}]").get_attribute("data-value"))


def open_neuron(page, layer: str, index: int) -> None:
    page.locator(f"[data-testid=neuron][data-layer={layer}][data-index='{index}']").click()
    # Clicking titles the card "Loading <layer> neuron <index>…" at once: wait for the loaded neuron's own title,
    # and match the whole index (neuron 1 must not pass on "neuron 123").
    page.wait_for_function(
        f"() => {{ const t = document.getElementById('detail-title').textContent;"
        f" return !t.startsWith('Loading') && /neuron {index}(\\D|$)/.test(t); }}"
    )


def test_timeline_answers_with_the_snapshot_picked(lessons_page, lessons_url, watch):
    page = lessons_page
    history = api(lessons_url, "/api/history")["snapshots"]
    slider = page.locator("[data-testid=timeline]")
    assert slider.get_attribute("max") == str(len(history) - 1)
    pixels = drawn(page)
    open_neuron(page, "hidden1", 3)
    for k in (1, 0, 2):
        slider.fill(str(k))
        wait_idle(page, "#timeline-card")
        expected = api(lessons_url, f"/api/predict?snapshot={k}", pixels)
        shown = page.evaluate("() => window.digits.prediction")
        # the API gets the pixels the page shows, rounded to 6 decimals: a few 1e-6 off at most
        np.testing.assert_allclose(shown["probabilities"], expected["probabilities"], atol=2e-5)
        assert page.locator("[data-testid=prediction]").text_content() == str(expected["digit"])
        assert page.locator("#confidence").text_content() == f"{expected['confidence'] * 100:.1f} % sure"
        neuron = api(lessons_url, f"/api/layers/hidden1/neurons/3?snapshot={k}")
        assert value(page, "neuron-bias") == pytest.approx(neuron["bias"], abs=1e-6)
        assert page.locator("#timeline-step").text_content() == f"{history[k]['step']:,}"
        acc = page.locator("[data-testid=timeline-accuracy]").text_content()
        assert acc == f"{history[k]['val_accuracy'] * 100:.1f} %"
    assert page.locator("#timeline-acc-plot circle.point").count() == 1
    page.locator("#timeline-play").click()  # from snapshot 3 (k=2 + 1) to the last, then stop
    page.wait_for_function("() => document.getElementById('timeline-play').getAttribute('aria-pressed') === 'false'")
    wait_idle(page, "#timeline-card")
    assert slider.input_value() == str(len(history) - 1)
    watch.assert_clean()


def test_no_history_hides_the_timeline(browser, tmp_path, watch):
    with _app_url(tmp_path, with_history=False) as url:
        page = browser.new_page()
        watch.attach(page)
        page.goto(url + "/")
        page.wait_for_selector("[data-testid=neuron][data-layer=hidden1]")
        page.wait_for_load_state("networkidle")
        assert page.locator("#timeline-card").is_hidden()
        watch.assert_clean()
        assert watch.no_history == 1  # GET /api/history answered 404 no_history
        page.close()


def test_teach_shows_the_probabilities_after_one_step(lessons_page, lessons_url, watch):
    page = lessons_page
    pixels = drawn(page)
    open_neuron(page, "hidden1", 5)
    page.locator("[data-testid=teach-digit][data-digit='3']").click()
    wait_idle(page, "#teach")
    lr = float(page.locator("#teach-lr-value").get_attribute("data-value"))
    assert lr == 0.1
    expected = api(lessons_url, f"/api/teach?target=3&lr={lr}&neuron=hidden1:5", pixels)
    bars = page.locator("[data-testid=teach-bar]")
    after = [float(bars.nth(d).get_attribute("data-after")) for d in range(10)]
    np.testing.assert_allclose(after, expected["probabilities_after"], atol=3e-6)
    assert float(page.locator("#teach-delta").get_attribute("data-value")) == pytest.approx(expected["neuron"]["delta"])
    deltas = page.locator("[data-testid=delta-neuron][data-layer=output]")
    shown = [float(deltas.nth(d).get_attribute("data-value")) for d in range(10)]
    np.testing.assert_allclose(shown, expected["layers"][-1]["delta"], atol=3e-6)  # δ_k = p_k − y_k
    assert_sweep_marks(page, expected)

    page.locator("[data-testid=teach-lr]").fill("11")  # the largest step: η = 50
    page.locator("[data-testid=teach-lr]").dispatch_event("change")
    page.wait_for_function("() => document.getElementById('teach-lr-value').dataset.value === '50'")
    wait_idle(page, "#teach")
    big = api(lessons_url, "/api/teach?target=3&lr=50&neuron=hidden1:5", pixels)
    after = [float(bars.nth(d).get_attribute("data-after")) for d in range(10)]
    np.testing.assert_allclose(after, big["probabilities_after"], atol=3e-6)
    overshot = page.locator("#teach").evaluate("e => e.classList.contains('overshoot')")
    assert overshot == (big["loss_after"] > big["loss"])
    assert_sweep_marks(page, big)  # η = 50 is not on the sweep's grid: the answer puts it in

    page.locator("[data-testid=delta-neuron][data-layer=output][data-index='3']").click()
    page.wait_for_function("() => document.getElementById('detail-title').textContent.includes('digit 3')")
    wait_idle(page, "#teach")
    assert page.locator("#teach-neuron-title").text_content().endswith("output neuron 3 (digit 3)")
    watch.assert_clean()


def assert_sweep_marks(page, expected: dict) -> None:
    """The sweep plot beside the η slider: one point per η the API swept, and the loss it marks is the API's."""
    sweep = page.locator("[data-testid=teach-sweep]")
    assert sweep.is_visible()
    assert float(sweep.get_attribute("data-lr")) == expected["lr"]
    assert float(sweep.get_attribute("data-loss")) == pytest.approx(expected["loss_after"], rel=1e-4, abs=1e-5)
    drawn_points = sweep.locator("polyline.curve").get_attribute("points").split()
    assert len(drawn_points) == len(expected["lr_sweep"])
    assert sweep.locator("circle.point").count() == 1 and page.locator("#teach-sweep-says").text_content()


def test_attribution_map_sums_as_the_api_says(lessons_page, lessons_url, watch):
    page = lessons_page
    pixels = drawn(page)
    wait_idle(page, "#why")
    answer = page.evaluate("() => window.digits.prediction.digit")
    expected = api(lessons_url, f"/api/explain?method=integrated_gradients&target={answer}", pixels)
    assert page.locator("[data-testid=attribution]").get_attribute("data-target") == str(answer)
    total = value(page, "attribution-sum")
    assert total == pytest.approx(expected["sum"], abs=1e-3)
    assert total == pytest.approx(expected["logit"] - expected["baseline_logit"], rel=0.01, abs=1e-3)  # complete

    page.locator("[data-testid=attribution-digit][data-digit='2']").click()
    page.locator("[data-testid=attribution-method]").select_option("gradient_x_input")
    wait_idle(page, "#why")
    expected = api(lessons_url, "/api/explain?method=gradient_x_input&target=2", pixels)
    assert page.locator("[data-testid=attribution]").get_attribute("data-target") == "2"
    assert value(page, "attribution-sum") == pytest.approx(expected["sum"], abs=1e-3)
    painted = page.locator("[data-testid=attribution]").evaluate(
        "c => new Set(c.getContext('2d').getImageData(0, 0, 28, 28).data).size"
    )
    assert painted > 10

    open_neuron(page, "hidden1", 7)
    wait_idle(page, "#conductance-fig")
    expected = api(lessons_url, "/api/explain?method=conductance&target=2&neuron=hidden1:7", pixels)
    assert value(page, "conductance") == pytest.approx(expected["sum"], abs=1e-3)
    watch.assert_clean()


def test_formula_adds_up_to_the_neurons_z(lessons_page, lessons_url, watch):
    page = lessons_page
    pixels = drawn(page)
    state = page.evaluate("() => window.digits.prediction")
    for layer, x in (("hidden1", np.array(pixels)), ("output", np.array(state["layers"][0]["a"]))):
        z = next(lay["z"] for lay in state["layers"] if lay["name"] == layer)
        i = int(np.argmax(np.abs(z)))
        open_neuron(page, layer, i)
        neuron = api(lessons_url, f"/api/layers/{layer}/neurons/{i}")
        by_hand = float(np.array(neuron["weights"]) @ x + neuron["bias"])
        assert value(page, "formula-total") == pytest.approx(value(page, "neuron-z"), rel=1e-4, abs=1e-5)
        assert value(page, "formula-total") == pytest.approx(by_hand, rel=1e-4, abs=1e-5)
        rows = page.locator("[data-testid=formula] tbody tr")
        assert rows.count() == 5 + 3  # the 5 largest terms, the rest, the bias, the total
    watch.assert_clean()
