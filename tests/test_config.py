"""MLPConfig: the one place a user's architecture choices live."""

import pytest
import torch

from model import MLP, MLPConfig
from model.config import ACTIVATION_NAMES, INIT_NAMES


def test_defaults_are_784_512_256_10_relu():
    cfg = MLPConfig()
    assert cfg.layer_sizes == [784, 512, 256, 10] and cfg.activation == "relu" and cfg.init == "he"


@pytest.mark.parametrize(
    "field,value,needle",
    [
        ("activation", "swish", "relu"),
        ("init", "orthogonal", "xavier"),
        ("hidden", (0,), "positive"),
        ("hidden", (), "positive"),
        ("dropout", 1.0, "dropout"),
        ("maxout_pieces", 1, "maxout"),
    ],
)
def test_bad_choices_raise_value_error_naming_the_valid_ones(field, value, needle):
    with pytest.raises(ValueError, match=needle):
        MLPConfig(**{field: value})


def test_round_trip_through_dict():
    cfg = MLPConfig(hidden=(64, 32), activation="elu", elu_alpha=0.5, batch_norm=True, dropout=0.1)
    assert MLPConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown config keys: colour"):
        MLPConfig.from_dict({**cfg.to_dict(), "colour": "red"})


@pytest.mark.parametrize("init", INIT_NAMES)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_every_activation_and_init_builds_a_working_network(activation, init):
    torch.manual_seed(0)
    model = MLP(MLPConfig(hidden=(24, 12), activation=activation, init=init))
    logits = model(torch.rand(3, 784))
    assert logits.shape == (3, 10) and torch.isfinite(logits).all()
    assert all(torch.all(layer.bias == 0) for layer in model.hidden)


def test_init_scales_follow_their_formulas():
    torch.manual_seed(0)
    he = MLP(MLPConfig(hidden=(4000,), init="he")).hidden[0].weight
    xavier = MLP(MLPConfig(hidden=(4000,), init="xavier", activation="tanh")).hidden[0].weight
    normal = MLP(MLPConfig(hidden=(4000,), init="normal", init_std=0.05)).hidden[0].weight
    assert he.std().item() == pytest.approx((2 / 784) ** 0.5, rel=0.02)  # He: sqrt(2 / fan_in)
    assert xavier.std().item() == pytest.approx(5 / 3 * (2 / (784 + 4000)) ** 0.5, rel=0.02)  # gain · sqrt(2/(in+out))
    assert normal.std().item() == pytest.approx(0.05, rel=0.02)
