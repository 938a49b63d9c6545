"""Learning made visible: one step of backprop against hand computations, Captum attributions, the timeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model import MLP, MLPConfig, save_weights
from model.files import HISTORY
from model.history import read_history, write_history
from service import create_app

PIXELS = np.random.default_rng(3).integers(0, 256, 784).astype(np.float64)  # one 'image', 0–255
X = PIXELS / 255


@pytest.fixture
def net(tiny_model) -> dict[str, np.ndarray]:
    """The tiny model's weights in float64, for computations by hand."""
    return {k: v.detach().double().numpy() for k, v in tiny_model.state_dict().items()}


def forward(net: dict[str, np.ndarray], x: np.ndarray = X) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z1, a1 and the softmax p of the 784 → 16 ReLU → 10 network, written out."""
    z1 = net["hidden.0.weight"] @ x + net["hidden.0.bias"]
    a1 = np.maximum(z1, 0)
    logits = net["output.weight"] @ a1 + net["output.bias"]
    p = np.exp(logits - logits.max())
    return z1, a1, p / p.sum()


def loss(net: dict[str, np.ndarray], target: int) -> float:
    return float(-np.log(forward(net)[2][target]))


def post(client, path: str):
    response = client.post(path, json={"pixels": PIXELS.tolist()})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def gradients(net: dict[str, np.ndarray], target: int) -> dict[str, np.ndarray]:
    """∂L/∂w of every weight and bias for the cross-entropy of target: δ_out = p − y, δ_j = Σ_k W_kj δ_k f'(z_j)."""
    z1, a1, p = forward(net)
    delta_out = p - np.eye(10)[target]
    delta_hidden = net["output.weight"].T @ delta_out * (z1 > 0)
    return {
        "output.weight": np.outer(delta_out, a1),
        "output.bias": delta_out,
        "hidden.0.weight": np.outer(delta_hidden, X),
        "hidden.0.bias": delta_hidden,
    }


def step_by_hand(net: dict[str, np.ndarray], target: int, lr: float) -> dict[str, np.ndarray]:
    """The network after one SGD step: w − η·g for every weight and bias."""
    return {name: net[name] - lr * g for name, g in gradients(net, target).items()}


def test_one_step_matches_backprop_by_hand(client, net):
    target, lr = 3, 0.5
    z1, a1, p = forward(net)
    y = np.eye(10)[target]
    out = post(client, f"/api/teach?target={target}&lr={lr}&neuron=output:7")
    assert out["loss"] == pytest.approx(-np.log(p[target]), abs=1e-5)
    np.testing.assert_allclose(out["probabilities_before"], p, atol=1e-6)
    np.testing.assert_allclose(out["layers"][1]["delta"], p - y, atol=1e-6)  # δ_out = p − y
    delta_hidden = net["output.weight"].T @ (p - y) * (z1 > 0)  # Σ_k W_kj (p_k − y_k) f'(z_j)
    np.testing.assert_allclose(out["layers"][0]["delta"], delta_hidden, atol=1e-6)
    np.testing.assert_allclose(out["neuron"]["weight_gradient"], (p[7] - y[7]) * a1, atol=1e-6)  # (p_k − y_k)·a_j
    norms = np.linalg.norm(np.outer(delta_hidden, X), axis=1)
    np.testing.assert_allclose(out["layers"][0]["gradient_norm"], norms, atol=1e-5)
    stepped = step_by_hand(net, target, lr)
    np.testing.assert_allclose(out["probabilities_after"], forward(stepped)[2], atol=1e-5)
    assert out["loss_after"] == pytest.approx(loss(stepped, target), abs=1e-4)


