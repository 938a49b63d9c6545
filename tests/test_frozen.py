"""The serving forward pass (model/frozen.py, numpy) against MLP.trace (torch): same z and a in every layer."""

import numpy as np
import pytest
import torch

from model import ACTIVATIONS, MLP, MLPConfig
from model.frozen import FrozenMLP

CASES = [(act, False, (24,)) for act in sorted(ACTIVATIONS)] + [
    ("relu", True, (24,)),
    ("maxout", True, (16, 12)),
    ("elu", False, (16, 12)),
]


def trained_like(cfg: MLPConfig) -> MLP:
    """A seeded model whose batch norm statistics are not the identity (a few training-mode passes)."""
    torch.manual_seed(0)
    model = MLP(cfg)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(torch.rand(64, 784) * 2)  # running mean and variance move away from 0 and 1
    return model.eval()


@pytest.mark.parametrize("activation, batch_norm, hidden", CASES)
def test_numpy_trace_equals_torch_trace(activation, batch_norm, hidden):
    cfg = MLPConfig(hidden=hidden, activation=activation, batch_norm=batch_norm, leaky_alpha=0.1, elu_alpha=0.7)
    model = trained_like(cfg)
    x = torch.rand(5, 784) * (torch.rand(5, 784) > 0.7)  # sparse, like a digit
    with torch.inference_mode():
        expected = model.trace(x)
    got = FrozenMLP(model).trace(x.numpy())
    assert [t.name for t in got] == [t.name for t in expected]
    for g, e in zip(got, expected):
        assert g.activation == e.activation and g.z.dtype == np.float32
        np.testing.assert_allclose(g.z, e.z.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(g.a, e.a.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[-1].a.sum(axis=1), 1, rtol=1e-6)


def test_the_arrays_are_the_models_own_weights():
    """Views, not copies: a change to the model's weights is what the numpy pass computes with."""
    model = trained_like(MLPConfig(hidden=(8,)))
    frozen = FrozenMLP(model)
    with torch.no_grad():
        model.output.bias += 1.0
    x = np.random.default_rng(0).random((2, 784), dtype=np.float32)
    np.testing.assert_allclose(frozen.trace(x)[-1].z, model(torch.from_numpy(x)).detach().numpy(), atol=1e-5)


def test_sigmoid_has_no_overflow_at_extreme_inputs():
    model = MLP(MLPConfig(hidden=(2,), activation="sigmoid")).eval()
    with torch.no_grad():
        model.hidden[0].weight[0].fill_(100.0)  # z = +78,400
        model.hidden[0].weight[1].fill_(-100.0)  # z = −78,400
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        hidden = FrozenMLP(model).trace(np.ones((1, 784), np.float32))[0]
    np.testing.assert_allclose(hidden.a, [[1.0, 0.0]])
