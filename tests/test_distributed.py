"""DDP on the CPU: two gloo processes under torchrun train, agree on every weight, and resume exactly."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from model import load_weights
from model.files import HISTORY
from model.history import read_history
from training.checkpoint import load_checkpoint
from training.data import to_inputs
from training.distributed import AGREE_EVERY

REPO = Path(__file__).resolve().parent.parent
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
TIMEOUT_S = 300  # two processes on a small subset take ~10 s; a hung rendezvous must not hang the suite

# Runs the real CLI in each rank and records a sha256 of that rank's weights, so the test can compare ranks.
# With STOP_AFTER > 0 it raises KeyboardInterrupt after that epoch in every rank: what Ctrl-C does mid-run.
# With CTRL_C_STEP > 0, Ctrl-C reaches rank 1 alone, after that step of the first epoch: the ranks must agree to stop.
RANK_SCRIPT = """
import hashlib, json, os, sys
from training import trainer
from training.cli import main

hash_dir, stop_after, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
ctrl_c_step = int(os.environ.get("CTRL_C_STEP", "0"))
end_epoch, finish, stop_point = trainer.Run.end_epoch, trainer.Run.finish, trainer.Run.stop_point


def ctrl_c_on_rank1(self, progress, at_epoch_end=False):
    if self.job.rank == 1 and self.state.epoch == 0 and progress.step == ctrl_c_step:
        self.interrupt.requested = True  # what the SIGINT handler does
    stop_point(self, progress, at_epoch_end)


def weights_sha256(model):
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def end_epoch_then_stop(self, epoch, *args):
    row = end_epoch(self, epoch, *args)
    if epoch + 1 == stop_after:
        raise KeyboardInterrupt
    return row


def finish_and_record(self, seconds):
    trained = weights_sha256(self.learner.model)
    metrics = finish(self, seconds)
    record = {"trained": trained, "final": weights_sha256(self.learner.model), "world_size": self.job.world_size}
    with open(os.path.join(hash_dir, f"rank{self.job.rank}.json"), "w") as fh:
        json.dump(record, fh)
    return metrics


trainer.Run.end_epoch, trainer.Run.finish = end_epoch_then_stop, finish_and_record
trainer.Run.stop_point = ctrl_c_on_rank1
code = main(argv)
sys.exit(0 if code == 130 and (stop_after or ctrl_c_step) else code)
"""

pytestmark = pytest.mark.slow


def train_args(mnist_root: Path, out: Path) -> list[str]:
    return [
        "--subset",
        "6000",
        "--val-size",
        "1000",
        "--epochs",
        "2",
        "--hidden",
        "128",
        "--seed",
        "3",
        "--augment",
        "none",
        "--batch-size",
        "64",
        "--no-progress",
        "--data-dir",
        str(mnist_root),
        "--out",
        str(out),
    ]


def torchrun(args: list[str], **env_extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **env_extra}
    result = subprocess.run([*TORCHRUN, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert result.returncode == 0, f"torchrun exited {result.returncode}:\n{result.stderr[-4000:]}"
    return result


def run_ranks(tmp: Path, name: str, trainer_args: list[str], stop_after: int = 0, ctrl_c_step: int = 0) -> list[dict]:
    """torchrun the rank script; return each rank's record (none when stopped early)."""
    script, hashes = tmp / "rank_script.py", tmp / f"{name}-hashes"
    script.write_text(RANK_SCRIPT)
    hashes.mkdir()
    torchrun([str(script), str(hashes), str(stop_after), *trainer_args], CTRL_C_STEP=str(ctrl_c_step))
    return [json.loads((hashes / f"rank{r}.json").read_text()) for r in range(2) if (hashes / f"rank{r}.json").exists()]


def state_sha256(state: dict[str, torch.Tensor]) -> str:
    """The rank script's hash, recomputed here from a weights file."""
    h = hashlib.sha256()
    for name, tensor in sorted(state.items()):
        h.update(name.encode() + tensor.contiguous().numpy().tobytes())
    return h.hexdigest()


