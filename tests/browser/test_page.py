"""The page at / in headless Chromium: draw, upload, open a neuron, survive bad files, stay local and quiet."""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest
from browser_kit import draw_one, draw_seven, draw_zero, prediction
from PIL import Image

from service.decode import NAMES

pytestmark = pytest.mark.browser


def clear(page) -> None:
    page.get_by_role("button", name="Clear").click()
    assert page.locator("[data-testid=prediction]").text_content() == "?"


def test_drawn_one_and_zero_are_recognised(page, watch):
    draw_one(page)
    assert prediction(page).startswith("1")
    clear(page)
    draw_zero(page)
    assert prediction(page).startswith("0")
    assert page.locator("[data-testid=neuron][data-layer=output]").count() == 10
    watch.assert_clean()


def test_uploaded_mnist_digit_is_recognised_and_shown_as_28x28(page, watch, mnist, tmp_path):
    image, label = mnist.test_x[0].numpy(), int(mnist.test_y[0])
    path = tmp_path / "digit.png"
    Image.fromarray(255 - image).resize((224, 224), Image.Resampling.BILINEAR).save(path)  # dark ink on white
    page.locator("[data-testid=upload]").set_input_files(str(path))
    assert prediction(page).startswith(str(label))
    seen = page.locator("[data-testid=seen]")
    assert seen.get_attribute("src").startswith("data:image/png;base64,")
    assert seen.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [28, 28]
    watch.assert_clean()


def test_an_iphones_heic_is_read_though_the_browser_cannot_show_it(page, watch, mnist, tmp_path):
    """An iPhone's portrait photo: a HEIC, its pixels stored sideways and its rotation in the file. The page sends
    the file as it is; the service decodes and turns it, and shows the 28×28 it read."""
    from tests.hostile.make_corpus import sideways  # importing it registers HEIC with Pillow

    image, label = mnist.test_x[1].numpy(), int(mnist.test_y[1])
    upright = Image.fromarray(255 - image).resize((224, 224), Image.Resampling.BILINEAR)
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(sideways(upright, "HEIF", 90))
    picker = page.locator("[data-testid=upload]")
    assert ".heic" in picker.get_attribute("accept").split(",")  # offered where the system has no MIME type for it
    picker.set_input_files(str(path))
    assert prediction(page).startswith(str(label))
    seen = page.locator("[data-testid=seen]")
    assert seen.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [28, 28]
    watch.assert_clean()


def test_neuron_detail_shows_weights_bias_and_z_equal_to_w_dot_x_plus_b(page, watch, base_url):
    draw_seven(page)
    prediction(page)
    state = page.evaluate("() => window.digits.prediction")
    hidden = next(layer for layer in state["layers"] if layer["name"] == "hidden1")
    i = int(np.argmax(hidden["a"]))  # the most active neuron: z far from 0, so a relative check means something
    page.locator(f"[data-testid=neuron][data-layer=hidden1][data-index='{i}']").click()
    page.wait_for_function("() => document.querySelector('[data-testid=neuron-z]').dataset.value")

    with urllib.request.urlopen(f"{base_url}/api/layers/hidden1/neurons/{i}") as r:
        neuron = json.load(r)
    w, b, x = np.array(neuron["weights"]), neuron["bias"], np.array(state["input"]["pixels"])
    expected_z = float(w @ x + b)  # the neuron by hand, from the API's weights and the pixels the page sent
    shown = {
        k: float(page.locator(f"[data-testid=neuron-{k}]").get_attribute("data-value")) for k in ("z", "a", "bias")
    }
    assert shown["bias"] == pytest.approx(b, rel=1e-6)
    assert shown["z"] == pytest.approx(expected_z, rel=1e-3)
    assert shown["a"] == pytest.approx(max(expected_z, 0.0), rel=1e-3)  # relu
    assert page.locator("[data-testid=activation-point]").count() == 1
    painted = page.locator("[data-testid=neuron-weights]").evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, 28, 28).data; return new Set(d).size }"
    )
    assert painted > 10  # a real 28×28 picture of the weights, not a blank canvas
    watch.assert_clean()


def test_unreadable_upload_shows_an_error_and_the_page_keeps_working(page, watch, tmp_path):
    bad = tmp_path / "x.png"
    bad.write_text("this is not an image\n")
    page.locator("[data-testid=upload]").set_input_files(str(bad))
    alert = page.get_by_role("alert")
    alert.wait_for(state="visible")
    assert "not an image" in alert.text_content()
    assert NAMES in alert.text_content()  # the formats decode.py reads, as the server gives them to the page
    draw_one(page)
    assert prediction(page).startswith("1")
    assert alert.is_hidden()
    assert watch.problems == []
    assert [status // 100 for status in watch.api_errors] == [4]  # the one refusal, answered as JSON


def test_keyboard_opens_a_neuron(page, watch):
    draw_zero(page)
    prediction(page)
    first = page.locator("[data-testid=neuron][data-layer=hidden1][data-index='0']")
    first.focus()
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("() => document.activeElement.dataset.index")
    assert focused == "1"
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('[data-testid=neuron-z]').dataset.value")
    assert "neuron 1" in page.locator("#detail-title").text_content()
    watch.assert_clean()


def test_page_is_quiet_and_local(page, watch, base_url, tmp_path):
    """A tour of everything: no console errors, no failed requests, nothing fetched from another host."""
    draw_seven(page)
    prediction(page)
    page.locator("[data-testid=neuron][data-layer=output][data-index='7']").click()
    page.wait_for_function("() => document.querySelector('[data-testid=neuron-z]').dataset.value")
    page.goto(base_url + "/favicon.ico")
    watch.assert_clean()
    assert watch.hosts and watch.foreign_hosts() == set()