def test_lr_sweep_is_one_step_by_hand_per_learning_rate(client, net):
    target, lr = 6, 0.05  # not on the grid: the sweep puts it in its place
    out = post(client, f"/api/teach?target={target}&lr={lr}")
    sweep = {point["lr"]: point for point in out["lr_sweep"]}
    lrs = [point["lr"] for point in out["lr_sweep"]]
    assert lrs == sorted(lrs) and len(lrs) == 14 and lrs[0] == pytest.approx(1e-3) and lrs[-1] == pytest.approx(1e3)
    assert sweep[lr]["loss_after"] == out["loss_after"]  # the answer's step is the sweep's step at lr
    assert sweep[lr]["p_target_after"] == out["probabilities_after"][target]
    g = gradients(net, target)
    size = np.sqrt(sum(np.sum(v**2) for v in g.values()) / sum(np.sum(net[n] ** 2) for n in g))  # ‖g‖ / ‖w‖
    for eta in (0.001, 0.01, 0.1, 10.0):  # each from the network before any step, float64 by hand
        stepped = step_by_hand(net, target, eta)
        assert sweep[eta]["loss_after"] == pytest.approx(loss(stepped, target), rel=1e-4, abs=1e-5)
        assert sweep[eta]["p_target_after"] == pytest.approx(forward(stepped)[2][target], abs=1e-5)
        assert sweep[eta]["weight_change"] == pytest.approx(eta * size, rel=1e-6)


def test_weight_gradients_match_finite_differences(client, net):
    out = post(client, "/api/teach?target=5&neuron=hidden1:4")
    gradient = np.asarray(out["neuron"]["weight_gradient"]).reshape(784)  # a 28×28 picture for the first layer
    assert np.asarray(out["neuron"]["weight_gradient"]).shape == (28, 28)
    for pixel in np.argsort(-X)[:5]:  # the brightest pixels: their weights matter most
        eps, up, down = 1e-6, dict(net), dict(net)
        up["hidden.0.weight"] = net["hidden.0.weight"].copy()
        down["hidden.0.weight"] = net["hidden.0.weight"].copy()
        up["hidden.0.weight"][4, pixel] += eps
        down["hidden.0.weight"][4, pixel] -= eps
        numeric = (loss(up, 5) - loss(down, 5)) / (2 * eps)
        assert gradient[pixel] == pytest.approx(numeric, abs=1e-5)


def test_teaching_never_changes_the_served_model(client):
    before = post(client, "/api/predict")
    post(client, "/api/teach?target=1&lr=50")
    assert post(client, "/api/predict") == before


@pytest.mark.parametrize(
    "query, status",
    [
        ("", 400),
        ("?target=10", 400),
        ("?target=1&lr=0", 400),
        ("?target=1&lr=nan", 400),
        ("?target=1&lr=1e9", 400),
        ("?target=1&neuron=hidden9:0", 404),
        ("?target=1&neuron=hidden1:99", 404),
        ("?target=1&neuron=x", 400),
    ],
)
def test_bad_lessons_are_4xx(client, query, status):
    response = client.post(f"/api/teach{query}", json={"pixels": PIXELS.tolist()})
    assert response.status_code == status and "error" in response.get_json()


def saliency_by_hand(net: dict[str, np.ndarray], target: int) -> np.ndarray:
    """∂z_target/∂x = Σ_j W_out[target, j] · f'(z_j) · W_1[j, :] for the ReLU network."""
    z1, _, _ = forward(net)
    return (net["output.weight"][target] * (z1 > 0)) @ net["hidden.0.weight"]


def test_saliency_and_gradient_x_input_match_the_gradient_by_hand(client, net):
    grad = saliency_by_hand(net, 2)
    saliency = post(client, "/api/explain?method=saliency&target=2")
    np.testing.assert_allclose(np.reshape(saliency["attributions"], 784), np.abs(grad), atol=1e-6)
    gxi = post(client, "/api/explain?method=gradient_x_input&target=2")
    np.testing.assert_allclose(np.reshape(gxi["attributions"], 784), grad * X, atol=1e-6)


