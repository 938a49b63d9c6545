"""Outlier exposure: the synthetic non-digits' shapes and ranges, the uniform loss by hand, and a run that trains."""

import json
import math

import torch
import torch.nn.functional as F

from model import MLP, MLPConfig
from training.cli import main
from training.loop import Learner, train_step
from training.outliers import (
    EVERY,
    PER_DIGIT,
    fit_box,
    make_outliers,
    outlier_loss,
    rotated,
    side_by_side,
    strokes,
    uniform_cross_entropy,
    with_outliers,
)


def _digits(n=32):
    torch.manual_seed(0)
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 4:24, 12:16] = 1.0  # a '1' filling the 20-pixel box, as MNIST frames it
    return x.reshape(n, -1), torch.arange(n) % 10


def test_outliers_are_images_in_0_1_with_ink():
    x, y = _digits()
    out = make_outliers(x, y, 12)
    assert out.shape == (12, 784) and out.dtype == x.dtype
    assert out.min() >= 0 and out.max() <= 1
    assert (out.amax(1) > 0.5).all()  # every outlier carries ink


def test_generators_keep_batch_shapes():
    x, y = _digits()
    img = x.view(-1, 1, 28, 28)
    assert side_by_side(img[:5]).shape == (5, 1, 28, 48)
    assert rotated(img, y, 7).shape == (7, 1, 28, 28)
    assert strokes(6, img.device).shape == (6, 1, 28, 28)


def test_turned_bar_is_a_horizontal_bar_and_never_a_zero():
    x, y = _digits(10)
    x[y == 0] = 0.0  # the 0 is blank here, so picking it would show
    turned = rotated(x.view(-1, 1, 28, 28), y, 50)[:, 0]
    assert (turned.amax((1, 2)) == 1).all()
    assert turned.sum(2).gt(0).sum(1).max() == 4  # 4 rows carry ink: the 4-pixel-wide bar lies flat


def test_fit_box_puts_ink_in_a_20_pixel_box_centred_on_14():
    img = torch.zeros(1, 1, 28, 56)
    img[..., 10:14, 2:42] = 1.0  # a wide bar, 40 px long
    out = fit_box(img)[0, 0]
    cols = (out > 0.1).any(0).nonzero().flatten()
    assert 19 <= cols.max() - cols.min() + 1 <= 21
    ys, xs = torch.meshgrid(torch.arange(28.0) + 0.5, torch.arange(28.0) + 0.5, indexing="ij")
    assert abs((out * xs).sum() / out.sum() - 14) < 0.5 and abs((out * ys).sum() / out.sum() - 14) < 0.5


def test_uniform_cross_entropy_matches_its_formula_by_hand():
    logits = torch.tensor([[0.0] * 10, [math.log(9.0)] + [0.0] * 9])
    # row 1: uniform → ln 10. row 2: p_0 = 9/18, others 1/18 → −(ln(1/2) + 9 ln(1/18)) / 10
    expected = (math.log(10) + -(math.log(0.5) + 9 * math.log(1 / 18)) / 10) / 2
    assert abs(uniform_cross_entropy(logits).item() - expected) < 1e-6


def test_a_run_with_outliers_trains(tmp_path, mnist_root):
    out = tmp_path / "m.safetensors"
    code = main(
        [
            "--subset",
            "2500",
            "--val-size",
            "500",
            "--epochs",
            "1",
            "--no-progress",
            "--batch-size",
            "64",
            "--outlier-weight",
            "0.5",
            "--data-dir",
            str(mnist_root),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.7 and metrics["settings"]["outlier_weight"] == 0.5


def test_outliers_join_the_batch_on_every_fourth_step_only():
    x, y = _digits(32)
    assert with_outliers(x, y, 0.5, step=1) is x and with_outliers(x, y, 0.0, step=0) is x
    batch = with_outliers(x, y, 0.5, step=EVERY)
    assert batch.shape == (32 + int(32 * PER_DIGIT), 784) and torch.equal(batch[:32], x)  # the digits come first


def test_the_added_term_is_the_weighted_uniform_cross_entropy_and_zero_without_outliers():
    logits = torch.randn(5, 10)
    assert torch.allclose(outlier_loss(logits, 0.5), 0.5 * uniform_cross_entropy(logits))
    assert outlier_loss(logits, 0.5) > 0.5 * 2.3  # cross-entropy to uniform is at least ln 10 ≈ 2.303
    assert outlier_loss(logits[:0], 0.5) == 0.0


def test_the_reported_loss_is_the_digits_cross_entropy():
    torch.manual_seed(0)
    model = MLP(MLPConfig(hidden=(16,), dropout=0.0))  # no dropout: the reference forward below must see the same net
    x, y = torch.rand(32, 784), torch.randint(0, 10, (32,))
    expected = F.cross_entropy(model(x), y)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # a step that changes nothing
    loss = train_step(Learner(model, opt, None, outlier_weight=0.5), x, y, step=0)  # step 0 adds outliers
    assert torch.allclose(loss, expected, atol=1e-6)
