"""The training CLI on real MNIST: accuracy, artefacts, determinism, resume, and clear errors."""

import io
import json
import subprocess
import sys
from dataclasses import fields
from operator import attrgetter
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from model import load_weights
from model.config import ACTIVATION_NAMES, INIT_NAMES, MLPConfig
from model.files import HISTORY
from model.history import read_history
from training import trainer
from training.cli import build_parser, main, parse_settings
from training.settings import TrainSettings

QUICK = ["--subset", "2500", "--val-size", "500", "--epochs", "1", "--no-progress", "--batch-size", "64"]


def train(tmp_path, mnist_root, *flags, name="model.safetensors"):
    out = tmp_path / name
    code = main([*flags, "--data-dir", str(mnist_root), "--out", str(out)])
    return code, out


def tensors(path):
    return load_file(str(path))


@pytest.mark.slow
def test_one_epoch_on_10k_real_images_reaches_90_percent(tmp_path, mnist_root):
    # batch 64: one epoch of 10,000 images is 157 steps (the default 256 gives 39, too few for one epoch to mean much)
    code, out = train(
        tmp_path,
        mnist_root,
        "--subset",
        "11000",
        "--val-size",
        "1000",
        "--epochs",
        "1",
        "--no-progress",
        "--batch-size",
        "64",
    )
    assert code == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.90
    _, info = load_weights(out)
    assert info["provenance"]["test_accuracy"] == metrics["test_accuracy"]


def test_run_writes_metrics_confusion_matrix_plot_and_tensorboard(tmp_path, mnist_root):
    code, out = train(tmp_path, mnist_root, *QUICK, "--epochs", "2", "--tensorboard", str(tmp_path / "tb"))
    assert code == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    for key in (
        "test_accuracy",
        "val_accuracy",
        "epochs",
        "train_seconds",
        "samples_per_second",
        "device",
        "config",
        "history",
        "confusion_matrix",
        "dataset_fingerprint",
    ):
        assert key in m, key
    assert m["epochs"] == 2 and len(m["history"]) == 2 and m["device"] == "cpu"
    cm = torch.tensor(m["confusion_matrix"])
    assert cm.shape == (10, 10) and cm.sum() == 10000
    assert cm.diagonal().sum().item() / 10000 == pytest.approx(m["test_accuracy"], abs=1e-6)
    assert (tmp_path / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb").iterdir())
    top = load_file(str(tmp_path / "top_images.safetensors"))
    assert top["hidden1.indices"].shape == (512, 6) and top["hidden2.indices"].shape == (256, 6)
    assert top["images"].dtype == torch.uint8


@pytest.mark.parametrize(
    "flags",
    [
        *[["--activation", a, "--hidden", "32"] for a in ACTIVATION_NAMES],
        *[["--init", i, "--hidden", "32"] for i in INIT_NAMES],
        ["--hidden", "64,32"],
        ["--hidden", "48,24", "--batch-norm", "--dropout", "0.3"],
        ["--optimizer", "sgd", "--lr", "0.05", "--scheduler", "cosine", "--hidden", "32"],
        ["--optimizer", "adamw", "--scheduler", "none", "--augment", "--hidden", "32"],
    ],
    ids=lambda f: " ".join(f),
)
def test_each_architecture_trains_one_short_epoch(tmp_path, mnist_root, flags):
    code, out = train(tmp_path, mnist_root, *QUICK, *flags)
    assert code == 0
    model, _ = load_weights(out)
    assert json.loads((tmp_path / "metrics.json").read_text())["test_accuracy"] > 0.3  # well above chance (0.1)


def test_same_seed_same_weights(tmp_path, mnist_root):
    _, a = train(tmp_path, mnist_root, *QUICK, "--hidden", "32", "--seed", "3", name="a.safetensors")
    _, b = train(tmp_path, mnist_root, *QUICK, "--hidden", "32", "--seed", "3", name="b.safetensors")
    _, c = train(tmp_path, mnist_root, *QUICK, "--hidden", "32", "--seed", "4", name="c.safetensors")
    ta, tb, tc = tensors(a), tensors(b), tensors(c)
    assert all(torch.equal(ta[k], tb[k]) for k in ta)
    assert not torch.equal(ta["hidden.0.weight"], tc["hidden.0.weight"])


def test_resume_after_interrupt_mid_epoch_ends_with_the_same_weights_and_timeline(tmp_path, mnist_root, monkeypatch):
    flags = [*QUICK, "--epochs", "3", "--hidden", "32", "--dropout", "0.2", "--augment", "affine"]
    _, straight = train(tmp_path, mnist_root, *flags, name="straight/model.safetensors")

    real_train_epoch, calls = trainer.train_epoch, []

    def interrupted(learner, x, y, batches, progress, after_step):
        calls.append(1)
        if len(calls) == 2:  # second epoch: stop after 10 batches, as Ctrl-C would

            def after_step_then_ctrl_c(progress, *args):
                after_step(progress, *args)
                if progress.step == 10:
                    raise KeyboardInterrupt

            return real_train_epoch(learner, x, y, batches, progress, after_step_then_ctrl_c)
        return real_train_epoch(learner, x, y, batches, progress, after_step)

    monkeypatch.setattr(trainer, "train_epoch", interrupted)
    code, resumed = train(tmp_path, mnist_root, *flags, name="resumed/model.safetensors")
    assert code == 130 and not resumed.exists()
    ckpt = resumed.with_suffix(".ckpt")
    monkeypatch.setattr(trainer, "train_epoch", real_train_epoch)
    code, resumed = train(tmp_path, mnist_root, *flags, "--resume", str(ckpt), name="resumed/model.safetensors")
    assert code == 0
    ts, tr = tensors(straight), tensors(resumed)
    assert all(torch.equal(ts[k], tr[k]) for k in ts)
    figures, states = read_history(straight.parent / HISTORY)
    resumed_figures, resumed_states = read_history(resumed.parent / HISTORY)
    assert figures == resumed_figures  # safetensors orders metadata freely, so the bytes may differ
    for k in range(len(states)):
        assert all(torch.equal(t, resumed_states[k][name]) for name, t in states[k].items()), f"snapshot {k}"


def test_interrupt_message_is_one_clear_line(tmp_path, mnist_root, monkeypatch, capsys):
    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "train_epoch", stop)
    code, out = train(tmp_path, mnist_root, *QUICK)
    assert code == 130
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("digits-train: interrupted. Checkpoint saved to") and "--resume" in err