def assert_resume_gives(full_out: Path, out: Path, mnist_root: Path) -> None:
    """Resume out's checkpoint under torchrun and check it ends with the uninterrupted run's weights, bit for bit,
    and the same timeline."""
    torchrun(["-m", "training", *train_args(mnist_root, out), "--resume", str(out.with_suffix(".ckpt"))])
    resumed, _ = load_weights(out)
    full, _ = load_weights(full_out)
    for name, tensor in full.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], tensor), name
    assert_same_history(out.parent / HISTORY, full_out.parent / HISTORY)


def assert_same_history(a: Path, b: Path) -> None:
    """The same snapshots (figures and weights); the bytes may differ, as safetensors orders its metadata freely."""
    (figures_a, states_a), (figures_b, states_b) = read_history(a), read_history(b)
    assert figures_a == figures_b
    for k in range(len(states_a)):
        assert all(torch.equal(t, states_b[k][name]) for name, t in states_a[k].items()), f"snapshot {k}"


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, mnist_root):
    """One uninterrupted 2-process run: (weights path, per-rank records)."""
    tmp = tmp_path_factory.mktemp("ddp-full")
    out = tmp / "out" / "model.safetensors"
    return out, run_ranks(tmp, "full", train_args(mnist_root, out))


def test_two_ranks_train_a_working_model(full_run, mnist):
    out, _ = full_run
    model, info = load_weights(out)
    with torch.inference_mode():
        pred = model(to_inputs(mnist.test_x)).argmax(1)
    accuracy = (pred == mnist.test_y).float().mean().item()  # our own count, not the trainer's
    metrics = json.loads((out.parent / "metrics.json").read_text())
    assert accuracy >= 0.85
    assert metrics["world_size"] == 2
    assert metrics["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert info["provenance"]["epochs"] == 2
    snapshots, _ = read_history(out.parent / HISTORY)  # rank 0's, counting both ranks' images
    # 5,000 MNIST images and one copy of the 516 typeset digits: 2,758 a rank, 44 batches of 64 (the last of 6)
    assert (snapshots[-1]["step"], snapshots[-1]["seen_images"]) == (2 * 44, 2 * 5516)


def test_both_ranks_end_with_identical_weights(full_run):
    out, records = full_run
    assert len(records) == 2 and all(r["world_size"] == 2 for r in records)
    assert records[0]["trained"] == records[1]["trained"]
    assert records[0]["final"] == records[1]["final"]
    model, _ = load_weights(out)
    assert state_sha256(model.state_dict()) == records[1]["final"]  # rank 0 wrote what rank 1 holds too


def test_resume_under_torchrun_matches_the_uninterrupted_run(full_run, tmp_path, mnist_root):
    full_out, _ = full_run
    out = tmp_path / "out" / "model.safetensors"
    assert run_ranks(tmp_path, "stopped", train_args(mnist_root, out), stop_after=1) == []
    ckpt = out.with_suffix(".ckpt")
    assert ckpt.is_file() and not out.exists()
    assert_resume_gives(full_out, out, mnist_root)
    assert json.loads((out.parent / "metrics.json").read_text())["epochs"] == 2


def test_ctrl_c_on_one_rank_stops_both_at_the_same_step_and_resumes_exactly(full_run, tmp_path, mnist_root):
    full_out, _ = full_run
    out = tmp_path / "out" / "model.safetensors"
    assert run_ranks(tmp_path, "ctrl-c", train_args(mnist_root, out), ctrl_c_step=5) == []  # both exit 130, no hang
    ckpt = load_checkpoint(out.with_suffix(".ckpt"))
    assert (ckpt["epoch"], ckpt["step"]) == (0, AGREE_EVERY)  # mid-epoch, at the first agreement after step 5
    assert_resume_gives(full_out, out, mnist_root)
