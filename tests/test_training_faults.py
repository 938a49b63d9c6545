"""Training under faults: SIGKILL at random moments (one mid checkpoint write), Ctrl-C, a read-only folder, a full disk,
and weights files that lie about themselves. Each time the previous state must survive and a resume must finish."""

from __future__ import annotations

import contextlib
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from safetensors.torch import save as st_save

from model import MLP, MLPConfig, WeightsError, load_weights, save_weights
from model.weights import FORMAT, _checksum
from training.checkpoint import load_checkpoint
from training.interrupts import StepBoundaryInterrupt

REPO = Path(__file__).resolve().parent.parent
EPOCHS = 6
SMALL_RUN = [
    "--hidden",
    "64",
    "--epochs",
    str(EPOCHS),
    "--subset",
    "6000",
    "--val-size",
    "1000",
    "--batch-size",
    "32",
    "--threads",
    "1",
    "--no-progress",
]
RUN_TIMEOUT = 180
EPOCH_LINE = re.compile(r"epoch +\d+/\d+ .*? ([\d.]+)s +[\d,]+ samples/s")

pytestmark = pytest.mark.slow

# The trainer as `python -m training`, except that every fsync first waits 0.3 s: the checkpoint temp file then
# lives long enough for a poll-and-kill to land before os.replace, on any disk. The write path itself is unchanged.
SLOW_FSYNC = """
import os, sys, time
real_fsync = os.fsync
def fsync(fd):
    time.sleep(0.3)
    real_fsync(fd)
os.fsync = fsync
from training.cli import main
sys.exit(main(sys.argv[1:]))
"""


class Trainer:
    """One `python -m training` child process, its stderr captured in a file we can watch while it runs."""

    def __init__(self, out: Path, data_root: Path, *extra: str, preexec_fn=None, slow_fsync: bool = False) -> None:
        logs = out.parent.with_name(out.parent.name + "-logs")  # beside, not inside: the folder may be read-only
        logs.mkdir(exist_ok=True)
        self.out, self.log = out, logs / f"stderr-{time.monotonic_ns()}.txt"
        entry = ["-c", SLOW_FSYNC] if slow_fsync else ["-m", "training"]
        cmd = [sys.executable, *entry, *SMALL_RUN, "--data-dir", str(data_root), "--out", str(out), *extra]
        with self.log.open("wb") as err:
            self.proc = subprocess.Popen(
                cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=with_default_sigint(preexec_fn)
            )

    @property
    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = RUN_TIMEOUT) -> bool:
        """Wait until stderr contains text; False if the process ended first."""
        deadline = time.monotonic() + timeout
        while text not in self.stderr:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                return text in self.stderr
            time.sleep(0.01)
        return True

    def finish(self) -> int:
        return self.proc.wait(timeout=RUN_TIMEOUT)

    def kill(self, sig: int = signal.SIGKILL) -> int:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=RUN_TIMEOUT)


def with_default_sigint(preexec_fn=None):
    """The child starts with SIGINT's default action even when this suite runs with it ignored (`trap "" INT`, a
    background job): an ignored SIGINT is inherited, and a trainer started that way rightly stays deaf to Ctrl-C."""

    def preexec() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if preexec_fn is not None:
            preexec_fn()

    return preexec


def temp_files(folder: Path, name: str) -> list[Path]:
    """atomic_write_bytes's in-progress files for `name`: .NAME.*.tmp"""
    return [folder / e.name for e in os.scandir(folder) if e.name.startswith(f".{name}.") and e.name.endswith(".tmp")]


def kill_during_checkpoint_write(t: Trainer) -> bool:
    """SIGKILL the moment a checkpoint temp file appears; True if it was still there (so the kill hit mid-write)."""
    ckpt = t.out.with_suffix(".ckpt")
    before = set(temp_files(ckpt.parent, ckpt.name))
    while t.proc.poll() is None:
        if set(temp_files(ckpt.parent, ckpt.name)) - before:
            t.kill()
            return bool(set(temp_files(ckpt.parent, ckpt.name)) - before)
    return False


def kill_during_some_checkpoint_write(t: Trainer, out: Path, data_root: Path, extra: list[str]) -> tuple[bool, int]:
    """Try up to three runs until a kill lands mid-write (with the slowed fsync the first one normally does)."""
    for _ in range(3):
        hit = kill_during_checkpoint_write(t)
        code = t.proc.wait(timeout=RUN_TIMEOUT)
        if hit:
            return True, code
        extra = resume_args(out.with_suffix(".ckpt"))
        t = Trainer(out, data_root, *extra, slow_fsync=True)
    return False, t.kill()


