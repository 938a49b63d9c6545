"""The JSON API against the tiny model: every way to send an image, every option, every error as JSON."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from service_kit import grainy_page, one_stroke, png

from model import load_weights
from service import create_app
from service.errors import StartupError


def _reference(weights_path, pixels: np.ndarray) -> np.ndarray:
    """Softmax of the model run directly, outside the service."""
    model, _ = load_weights(weights_path)
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(pixels.reshape(len(pixels), -1))), dim=1).numpy()


def test_predict_multipart(client):
    r = client.post("/api/predict", data={"image": (io.BytesIO(one_stroke()), "one.png")})
    assert r.status_code == 200
    body = r.get_json()
    assert set(body) == {"digit", "confidence", "probabilities", "uncertain"}
    assert len(body["probabilities"]) == 10 and abs(sum(body["probabilities"]) - 1) < 1e-4
    assert body["digit"] == int(np.argmax(body["probabilities"])) and body["confidence"] == max(body["probabilities"])


def test_all_ways_of_sending_one_image_agree(client):
    data = one_stroke()
    answers = [
        client.post("/api/predict", data={"image": (io.BytesIO(data), "one.png")}),
        client.post("/api/predict", data=data, content_type="image/png"),
        client.post("/api/predict", json={"image": base64.b64encode(data).decode()}),
        client.post("/api/predict", json={"image": "data:image/png;base64," + base64.b64encode(data).decode()}),
    ]
    assert all(r.status_code == 200 for r in answers)
    assert len({json.dumps(r.get_json()) for r in answers}) == 1


def test_batch_answers_a_list_in_order(client):
    images = [one_stroke(), png(np.pad(np.full((10, 10), 255), 9))]
    r = client.post("/api/predict", data={"image": [(io.BytesIO(d), f"{i}.png") for i, d in enumerate(images)]})
    assert r.status_code == 200 and isinstance(r.get_json(), list) and len(r.get_json()) == 2
    singles = [client.post("/api/predict", data=d, content_type="image/png").get_json() for d in images]
    assert r.get_json() == singles


def test_pixels_are_0_to_255_and_match_the_model(client, tiny_weights):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(3, 28, 28))
    r = client.post("/api/predict", json={"pixels": pixels.tolist()})
    assert r.status_code == 200
    expected = _reference(tiny_weights, (pixels / 255).astype(np.float32))
    got = np.array([a["probabilities"] for a in r.get_json()])
    np.testing.assert_allclose(got, expected, atol=2e-6)
    flat = client.post("/api/predict", json={"pixels": pixels[0].reshape(-1).tolist()}).get_json()
    assert flat == r.get_json()[0]


def test_activations_layers_match_the_model(client, tiny_weights):
    pixels = np.random.default_rng(1).integers(0, 256, size=(28, 28))
    body = client.post("/api/predict?activations=1", json={"pixels": pixels.tolist()}).get_json()
    assert [layer["name"] for layer in body["layers"]] == ["hidden1", "output"]
    model, _ = load_weights(tiny_weights)
    x = torch.from_numpy((pixels / 255).astype(np.float32).reshape(1, -1))
    h = torch.relu(x @ model.hidden[0].weight.T + model.hidden[0].bias)  # independent of model.trace
    np.testing.assert_allclose(body["layers"][0]["a"], h[0].detach().numpy(), atol=2e-6)
    logits = h @ model.output.weight.T + model.output.bias
    np.testing.assert_allclose(body["layers"][1]["z"], logits[0].detach().numpy(), atol=2e-6)
    assert body["layers"][1]["a"] == body["probabilities"]


def test_neuron_z_is_w_dot_x_plus_b(client):
    """One neuron's weights from /api/layers reproduce its z from ?activations=1: z = w·x + b."""
    pixels = np.random.default_rng(2).integers(0, 256, size=784)
    body = client.post("/api/predict?activations=1&input=1", json={"pixels": pixels.tolist()}).get_json()
    x = np.asarray(body["input"]["pixels"])
    np.testing.assert_allclose(x, pixels / 255, atol=1e-4)
    for layer, inputs in (("hidden1", pixels / 255), ("output", np.asarray(body["layers"][0]["a"]))):
        z = np.asarray(next(t for t in body["layers"] if t["name"] == layer)["z"])
        for i in (0, 3, 9):
            neuron = client.get(f"/api/layers/{layer}/neurons/{i}").get_json()
            assert neuron["pieces"] == 1 and len(neuron["weights"]) == len(inputs)
            assert np.dot(neuron["weights"], inputs) + neuron["bias"] == pytest.approx(z[i], abs=1e-4)


