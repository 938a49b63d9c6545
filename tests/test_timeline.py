"""The training timeline: which steps are snapshotted, the history file's round trip, and what a real run writes."""

from __future__ import annotations

import json
import math

import pytest
import torch
from safetensors.torch import save as st_save

from model import MLP, MLPConfig, WeightsError, load_weights
from model.files import HISTORY
from model.history import history_bytes, read_history, snapshot_steps, write_history
from training.checkpoint import load_checkpoint
from training.cli import main
from training.data import load_mnist, split_validation, to_inputs

SUBSET, VAL, BATCH, EPOCHS, SEED = 2500, 500, 64, 2, 5
RUN = ["--subset", str(SUBSET), "--val-size", str(VAL), "--batch-size", str(BATCH), "--epochs", str(EPOCHS)]
RUN += ["--hidden", "32", "--seed", str(SEED), "--no-progress"]
TRAIN = SUBSET - VAL + 516  # MNIST's 2,000 and one copy of the 516 typeset digits (training/typeset.py)
STEPS_PER_EPOCH = math.ceil(TRAIN / BATCH)  # 40


@pytest.mark.parametrize(
    "total, per_epoch, count",
    [(2150, 215, 32), (2150, 215, 20), (17200, 430, 32), (40, 40, 32), (2150, 215, 5), (10, 1, 32), (64, 32, 32)],
)
def test_snapshot_steps_start_at_0_end_at_the_last_step_and_stay_within_the_count(total, per_epoch, count):
    steps = snapshot_steps(total, per_epoch, count)
    assert steps[0] == 0 and steps[-1] == total and len(steps) <= count
    assert steps == sorted(set(steps))
    ends = range(per_epoch, total + 1, per_epoch)
    if len(ends) < count:
        assert set(ends) <= set(steps)  # every epoch's end, when there is room for them all


def test_snapshot_steps_are_log_spaced_through_the_first_epoch():
    steps = snapshot_steps(2150, 215, 32)  # the default run: 10 epochs of 215 steps
    assert steps[:5] == [0, 1, 2, 3, 4] and len(steps) == 32
    early = [s for s in steps if 10 <= s <= 215]  # rounding bends the ratio below 10
    ratios = [b / a for a, b in zip(early, early[1:])]
    assert max(ratios) / min(ratios) < 1.15  # a constant ratio between neighbours: evenly spaced on a log axis
    assert sum(s <= 215 for s in steps) > len(steps) / 2  # most of them in the first epoch, where learning is fast


def test_no_snapshots_and_the_fewest_that_cover_the_run():
    assert snapshot_steps(2150, 215, 0) == []
    assert snapshot_steps(2150, 215, 2) == [0, 2150]


def _state(model: MLP) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_the_file_round_trips_floats_as_float16_and_integers_exactly(tmp_path):
    torch.manual_seed(0)
    config = MLPConfig(hidden=(12, 6), batch_norm=True)
    model = MLP(config)
    first = _state(model)
    model.norms[0].num_batches_tracked += 7
    with torch.no_grad():
        model.hidden[0].weight.mul_(3.0)
    states = [first, _state(model)]
    snapshots = [
        {"step": 0, "epoch": 0.0, "seen_images": 0, "loss": None, "val_accuracy": 0.1},
        {"step": 3, "epoch": 0.5, "seen_images": 192, "loss": 2.25, "val_accuracy": 0.5},
    ]
    write_history(tmp_path / HISTORY, config, snapshots, states)
    read, got = read_history(tmp_path / HISTORY)
    assert read == snapshots and len(got) == 2 and got.config == config
    for k, state in enumerate(states):
        assert got[k].keys() == state.keys()
        for name, tensor in state.items():
            expected = tensor.half().float() if tensor.is_floating_point() else tensor  # fp16 rounding, by hand
            assert got[k][name].dtype == tensor.dtype and torch.equal(got[k][name], expected), name
    assert got[1]["norms.0.num_batches_tracked"].item() == 7
    assert torch.equal(got(1)["hidden.0.weight"], got[-1]["hidden.0.weight"])