def tensors(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def assert_same_weights(a: Path, b: Path) -> None:
    ta, tb = tensors(a), tensors(b)
    assert ta.keys() == tb.keys()
    for name in ta:
        assert torch.equal(ta[name], tb[name]), f"{name} differs between {a.name} and {b.name}"


def assert_one_line_error(stderr: str, *needles: str) -> None:
    assert "Traceback" not in stderr, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("digits-train: error: "), stderr
    for needle in needles:
        assert needle in last, last


@pytest.fixture(scope="module")
def data_root(mnist_root) -> Path:
    return mnist_root


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data_root) -> Path:
    """The same small run, never interrupted: what every interrupted-and-resumed run must reproduce bit for bit."""
    out = tmp_path_factory.mktemp("reference") / "m.safetensors"
    t = Trainer(out, data_root)
    assert t.finish() == 0, t.stderr
    return out


# --- SIGKILL ---------------------------------------------------------------------------------------------------


def resume_args(ckpt: Path) -> list[str]:
    """--resume if a checkpoint survived the kill (it must load), else start over."""
    if not ckpt.exists():
        return []
    state = load_checkpoint(ckpt)
    assert 0 < state["epoch"] <= EPOCHS and state["step"] == 0  # epoch-end checkpoints only; SIGKILL cannot save
    return ["--resume", str(ckpt)]


def epochs_done(ckpt: Path) -> int:
    return load_checkpoint(ckpt)["epoch"] if ckpt.exists() else 0


def kill_at_a_random_moment(t: Trainer, rng: random.Random, remaining: int) -> int:
    """SIGKILL somewhere in a random one of the epochs this run has left: training, evaluation or a checkpoint write.
    Timed from the run's own epoch lines, so it lands mid-run on a fast machine and on a loaded one."""
    n = rng.randrange(min(remaining, 2))  # epochs this run may finish before the kill: 0 or 1
    if n == 0:
        t.wait_for("data:")
        time.sleep(rng.uniform(0.0, 1.0))
    else:
        deadline = time.monotonic() + RUN_TIMEOUT
        while len(EPOCH_LINE.findall(t.stderr)) < n and t.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        lines = EPOCH_LINE.findall(t.stderr)
        time.sleep(rng.uniform(0.0, 1.5 * float(lines[-1]) if lines else 0.5))
    return t.kill()


def test_sigkill_at_random_moments_then_resume_matches_uninterrupted_run(tmp_path, data_root, reference):
    rng = random.Random(20240605)
    out, ckpt = tmp_path / "m.safetensors", tmp_path / "m.ckpt"
    kills, hit_mid_write, extra = 0, False, []
    for plan in ("random", "random", "checkpoint-write", "random"):
        remaining = EPOCHS - epochs_done(ckpt)
        if remaining < 1:
            break
        t = Trainer(out, data_root, *extra, slow_fsync=plan == "checkpoint-write")
        if plan == "random":
            code = kill_at_a_random_moment(t, rng, remaining)
        else:
            hit_mid_write, code = kill_during_some_checkpoint_write(t, out, data_root, extra)
        kills += code == -signal.SIGKILL
        extra = resume_args(ckpt)
    t = Trainer(out, data_root, *extra)
    assert t.finish() == 0, t.stderr
    load_weights(out)
    assert kills >= 3, "the runs finished before they could be killed"
    assert hit_mid_write, "never caught a checkpoint temp file before os.replace"
    assert_same_weights(out, reference)


# --- Ctrl-C ----------------------------------------------------------------------------------------------------


def test_ctrl_c_mid_epoch_saves_a_checkpoint_and_resume_matches(tmp_path, data_root, reference):
    out, ckpt = tmp_path / "m.safetensors", tmp_path / "m.ckpt"
    t = Trainer(out, data_root)
    assert t.wait_for("epoch   2/"), t.stderr
    time.sleep(0.15)  # an epoch takes ~0.5-2 s here: land inside epoch 3
    assert t.kill(signal.SIGINT) == 130, t.stderr
    assert "Traceback" not in t.stderr, t.stderr
    last = t.stderr.strip().splitlines()[-1]
    assert last.startswith("digits-train: interrupted.") and f"--resume {ckpt}" in last, last
    state = load_checkpoint(ckpt)
    assert state["epoch"] >= 2 and state["step"] > 0, "the interrupt should have landed mid-epoch"
    t = Trainer(out, data_root, "--resume", str(ckpt))
    assert t.finish() == 0, t.stderr
    assert "resumed from" in t.stderr
    assert_same_weights(out, reference)