class Terminal(io.StringIO):
    """stderr as a terminal would be."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stderr", [io.StringIO, Terminal], ids=["log", "terminal"])
def test_a_log_gets_one_line_per_epoch_and_a_terminal_gets_progress_bars(tmp_path, mnist_root, monkeypatch, stderr):
    monkeypatch.setattr(sys, "stderr", stderr())
    code, _ = train(tmp_path, mnist_root, *[f for f in QUICK if f != "--no-progress"], "--epochs", "2")
    log = sys.stderr.getvalue()
    assert code == 0
    if stderr is Terminal:
        assert log.count("\r") > 2 and "batch/s" in log  # tqdm redraws its bar in place
    else:
        assert "\r" not in log and "batch/s" not in log
        assert [line.split("train loss")[0].strip() for line in log.splitlines() if line.startswith("epoch")] == [
            "epoch   1/2",
            "epoch   2/2",
        ]


def test_dry_run_saves_nothing(tmp_path, mnist_root):
    code, out = train(tmp_path, mnist_root, *QUICK, "--dry-run")
    assert code == 0 and not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "flags,needle",
    [
        (["--activation", "swish"], "invalid choice: 'swish'"),
        (["--hidden", "0"], "at least 1 neuron"),
        (["--hidden", "abc"], "expected sizes like 800"),
        (["--device", "cuda"], "no CUDA GPU"),
        (["--data-dir", "/definitely/not/here"], "not a readable folder"),
        (["--epochs", "0"], "--epochs 0"),
        (["--dropout", "1.5"], "dropout must be in [0, 1)"),
        (["--resume", "/no/such.ckpt"], "no such checkpoint"),
        (["--snapshots", "1"], "--snapshots 1: out of range"),
    ],
)
def test_bad_flags_end_with_one_line_and_exit_2(flags, needle, tmp_path):
    if flags[0] == "--device" and torch.cuda.is_available():
        pytest.skip("a GPU is present, so --device cuda is valid")  # only on GPU machines; CI has none
    proc = subprocess.run(
        [sys.executable, "-m", "training", *flags, "--out", str(tmp_path / "m.safetensors")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_unreadable_checkpoint_is_a_clear_error(tmp_path, mnist_root, capsys):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    code, _ = train(tmp_path, mnist_root, *QUICK, "--resume", str(bad))
    assert code == 2 and "not a readable checkpoint" in capsys.readouterr().err


def test_recipe_sets_defaults_that_flags_override():
    assert parse_settings(["--recipe", "best"]).augment != "none"
    assert parse_settings(["--recipe", "best", "--augment", "none"]).augment == "none"
    assert parse_settings([]).model.hidden == (512, 256)


@pytest.mark.parametrize(
    "flags, name, value",
    [
        (["--augment"], "augment", "elastic"),  # bare
        (["--amp"], "amp", "on"),  # bare
        (["--no-progress"], "progress", False),
        (["--dry-run"], "dry_run", True),
        (["--download"], "download", True),
        (["--batch-norm"], "model.batch_norm", True),
        (["--hidden", "512,256"], "model.hidden", (512, 256)),
        (["--data-dir", "/x"], "data_dir", Path("/x")),
        (["--subset", "7000", "--threads", "3"], "subset", 7000),
        (["--snapshots", "0"], "snapshots", 0),
        (["--recipe", "best"], "model.hidden", (1024,)),
        (["--recipe", "best", "--hidden", "64"], "model.hidden", (64,)),
    ],
)
def test_flags_set_the_fields_they_are_derived_from(flags, name, value):
    settings = parse_settings(flags)
    assert attrgetter(name)(settings) == value


def test_every_field_is_a_flag_with_its_default_and_help():
    assert parse_settings([]) == TrainSettings()  # the defaults are the dataclasses' own
    parser = build_parser()
    flags = {option for action in parser._actions for option in action.option_strings}
    for cls in (MLPConfig, TrainSettings):
        for f in fields(cls):
            if f.init and f.name != "model":
                assert f"--{f.name.replace('_', '-')}" in flags, f.name
    shown = [a for a in parser._actions if a.dest != "help"]
    assert all(a.help for a in shown)
    assert " ".join(parser.format_help().split()).count("(default: ") == len(shown)


def test_resume_with_other_schedule_settings_is_refused(tmp_path, mnist_root, capsys):
    code, out = train(tmp_path, mnist_root, *QUICK, "--hidden", "16")
    assert code == 0
    code, _ = train(
        tmp_path,
        mnist_root,
        *QUICK,
        "--hidden",
        "16",
        "--batch-size",
        "32",
        "--resume",
        str(out.with_suffix(".ckpt")),
        name="other.safetensors",
    )
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and "--batch-size 64 (now 32)" in err
