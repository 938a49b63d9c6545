"""Device choice without a GPU: what auto picks, the clear error for a missing GPU, data following the device, and
when training uses bf16 mixed precision."""

from __future__ import annotations

import pytest
import torch

from training import trainer
from training.cli import main, parse_settings
from training.data import load_splits
from training.device import native_bf16, pick_device, use_amp
from training.errors import UsageError
from training.settings import TrainSettings


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def fake_gpu(monkeypatch):
    """Pretend CUDA is present: enough for device choice, which must not touch the GPU itself."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "set_device", lambda device: None)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)


def test_auto_is_cpu_without_a_gpu(no_gpu):
    assert pick_device("auto") == torch.device("cpu")


def test_auto_is_cuda_with_a_gpu(fake_gpu):
    assert pick_device("auto") == torch.device("cuda")


@pytest.mark.parametrize("name", ["cpu", "auto"])
def test_cpu_is_always_possible(no_gpu, name):
    assert pick_device(name).type == "cpu"


def test_explicit_cpu_wins_over_a_gpu(fake_gpu):
    assert pick_device("cpu") == torch.device("cpu")


def test_cuda_without_a_gpu_is_a_usage_error(no_gpu):
    with pytest.raises(UsageError, match="no CUDA GPU"):
        pick_device("cuda")


def test_unknown_device_names_the_choices():
    with pytest.raises(UsageError, match="auto, cpu, cuda"):
        pick_device("tpu")


def test_cli_cuda_without_a_gpu_prints_one_line_and_exits_2(no_gpu, capsys, tmp_path):
    code = main(["--device", "cuda", "--no-progress", "--out", str(tmp_path / "m.safetensors")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("digits-train: error: --device cuda:")
    assert not (tmp_path / "m.safetensors").exists()


def test_run_picks_cuda_under_auto_when_present(fake_gpu, monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    run = trainer.Run(TrainSettings(device="auto"))
    assert run.device == torch.device("cuda") and run.amp  # a bf16 GPU trains in mixed precision by default


def test_each_torchrun_rank_gets_its_own_gpu(fake_gpu, monkeypatch):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(trainer.dist, "init", lambda d, device: None)  # no process group in a unit test
    assert trainer.Run(TrainSettings(device="auto")).device == torch.device("cuda", 1)


def test_every_data_tensor_lands_on_the_chosen_device(mnist_root):
    """The meta device stands in for a GPU: any tensor left on the CPU would show up here."""
    data = load_splits(mnist_root, False, subset=2000, val_size=500, device=torch.device("meta"))
    tensors = {
        "train_x": data.train_x,
        "train_y": data.train_y,
        "val_x": data.val_x,
        "val_y": data.val_y,
        "test_x": data.test_x,
        "test_y": data.test_y,
    }
    assert {name: t.device.type for name, t in tensors.items()} == dict.fromkeys(tensors, "meta")
    assert data.train_x.shape == (1500, 784) and data.train_x.dtype == torch.float32


# --- precision: --amp auto/on/off -----------------------------------------------------------------------------------
@pytest.fixture
def cpu_bf16(monkeypatch):
    """Set what the CPU probes say about native bf16."""

    def set_native(avx512_bf16: bool, amx: bool = False) -> None:
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)

    return set_native


@pytest.mark.parametrize(
    "avx512_bf16, amx, expected", [(True, False, True), (False, True, True), (False, False, False)]
)
def test_auto_amp_follows_the_cpus_native_bf16(cpu_bf16, avx512_bf16, amx, expected):
    cpu_bf16(avx512_bf16, amx)
    assert use_amp("auto", torch.device("cpu")) is expected


def test_amp_on_and_off_override_the_hardware(cpu_bf16):
    cpu_bf16(False)
    assert use_amp("on", torch.device("cpu")) is True
    cpu_bf16(True)
    assert use_amp("off", torch.device("cpu")) is False


def test_auto_amp_on_cuda_asks_the_gpu(monkeypatch):
    for supported in (True, False):
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda supported=supported: supported)
        assert native_bf16(torch.device("cuda")) is supported


def test_unknown_amp_choice_names_the_choices():
    with pytest.raises(UsageError, match="auto, on, off"):
        use_amp("fp8", torch.device("cpu"))


@pytest.mark.parametrize("flags, expected", [([], "auto"), (["--amp"], "on"), (["--amp", "off"], "off")])
def test_cli_amp_flag(flags, expected):
    assert parse_settings(flags).amp == expected