@contextlib.contextmanager
def sigint_handler(handler):
    """Run the block with this SIGINT handler, whatever the suite was started with; put the old one back after."""
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def custom_handler(signum, frame) -> None:
    raise AssertionError("the interrupt's own handler should have been the one called")


@pytest.mark.parametrize("before", [signal.default_int_handler, custom_handler], ids=["python's", "custom"])
def test_ctrl_c_waits_for_the_step_to_finish_and_a_second_one_does_not(before):
    with sigint_handler(before):
        with StepBoundaryInterrupt() as interrupt:
            os.kill(os.getpid(), signal.SIGINT)
            assert interrupt.requested  # the first one only asks: the step boundary acts on it
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) is before  # restored to whatever it was


def test_a_run_started_with_sigint_ignored_stays_uninterruptible():
    with sigint_handler(signal.SIG_IGN):
        with StepBoundaryInterrupt() as interrupt:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            assert not interrupt.requested
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


# --- read-only folder, full disk -------------------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs(folder: Path, size: str):
    """Mount a tiny tmpfs on folder (needs root); skip the test where mounting is not allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError):
        yield False
        return
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def seed_previous(folder: Path, reference: Path) -> bytes:
    """Put a previous run's weights where the new run will write; return its bytes."""
    shutil.copyfile(reference, folder / "m.safetensors")
    return (folder / "m.safetensors").read_bytes()


def test_read_only_output_folder_fails_with_one_line_and_keeps_previous_weights(tmp_path, data_root, reference):
    folder = tmp_path / "ro"
    with tmpfs(folder, "4m") as mounted:
        previous = seed_previous(folder, reference)
        if mounted:  # root ignores file modes, so make the file system itself read-only
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        elif os.geteuid() != 0:
            folder.chmod(0o555)
        else:
            pytest.skip("root without mount rights: cannot make a read-only folder")
        try:
            t = Trainer(folder / "m.safetensors", data_root)
            code = t.finish()
        finally:
            folder.chmod(0o755) if not mounted else None
        assert code == 2, t.stderr
        assert_one_line_error(t.stderr, "cannot write checkpoint", str(folder / "m.ckpt"))
        assert (folder / "m.safetensors").read_bytes() == previous
        assert sorted(p.name for p in folder.iterdir()) == ["m.safetensors"]


def ignore_sigxfsz_and_cap_file_size(limit: int):
    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit then fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def test_full_disk_on_checkpoint_fails_with_one_line_and_keeps_previous_weights(tmp_path, data_root, reference):
    """A 512 KiB tmpfs (the checkpoint needs ~800 KiB); without mount rights, RLIMIT_FSIZE stands in for a full disk."""
    folder = tmp_path / "full"
    with tmpfs(folder, "512k") as mounted:
        previous = seed_previous(folder, reference)
        preexec = None if mounted else ignore_sigxfsz_and_cap_file_size(300_000)
        t = Trainer(folder / "m.safetensors", data_root, preexec_fn=preexec)
        assert t.finish() == 2, t.stderr
        reason = "No space left on device" if mounted else "File too large"
        assert_one_line_error(t.stderr, "cannot write checkpoint", reason)
        assert (folder / "m.safetensors").read_bytes() == previous
        assert not temp_files(folder, "m.ckpt") and not (folder / "m.ckpt").exists()


def test_full_disk_on_final_weights_fails_with_one_line_and_keeps_previous_weights(tmp_path, data_root, reference):
    """Checkpoints go elsewhere; the weights' own folder has room for the old file but not a second copy."""
    folder = tmp_path / "full"
    with tmpfs(folder, "320k") as mounted:
        if not mounted:
            pytest.skip("needs a tmpfs mount (RLIMIT_FSIZE would stop the larger checkpoint first)")
        previous = seed_previous(folder, reference)
        t = Trainer(folder / "m.safetensors", data_root, "--checkpoint", str(tmp_path / "m.ckpt"))
        assert t.finish() == 2, t.stderr
        assert_one_line_error(t.stderr, "No space left on device", "previous files were left as they were")
        assert (folder / "m.safetensors").read_bytes() == previous
        assert not temp_files(folder, "m.safetensors")