def test_a_file_that_is_not_a_history_is_refused_by_name(tmp_path):
    config = MLPConfig(hidden=(4,))
    figures = {"step": 0, "epoch": 0.0, "seen_images": 0, "loss": None, "val_accuracy": 0.1}
    state = MLP(config).state_dict()
    cases = {
        "weights.safetensors": (st_save({"x": torch.zeros(1)}, metadata={"format": "digits-mlp/1"}), "format"),
        "short.safetensors": (history_bytes(config, [figures, figures], [state]), "same tensors"),
        "figures.safetensors": (history_bytes(config, [{"step": 0}], [state]), "needs exactly the keys"),
        "garbage.safetensors": (b"not safetensors", "not a readable safetensors file"),
    }
    for name, (data, needle) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(WeightsError, match=needle) as err:
            read_history(tmp_path / name)
        assert name in str(err.value)


@pytest.fixture(scope="module")
def timeline_run(tmp_path_factory, mnist_root):
    """A short real run with the default --snapshots: (its folder, the snapshots' figures, their weights)."""
    out = tmp_path_factory.mktemp("timeline") / "model.safetensors"
    assert main([*RUN, "--data-dir", str(mnist_root), "--out", str(out)]) == 0
    return (out, *read_history(out.parent / HISTORY))


def test_a_run_writes_its_timeline_beside_the_weights(timeline_run):
    out, snapshots, _ = timeline_run
    total = EPOCHS * STEPS_PER_EPOCH
    assert [s["step"] for s in snapshots] == snapshot_steps(total, STEPS_PER_EPOCH, 32)
    assert snapshots[0]["loss"] is None and all(s["loss"] > 0 for s in snapshots[1:])
    per_epoch = TRAIN  # images in an epoch: 38 batches of 64 and one of 30
    for s in snapshots:
        epochs, step = divmod(s["step"], STEPS_PER_EPOCH)
        assert s["epoch"] == s["step"] / STEPS_PER_EPOCH
        assert s["seen_images"] == epochs * per_epoch + min(step * BATCH, per_epoch)
    assert snapshots[-1]["seen_images"] == EPOCHS * per_epoch
    history = json.loads((out.parent / "metrics.json").read_text())["history"]
    for row in history:  # at an epoch's end the snapshot's accuracy is the epoch's own evaluation
        (at_end,) = [s for s in snapshots if s["step"] == row["epoch"] * STEPS_PER_EPOCH]
        assert at_end["val_accuracy"] == row["val_accuracy"]


def test_snapshot_0_is_the_initialisation_and_the_last_the_final_weights(timeline_run, mnist_root):
    out, snapshots, states = timeline_run
    config = MLPConfig.from_dict(load_weights(out)[1]["config"])
    torch.manual_seed(SEED)  # what training does before it builds the network
    initial = MLP(config)
    for name, tensor in initial.state_dict().items():
        assert torch.equal(states[0][name], tensor.half().float()), name
    final = load_checkpoint(out.with_suffix(".ckpt"))["model"]  # the weights after the last step
    for name, tensor in final.items():
        assert torch.equal(states[-1][name], tensor.half().float()), name
    mnist = load_mnist(mnist_root)  # the initialisation's validation accuracy, counted here
    _, _, val_x, val_y = split_validation(mnist.train_x[:SUBSET], mnist.train_y[:SUBSET], VAL)
    with torch.inference_mode():
        accuracy = (initial.eval()(to_inputs(val_x)).argmax(1) == val_y).float().mean().item()
    assert snapshots[0]["val_accuracy"] == pytest.approx(accuracy, abs=1e-6)


def test_snapshots_0_writes_no_timeline_removes_a_stale_one_and_trains_the_same_weights(
    tmp_path, mnist_root, timeline_run
):
    with_snapshots, _, _ = timeline_run
    out = tmp_path / "model.safetensors"
    (tmp_path / HISTORY).write_bytes(b"an earlier run's timeline")
    assert main([*RUN, "--snapshots", "0", "--data-dir", str(mnist_root), "--out", str(out)]) == 0
    assert not (tmp_path / HISTORY).exists()
    a, _ = load_weights(out)
    b, _ = load_weights(with_snapshots)
    for name, tensor in a.state_dict().items():  # snapshots draw no random numbers and change nothing
        assert torch.equal(tensor, b.state_dict()[name]), name
