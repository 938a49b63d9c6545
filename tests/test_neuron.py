"""One neuron, checked against a hand computation of z = w·x + b and a = f(z)."""

import math

import pytest
import torch

from model import MLP, MLPConfig

FORMULAS = {  # the textbook formulas, written independently of model/activations.py
    "relu": lambda z, cfg: max(0.0, z),
    "sigmoid": lambda z, cfg: 1.0 / (1.0 + math.exp(-z)),
    "tanh": lambda z, cfg: (math.exp(z) - math.exp(-z)) / (math.exp(z) + math.exp(-z)),
    "leaky_relu": lambda z, cfg: max(cfg.leaky_alpha * z, z),
    "elu": lambda z, cfg: z if z > 0 else cfg.elu_alpha * (math.exp(z) - 1.0),
}


def hand_z(weights: list[float], x: list[float], bias: float) -> float:
    """w·x + b with a plain Python loop."""
    return sum(w * xi for w, xi in zip(weights, x)) + bias


@pytest.mark.parametrize("activation", sorted(FORMULAS))
def test_hidden_neuron_matches_hand_computation(activation):
    torch.manual_seed(1)
    cfg = MLPConfig(hidden=(5,), activation=activation, leaky_alpha=0.1, elu_alpha=0.7)
    model = MLP(cfg).eval()
    x = torch.rand(1, 784, dtype=torch.float64)
    model = model.double()
    hidden, _ = model.trace(x)
    for j in range(5):
        w = model.hidden[0].weight[j].tolist()
        z = hand_z(w, x[0].tolist(), model.hidden[0].bias[j].item())
        assert hidden.z[0, j].item() == pytest.approx(z, rel=1e-9, abs=1e-12)
        assert hidden.a[0, j].item() == pytest.approx(FORMULAS[activation](z, cfg), rel=1e-9, abs=1e-12)


def test_activation_formulas_cover_negative_and_positive_inputs():
    z = torch.tensor([[-3.0, -0.5, 0.0, 0.5, 3.0]], dtype=torch.float64)
    for name, formula in FORMULAS.items():
        cfg = MLPConfig(activation=name, leaky_alpha=0.2, elu_alpha=1.5)
        from model.activations import activation_fn

        got = activation_fn(cfg)(z)[0].tolist()
        assert got == pytest.approx([formula(v, cfg) for v in z[0].tolist()], rel=1e-12), name


def test_maxout_neuron_is_the_best_of_its_k_linear_pieces():
    torch.manual_seed(2)
    model = MLP(MLPConfig(hidden=(4,), activation="maxout", maxout_pieces=3)).double().eval()
    x = torch.rand(1, 784, dtype=torch.float64)
    hidden = model.trace(x)[0]
    weight, bias = model.hidden[0].weight, model.hidden[0].bias  # (4·3, 784): pieces grouped per neuron
    for j in range(4):
        pieces = [hand_z(weight[3 * j + p].tolist(), x[0].tolist(), bias[3 * j + p].item()) for p in range(3)]
        assert hidden.a[0, j].item() == pytest.approx(max(pieces), rel=1e-9)
        assert hidden.z[0, j].item() == pytest.approx(max(pieces), rel=1e-9)


def test_output_layer_is_logits_and_softmax():
    torch.manual_seed(3)
    model = MLP(MLPConfig(hidden=(6,))).double().eval()
    x = torch.rand(2, 28, 28, dtype=torch.float64)
    hidden, out = model.trace(x)
    for b in range(2):
        logits = [
            hand_z(model.output.weight[k].tolist(), hidden.a[b].tolist(), model.output.bias[k].item())
            for k in range(10)
        ]
        exps = [math.exp(v - max(logits)) for v in logits]
        assert out.z[b].tolist() == pytest.approx(logits, rel=1e-9)
        assert out.a[b].tolist() == pytest.approx([e / sum(exps) for e in exps], rel=1e-9)
    assert out.name == "output" and out.activation == "softmax"


def test_forward_is_the_traced_path():
    torch.manual_seed(4)
    model = MLP(MLPConfig(hidden=(32, 16), activation="tanh", batch_norm=True, dropout=0.5)).eval()
    x = torch.rand(8, 1, 28, 28)
    traces = model.trace(x)
    assert [t.name for t in traces] == ["hidden1", "hidden2", "output"]
    assert [t.a.shape[1] for t in traces] == [32, 16, 10]
    assert torch.equal(model(x), traces[-1].z)


def test_network_matches_an_independent_numpy_computation():
    import numpy as np

    torch.manual_seed(5)
    model = MLP(MLPConfig(hidden=(20, 12), activation="relu")).eval()
    x = torch.rand(4, 784)
    sd = {k: v.numpy().astype(np.float64) for k, v in model.state_dict().items()}
    a = x.numpy().astype(np.float64)
    for i in range(2):
        a = np.maximum(a @ sd[f"hidden.{i}.weight"].T + sd[f"hidden.{i}.bias"], 0)
    logits = a @ sd["output.weight"].T + sd["output.bias"]
    assert np.allclose(model(x).detach().numpy(), logits, atol=1e-5)
