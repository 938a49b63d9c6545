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


def test_one_input_reads_only_the_rows_it_needs():
    """For one row, product() skips the weight rows of zero inputs (NaN there changes nothing) and equals the
    dense product; a batch takes the dense product (the NaN row then shows)."""
    from model.products import product

    rng = np.random.default_rng(0)
    rows = rng.standard_normal((784, 50)).astype(np.float32)
    x = (rng.random((1, 784)) * (rng.random((1, 784)) > 0.8)).astype(np.float32)
    expected = x.astype(np.float64) @ rows.astype(np.float64)
    unused = np.flatnonzero(x[0] == 0)[0]
    rows[unused] = np.nan
    np.testing.assert_allclose(product(x, rows), expected, rtol=1e-5, atol=1e-5)
    assert np.isnan(product(np.repeat(x, 2, axis=0), rows)).all()


def test_split_product_gives_both_parts():
    """split_product: one input reads the rows it needs once for both parts (NaN in an unused row changes nothing);
    a batch gets each part bit for bit as that part's own dense product."""
    from model.products import split_product

    rng = np.random.default_rng(2)
    rows = rng.standard_normal((784, 50)).astype(np.float32)
    x = (rng.random((3, 784)) * (rng.random((3, 784)) > 0.8)).astype(np.float32)
    left, right = split_product(x, rows, 30)
    np.testing.assert_array_equal(left, x @ np.ascontiguousarray(rows[:, :30]))
    np.testing.assert_array_equal(right, x @ np.ascontiguousarray(rows[:, 30:]))
    rows[np.flatnonzero(x[0] == 0)[0]] = np.nan
    one_left, one_right = split_product(x[:1], rows, 30)
    assert one_left.shape == (1, 30) and one_right.shape == (1, 20)
    expected = x[:1].astype(np.float64) @ np.nan_to_num(rows, nan=0.0).astype(np.float64)
    np.testing.assert_allclose(np.concatenate([one_left, one_right], 1), expected, rtol=1e-5, atol=1e-5)


def test_a_model_changed_later_needs_a_new_frozen_copy():
    """The weights are copied (transposed) once: a FrozenMLP made after a change computes with the change."""
    model = trained_like(MLPConfig(hidden=(8,)))
    before = FrozenMLP(model)
    with torch.no_grad():
        model.hidden[0].weight += 0.5
    x = np.random.default_rng(0).random((2, 784), dtype=np.float32)
    expected = model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(FrozenMLP(model).trace(x)[-1].z, expected, atol=1e-4)
    assert not np.allclose(before.trace(x)[-1].z, expected, atol=1e-4)


def test_sigmoid_has_no_overflow_at_extreme_inputs():
    model = MLP(MLPConfig(hidden=(2,), activation="sigmoid")).eval()
    with torch.no_grad():
        model.hidden[0].weight[0].fill_(100.0)  # z = +78,400
        model.hidden[0].weight[1].fill_(-100.0)  # z = −78,400
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        hidden = FrozenMLP(model).trace(np.ones((1, 784), np.float32))[0]
    np.testing.assert_allclose(hidden.a, [[1.0, 0.0]])


@pytest.mark.parametrize("activation, batch_norm, hidden", [("relu", False, (24, 12)), ("maxout", True, (16, 12))])
def test_riders_come_out_of_their_layers_products(activation, batch_norm, hidden):
    """trace_riding: the traces are trace()'s, and each rider's product is its layer's input times the rider
    (the pixels for layer 0, the last hidden activations for layer -1), for one image and for a batch."""
    model = trained_like(MLPConfig(hidden=hidden, activation=activation, batch_norm=batch_norm))
    rng = np.random.default_rng(1)
    first, last = (rng.standard_normal((n, m)).astype(np.float32) for n, m in ((784, 7), (hidden[-1], 5)))
    net, plain = FrozenMLP(model, {0: first, -1: last}), FrozenMLP(model)
    x = (rng.random((4, 784)) * (rng.random((4, 784)) > 0.7)).astype(np.float32)
    for batch in (x[:1], x):
        traces, rides = net.trace_riding(batch)
        assert sorted(rides) == [-1, 0]
        for got, alone in zip(traces, plain.trace(batch)):
            np.testing.assert_allclose(got.z, alone.z, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(got.a, alone.a, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(rides[0], batch.astype(np.float64) @ first, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(rides[-1], traces[-2].a.astype(np.float64) @ last, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(net.trace(x)[-1].z, plain.trace(x)[-1].z)  # without riding: the same rows