def test_integrated_gradients_are_complete(client, net):
    """The map sums to logit(input) − logit(black) within 1 %; the default target is the answer."""
    out = post(client, "/api/explain")
    logits = net["output.weight"] @ forward(net)[1] + net["output.bias"]
    assert out["method"] == "integrated_gradients" and out["target"] == int(np.argmax(logits))
    assert out["logit"] == pytest.approx(logits[out["target"]], abs=1e-5)
    gap = out["logit"] - out["baseline_logit"]
    assert np.sum(out["attributions"]) == pytest.approx(gap, rel=0.01, abs=1e-4)
    assert abs(out["delta"]) < 0.01 * max(abs(gap), 1e-3)


def test_neuron_integrated_gradients_and_conductance(client, net):
    z1, a1, _ = forward(net)
    fired = int(np.argmax(a1))
    out = post(client, f"/api/explain?neuron=hidden1:{fired}")  # why did this neuron fire
    assert out["output"] == pytest.approx(a1[fired], abs=1e-5) and out["baseline_output"] == pytest.approx(
        max(net["hidden.0.bias"][fired], 0), abs=1e-6
    )
    assert np.sum(out["attributions"]) == pytest.approx(out["output"] - out["baseline_output"], rel=0.01, abs=1e-4)
    total = sum(  # conductance through every neuron adds up to the whole attribution of the logit
        np.sum(post(client, f"/api/explain?method=conductance&target=4&neuron=hidden1:{i}&steps=512")["attributions"])
        for i in range(16)
    )
    whole = post(client, "/api/explain?target=4&steps=512")
    assert total == pytest.approx(whole["logit"] - whole["baseline_logit"], rel=0.02, abs=1e-3)
    assert client.post("/api/explain?method=conductance", json={"pixels": PIXELS.tolist()}).status_code == 400


@pytest.fixture
def timeline(tmp_path) -> tuple[str, list[MLP]]:
    """Weights with a 3-snapshot history beside them: the three networks as the file keeps them (fp16)."""
    config = MLPConfig(hidden=(16,))
    models = []
    for seed in range(3):
        torch.manual_seed(seed)
        models.append(MLP(config).eval())
    weights = save_weights(tmp_path / "model.safetensors", models[-1], {"test_accuracy": 0.5})
    figures = [
        {
            "step": s,
            "epoch": s / 4,
            "seen_images": 256 * s,
            "loss": None if s == 0 else 1.0 / s,
            "val_accuracy": 0.1 * s,
        }
        for s in (0, 2, 4)
    ]
    write_history(tmp_path / HISTORY, config, figures, [m.state_dict() for m in models])
    _, states = read_history(tmp_path / HISTORY)
    kept = []
    for k in range(3):
        model = MLP(config).eval()
        model.load_state_dict(states[k])
        kept.append(model)
    return str(weights), kept


def test_history_and_snapshots(timeline):
    weights, kept = timeline
    client = create_app({"WEIGHTS_PATH": weights, "TESTING": True}).test_client()
    body = client.get("/api/history").get_json()
    assert body["model"] == "mnist-mlp" and [s["step"] for s in body["snapshots"]] == [0, 2, 4]
    assert body["snapshots"][0] == {"step": 0, "epoch": 0, "seen_images": 0, "loss": None, "val_accuracy": 0}
    assert client.get("/api/models/mnist-mlp/history").get_json() == body
    assert client.get("/api/models").get_json()["models"][0]["history"] is True
    for k, model in enumerate(kept):
        with torch.no_grad():
            expected = torch.softmax(model(torch.from_numpy(X[None].astype(np.float32))), 1)[0].numpy()
        np.testing.assert_allclose(post(client, f"/api/predict?snapshot={k}")["probabilities"], expected, atol=1e-6)
        neuron = client.get(f"/api/layers/hidden1/neurons/2?snapshot={k}").get_json()
        np.testing.assert_allclose(neuron["weights"], model.hidden[0].weight[2].detach().numpy(), atol=1e-6)
    missing = client.post("/api/predict?snapshot=3", json={"pixels": PIXELS.tolist()})
    assert missing.status_code == 404 and "from 0 to 2" in missing.get_json()["error"]["message"]


def test_a_model_without_history_says_so(client):
    response = client.get("/api/history")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "no_history"
    assert client.get("/api/models/nope/history").status_code == 404