def test_top_neurons_contribution(client, tiny_weights):
    """For the last hidden layer, contribution = a_i · W_out[digit, i]."""
    pixels = np.random.default_rng(3).integers(0, 256, size=784)
    body = client.post("/api/predict?top=4&activations=1", json={"pixels": pixels.tolist()}).get_json()
    (top,) = body["top"]
    a = np.asarray(body["layers"][0]["a"])
    assert [n["index"] for n in top["neurons"]] == list(np.argsort(-a, kind="stable")[:4])
    model, _ = load_weights(tiny_weights)
    w = model.output.weight.detach().numpy()[body["digit"]]
    for n in top["neurons"]:
        assert n["a"] == pytest.approx(a[n["index"]], abs=1e-6)
        assert n["contribution"] == pytest.approx(a[n["index"]] * w[n["index"]], abs=1e-5)


def test_input_echo_is_a_png_of_the_pixels(client):
    body = client.post("/api/predict?input=1", data=one_stroke(), content_type="image/png").get_json()
    head, _, data = body["input"]["png"].partition(",")
    assert head == "data:image/png;base64"
    shown = np.asarray(Image.open(io.BytesIO(base64.b64decode(data))), dtype=np.float64) / 255
    np.testing.assert_allclose(shown.reshape(-1), body["input"]["pixels"], atol=1 / 255 + 1e-4)
    assert body["input"]["report"]["mode"] == "auto"


def test_raw_mode_skips_normalisation(client):
    digit = np.zeros((28, 28), np.uint8)
    digit[2:10, 2:5] = 255  # off-centre: auto mode would move it, raw mode must not
    body = client.post("/api/predict?mode=raw&input=1", data=png(digit), content_type="image/png").get_json()
    np.testing.assert_allclose(np.reshape(body["input"]["pixels"], (28, 28)), digit / 255, atol=1e-4)
    assert body["input"]["report"]["mode"] == "raw"


def test_model_description(client, tiny_weights):
    body = client.get("/api/model").get_json()
    arch = body["architecture"]
    assert arch["layer_sizes"] == [784, 16, 10] and arch["parameters"] == 784 * 16 + 16 + 16 * 10 + 10
    assert arch["activation"] == "relu" and arch["init"] == "he"
    import hashlib

    assert body["weights"]["sha256"] == hashlib.sha256(tiny_weights.read_bytes()).hexdigest()
    assert body["training"]["test_accuracy"] == 0.1
    assert body["libraries"]["serving"]["torch"] == torch.__version__.split("+")[0]  # the wheel's local tag aside
    assert body["name"] == "mnist-mlp" and body["metrics"] is None


def test_neuron_png_and_top_images(trained_weights):
    app = create_app({"WEIGHTS_PATH": str(trained_weights), "TESTING": True})
    client = app.test_client()
    r = client.get("/api/layers/hidden1/neurons/5?format=png")
    assert r.status_code == 200 and r.mimetype == "image/png"
    assert Image.open(io.BytesIO(r.data)).size == (28, 28)
    body = client.get("/api/layers/hidden1/neurons/5").get_json()
    table = load_file(str(trained_weights.parent / "top_images.safetensors"))
    assert [t["test_index"] for t in body["top_images"]] == table["hidden1.test_index"][5].tolist()
    assert body["top_images"][0]["activation"] == pytest.approx(float(table["hidden1.values"][5, 0]), abs=1e-5)
    model = load_weights(trained_weights)[0]
    nxt = model.hidden[1] if len(model.hidden) > 1 else model.output  # the layer hidden1's neurons feed
    np.testing.assert_allclose(body["outgoing"], nxt.weight[:, 5].detach().numpy(), atol=1e-6)
    assert client.get("/api/model").get_json()["metrics"] is not None