# --- weights that lie about themselves ----------------------------------------------------------------------------


@pytest.fixture
def weights_file(tmp_path) -> Path:
    torch.manual_seed(0)
    return save_weights(tmp_path / "w.safetensors", MLP(MLPConfig(hidden=(16,))), {"test_accuracy": 0.125})


def header_end(data: bytes) -> int:
    return 8 + int.from_bytes(data[:8], "little")


def edit_header(path: Path, old: bytes, new: bytes) -> None:
    """Replace bytes inside the JSON header, same length, so the file stays well-formed safetensors."""
    data = path.read_bytes()
    end = header_end(data)
    assert len(old) == len(new) and data[:end].count(old) == 1, data[:end]
    path.write_bytes(data[:end].replace(old, new) + data[end:])


def consistent_file_with_wrong_shapes(path: Path) -> Path:
    """Tensors from a 784→32→10 network under a config that says 784→16→10, checksum recomputed to match."""
    state = {k: v.contiguous() for k, v in MLP(MLPConfig(hidden=(32,))).state_dict().items()}
    config, prov = MLPConfig(hidden=(16,)).to_json(), "{}"
    meta = {"format": FORMAT, "config": config, "provenance": prov, "checksum": _checksum(state, config, prov)}
    path.write_bytes(st_save(state, metadata=meta))
    return path


def test_weights_whose_shapes_do_not_match_their_config_are_refused(tmp_path):
    path = consistent_file_with_wrong_shapes(tmp_path / "shapes.safetensors")
    with pytest.raises(WeightsError, match=r"tensor hidden\.0\.\w+ has shape \[32.*config needs \[16") as err:
        load_weights(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "old, new",
    [
        (b'\\"hidden\\": [16]', b'\\"hidden\\": [17]'),
        (b'\\"test_accuracy\\": 0.125', b'\\"test_accuracy\\": 0.925'),
        (b'\\"activation\\": \\"relu\\"', b'\\"activation\\": \\"gelu\\"'),
    ],
    ids=["config-hidden", "provenance-accuracy", "config-activation"],
)
def test_tampered_metadata_is_refused(weights_file, old, new):
    edit_header(weights_file, old, new)
    with pytest.raises(WeightsError, match="checksum mismatch") as err:
        load_weights(weights_file)
    assert str(weights_file) in str(err.value)


@pytest.mark.parametrize("where", [0, 1000, -1])
def test_a_flipped_tensor_byte_is_refused(weights_file, where):
    data = bytearray(weights_file.read_bytes())
    i = header_end(data) + where if where >= 0 else len(data) + where
    data[i] ^= 0x01
    weights_file.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="checksum mismatch"):
        load_weights(weights_file)


@pytest.mark.parametrize("cut", [4, 100, -1, -4000])
def test_a_truncated_file_is_refused(weights_file, cut):
    data = weights_file.read_bytes()
    weights_file.write_bytes(data[:cut])
    with pytest.raises(WeightsError) as err:
        load_weights(weights_file)
    assert str(weights_file) in str(err.value)


def test_a_missing_file_is_refused_by_name(tmp_path):
    with pytest.raises(WeightsError, match="no such weights file") as err:
        load_weights(tmp_path / "nope.safetensors")
    assert "nope.safetensors" in str(err.value)


def test_the_service_refuses_bad_weights_at_start(tmp_path):
    """create_app must not come up on weights that fail these checks; it says which file and why."""
    from service.app import create_app
    from service.errors import StartupError

    tampered = save_weights(tmp_path / "tampered.safetensors", MLP(MLPConfig(hidden=(16,))), {"test_accuracy": 0.125})
    edit_header(tampered, b'\\"test_accuracy\\": 0.125', b'\\"test_accuracy\\": 0.925')
    for path, why in (
        (consistent_file_with_wrong_shapes(tmp_path / "shapes.safetensors"), "has shape"),
        (tampered, "checksum mismatch"),
        (tmp_path / "missing.safetensors", "no such weights file"),
    ):
        with pytest.raises(StartupError, match=why) as err:
            create_app(service_config(path))
        assert str(path) in str(err.value)


def service_config(weights: Path) -> dict:
    """The app config that points the service at a weights file (service/settings.py: WEIGHTS_PATH)."""
    return {"WEIGHTS_PATH": str(weights), "TESTING": True}
