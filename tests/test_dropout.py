"""model.dropout.Dropout: inverted dropout with the same rule as torch.nn.Dropout and a cheaper CPU mask."""

from __future__ import annotations

import pytest
import torch

from model.dropout import Dropout, keep_mask


@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.9])
def test_each_element_is_kept_with_probability_1_minus_p(p):
    torch.manual_seed(0)
    mask = keep_mask(torch.Size((400, 1000)), p, torch.device("cpu"), torch.float32)
    kept = mask > 0
    assert abs(kept.float().mean().item() - (1 - p)) < 0.003  # 400,000 draws: σ ≤ 0.0008
    assert torch.allclose(mask[kept], torch.full_like(mask[kept], 1 / (1 - p)), rtol=1e-4)  # inverted scaling


def test_the_mask_has_no_pattern_across_the_four_elements_of_a_draw():
    torch.manual_seed(1)
    kept = keep_mask(torch.Size((100_000, 4)), 0.5, torch.device("cpu"), torch.float32) > 0  # one 64-bit draw per row
    rates = kept.float().mean(0)
    assert (rates - 0.5).abs().max() < 0.01
    both = (kept[:, 0] & kept[:, 3]).float().mean().item()  # independent lanes: P(both) = 0.25
    assert abs(both - 0.25) < 0.01


def test_the_expected_output_is_the_input():
    torch.manual_seed(2)
    a = torch.rand(64, 800)
    drop = Dropout(0.2).train()
    mean = torch.stack([drop(a) for _ in range(200)]).mean(0)
    assert (mean - a).abs().mean() < 0.02


def test_odd_sizes_and_other_dtypes():
    torch.manual_seed(3)
    a = torch.ones(3, 7, dtype=torch.bfloat16)  # 21 elements: not a multiple of the four per draw
    out = Dropout(0.5).train()(a)
    assert out.shape == a.shape and out.dtype == torch.bfloat16
    assert set(out.unique().tolist()) <= {0.0, 2.0}


def test_eval_mode_and_p_zero_pass_the_input_through():
    a = torch.rand(5, 10)
    assert Dropout(0.5).eval()(a) is a
    assert Dropout(0.0).train()(a) is a


def test_the_gradient_flows_through_kept_elements_only():
    torch.manual_seed(4)
    a = torch.rand(32, 50, requires_grad=True)
    out = Dropout(0.3).train()(a)
    out.sum().backward()
    kept = out.detach() != 0
    assert torch.allclose(a.grad[kept], torch.full_like(a.grad[kept], 1 / 0.7), rtol=1e-4)
    assert (a.grad[~kept] == 0).all()


def test_the_same_seed_gives_the_same_mask():
    a = torch.rand(16, 16)
    torch.manual_seed(5)
    first = Dropout(0.5).train()(a)
    torch.manual_seed(5)
    assert torch.equal(Dropout(0.5).train()(a), first)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_impossible_probabilities_are_refused(p):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        Dropout(p)