_NOISE = png(np.random.default_rng(0).integers(0, 256, size=(64, 64)))
BAD_REQUESTS = [
    # (description, kwargs for client.post, status, code)
    ("empty image", dict(data=b"", content_type="image/png"), 400, "invalid_image"),
    ("not an image", dict(data=b"hello there", content_type="image/png"), 415, "unsupported_media_type"),
    ("truncated png", dict(data=_NOISE[: len(_NOISE) // 2], content_type="image/png"), 400, "invalid_image"),
    ("blank image", dict(data=png(np.zeros((28, 28))), content_type="image/png"), 422, "no_ink"),
    ("text body", dict(data="7", content_type="text/plain"), 415, "unsupported_media_type"),
    ("no content type", dict(data=b"123"), 415, "unsupported_media_type"),
    ("malformed json", dict(data="{", content_type="application/json"), 400, "invalid_json"),
    ("json array", dict(json=[1, 2]), 400, "invalid_json"),
    ("json both keys", dict(json={"image": "", "pixels": []}), 400, "invalid_json"),
    ("json no key", dict(json={"img": "x"}), 400, "invalid_json"),
    ("bad base64", dict(json={"image": "%%%"}), 400, "invalid_base64"),
    ("image not a string", dict(json={"image": 7}), 400, "invalid_json"),
    ("non-base64 data url", dict(json={"image": "data:image/png,abc"}), 400, "invalid_base64"),
    ("783 pixels", dict(json={"pixels": [0] * 783}), 400, "invalid_pixels"),
    ("28x27 pixels", dict(json={"pixels": [[0] * 27] * 28}), 400, "invalid_pixels"),
    ("ragged pixels", dict(json={"pixels": [[0] * 28] * 27 + [[0] * 5]}), 400, "invalid_pixels"),
    ("negative pixel", dict(json={"pixels": [-1] + [0] * 783}), 400, "invalid_pixels"),
    ("pixel over 255", dict(json={"pixels": [256] + [0] * 783}), 400, "invalid_pixels"),
    (
        "NaN pixel",
        dict(data='{"pixels": [NaN' + ", 0" * 783 + "]}", content_type="application/json"),
        400,
        "invalid_pixels",
    ),
    (
        "Infinity pixel",
        dict(data='{"pixels": [Infinity' + ", 0" * 783 + "]}", content_type="application/json"),
        400,
        "invalid_pixels",
    ),
    (
        "huge number",
        dict(data='{"pixels": [1e999' + ", 0" * 783 + "]}", content_type="application/json"),
        400,
        "invalid_pixels",
    ),
    ("string pixels", dict(json={"pixels": ["1"] * 784}), 400, "invalid_pixels"),
    ("bool pixels", dict(json={"pixels": [True] * 784}), 400, "invalid_pixels"),
    ("null pixels", dict(json={"pixels": None}), 400, "invalid_pixels"),
    ("deep json", dict(data="[" * 100000 + "]" * 100000, content_type="application/json"), 400, "invalid_json"),
    ("empty batch", dict(json={"image": []}), 400, "missing_image"),
    ("multipart without image", dict(data={"file": (io.BytesIO(b"x"), "x.png")}), 400, "missing_image"),
]


@pytest.mark.parametrize("what, kwargs, status, code", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_predict_requests_are_json_errors(client, what, kwargs, status, code):
    r = client.post("/api/predict", **kwargs)
    assert (r.status_code, r.get_json()["error"]["code"]) == (status, code), r.get_json()
    assert r.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "query, code",
    [
        ("mode=fancy", "invalid_parameter"),
        ("top=-1", "invalid_parameter"),
        ("top=999", "invalid_parameter"),
        ("top=x", "invalid_parameter"),
        ("activations=maybe", "invalid_parameter"),
    ],
)
def test_bad_query_parameters(client, query, code):
    r = client.post(f"/api/predict?{query}", data=one_stroke(), content_type="image/png")
    assert (r.status_code, r.get_json()["error"]["code"]) == (400, code)


def test_body_over_the_limit_is_413_json(tiny_weights):
    client = create_app({"WEIGHTS_PATH": str(tiny_weights), "MAX_CONTENT_LENGTH": 1000}).test_client()
    r = client.post("/api/predict", data=b"\x89PNG" + b"0" * 2000, content_type="image/png")
    assert (r.status_code, r.get_json()["error"]["code"]) == (413, "request_too_large")


def test_a_phones_full_resolution_photo_is_read(client):
    """The largest photo a phone makes (a 50-megapixel sensor's 8192×6144 frame) as it comes off the phone: a JPEG
    of 13.7 MB, over the 4 MiB and 40 megapixels the limits once were, under today's; a 1 written on grainy paper."""
    buf = io.BytesIO()
    grainy_page((8192, 6144)).save(buf, "JPEG", quality=90)
    assert 4 * 2**20 < len(buf.getvalue()) < 20 * 2**20
    r = client.post("/api/predict?input=1", data=buf.getvalue(), content_type="image/jpeg")
    assert r.status_code == 200, r.get_json()
    report = r.get_json()["input"]["report"]
    assert report["original_size"] == [8192, 6144]
    x0, y0, x1, y1 = report["bbox"]  # the stroke's box, in the upload's pixels
    assert abs((x0 + x1) / 2 - 4096) < 100 and abs(y0 - 1536) < 300 and abs(y1 - 4608) < 300


def test_the_pixel_limit_is_a_setting(tiny_weights):
    client = create_app({"WEIGHTS_PATH": str(tiny_weights), "MAX_PIXELS": 64 * 64 - 1}).test_client()
    r = client.post("/api/predict", data=png(np.full((64, 64), 255, np.uint8)), content_type="image/png")
    assert (r.status_code, r.get_json()["error"]["code"]) == (413, "image_too_large")
    assert "4,095" in r.get_json()["error"]["message"]  # the limit it was given, named
    r = client.post("/api/predict", data=png(np.full((63, 64), 255, np.uint8)), content_type="image/png")
    assert (r.status_code, r.get_json()["error"]["code"]) == (422, "no_ink")  # under it: read (and blank)


def test_batch_over_the_limit_is_413_json(tiny_weights):
    client = create_app({"WEIGHTS_PATH": str(tiny_weights), "BATCH_LIMIT": 2}).test_client()
    r = client.post("/api/predict", json={"pixels": np.zeros((3, 784)).tolist()})
    assert (r.status_code, r.get_json()["error"]["code"]) == (413, "too_many_images")


@pytest.mark.parametrize(
    "method, path, status, code",
    [
        ("get", "/nowhere", 404, "not_found"),
        ("get", "/api/predict", 405, "method_not_allowed"),
        ("post", "/api/model", 405, "method_not_allowed"),
        ("get", "/api/layers/hidden9/neurons/0", 404, "unknown_layer"),
        ("get", "/api/layers/hidden1/neurons/16", 404, "unknown_neuron"),
        ("get", "/api/layers/output/neurons/10", 404, "unknown_neuron"),
        ("get", "/api/layers/hidden1/neurons/-1", 404, "not_found"),
        ("get", "/api/layers/output/neurons/1?format=png", 400, "no_image"),
        ("get", "/api/layers/hidden1/neurons/1?format=gif", 400, "invalid_parameter"),
    ],
)
def test_routing_errors_are_json(client, method, path, status, code):
    r = getattr(client, method)(path)
    assert (r.status_code, r.get_json()["error"]["code"]) == (status, code)
    if status == 405:
        assert "Allow" in r.headers


def test_unexpected_errors_are_a_plain_500(app, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(app.extensions["digits"].get().predictor, "predict", boom)
    r = app.test_client().post("/api/predict", data=one_stroke(), content_type="image/png")
    assert r.status_code == 500 and r.get_json() == {
        "error": {"code": "internal_error", "message": "internal server error"}
    }


def test_health_probes(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").get_json()["status"] == "ready"


@pytest.mark.parametrize("content, needle", [(None, "no such weights file"), (b"garbage", "not a safetensors file")])
def test_bad_weights_stop_start_up_with_one_line(tmp_path, content, needle):
    path = tmp_path / "model.safetensors"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(StartupError) as info:
        create_app({"WEIGHTS_PATH": str(path)})
    assert needle in str(info.value) and str(path) in str(info.value) and "\n" not in str(info.value)


def test_top_must_be_ascii_digits(client):
    r = client.post("/api/predict?top=%C2%B2", data=one_stroke(), content_type="image/png")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_parameter"


@pytest.mark.parametrize("mode", ["auto", "raw"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_float_tiff_with_nan_or_infinity_is_refused(client, mode, bad):
    import io

    from PIL import Image

    pixels = np.zeros((28, 28), np.float32)
    pixels[5:20, 12:15] = 1.0
    pixels[0, 0] = bad
    buf = io.BytesIO()
    Image.fromarray(pixels, mode="F").save(buf, format="TIFF")
    r = client.post(f"/api/predict?mode={mode}", data=buf.getvalue(), content_type="image/tiff")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_image"


def test_query_parameters_read_as_werkzeug_reads_them(app):
    """request.args is a QueryArgs: get() answers what werkzeug's would (first value, default, type, a conversion
    that fails → default) without raising and catching an HTTP exception for each absent name."""
    from werkzeug.datastructures import ImmutableMultiDict

    from service.app import QueryArgs

    pairs = [("top", "3"), ("top", "5"), ("mode", "raw"), ("input", "")]
    ours, theirs = QueryArgs(pairs), ImmutableMultiDict(pairs)
    for key, default, kind in [("top", None, None), ("top", 0, int), ("mode", "auto", int), ("model", None, None)]:
        assert ours.get(key, default, kind) == theirs.get(key, default, kind)
    assert ours.get("activations", "0") == "0" and ours.getlist("top") == ["3", "5"] and ours.get("input") == ""
    with app.test_request_context("/api/predict?top=2&top=7"):
        from flask import request

        assert isinstance(request.args, QueryArgs) and request.args.get("top") == "2"
        assert request.args.get("model") is None


def test_ensure_sync_is_asked_once_per_plain_function_and_forgets_per_request_callbacks():
    """DigitsFlask remembers that a view or hook is a plain function (Flask would ask inspect on every call); a
    coroutine function still goes to Flask, and callbacks made per request are not kept after their request."""
    import gc

    from flask import after_this_request

    from service.app import DigitsFlask

    app, calls = DigitsFlask(__name__), []

    @app.get("/x")
    def view():
        after_this_request(lambda response: calls.append(1) or response)
        return "ok"

    client = app.test_client()
    assert [client.get("/x").status_code for _ in range(50)] == [200] * 50 and len(calls) == 50
    gc.collect()
    assert view in app._plain and len(app._plain) < 5  # the view (and Flask's own hooks), not 50 callbacks
    assert app.ensure_sync(view) is view

    async def coroutine():
        return 1

    try:
        wrapped = app.ensure_sync(coroutine)  # Flask's async_to_sync (or its RuntimeError without asgiref)
    except RuntimeError:
        wrapped = None
    assert wrapped is not coroutine and coroutine not in app._plain
