"""Weights files: safetensors with config and provenance, atomic, and loud about anything wrong."""

import json
import struct

import pytest
import torch
from safetensors.torch import save as st_save

from model import MLP, MLPConfig, WeightsError, load_weights, save_weights
from model.files import file_sha256
from model.weights import _checksum


def test_round_trip_rebuilds_the_model_from_the_file_alone(tmp_path):
    torch.manual_seed(0)
    model = MLP(MLPConfig(hidden=(32, 16), activation="leaky_relu", leaky_alpha=0.05, batch_norm=True)).eval()
    path = save_weights(tmp_path / "m.safetensors", model, {"test_accuracy": 0.97, "epochs": 3, "seed": 7})
    loaded, info = load_weights(path)
    x = torch.rand(5, 784)
    assert torch.equal(loaded(x), model(x))
    assert loaded.config == model.config
    prov = info["provenance"]
    assert prov["test_accuracy"] == 0.97 and prov["seed"] == 7
    assert {"created_at", "libraries"} <= set(prov) and prov["libraries"]["torch"] == torch.__version__
    assert not loaded.training
    assert info["sha256"] == file_sha256(path)  # the digest of the very bytes that were loaded


def test_file_is_plain_safetensors_with_metadata(tmp_path):
    path = save_weights(tmp_path / "m.safetensors", MLP(MLPConfig(hidden=(8,))))
    data = path.read_bytes()
    header = json.loads(data[8 : 8 + struct.unpack("<Q", data[:8])[0]])
    assert json.loads(header["__metadata__"]["config"])["hidden"] == [8]
    assert header["hidden.0.weight"]["shape"] == [8, 784]


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path, monkeypatch):
    model = MLP(MLPConfig(hidden=(8,)))
    path = save_weights(tmp_path / "m.safetensors", model)
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", broken_replace)
    with pytest.raises(OSError):
        save_weights(path, MLP(MLPConfig(hidden=(9,))))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def test_missing_file_is_named(tmp_path):
    with pytest.raises(WeightsError, match=r"nope\.safetensors: no such weights file"):
        load_weights(tmp_path / "nope.safetensors")


@pytest.mark.parametrize("keep", [0, 7, 100, 2000, -100])
def test_truncated_file_is_refused_with_its_name(tmp_path, keep):
    path = save_weights(tmp_path / "m.safetensors", MLP(MLPConfig(hidden=(8,))))
    data = path.read_bytes()
    path.write_bytes(data[:keep] if keep >= 0 else data[:keep])
    with pytest.raises(WeightsError, match=r"m\.safetensors: "):
        load_weights(path)


def test_tampered_metadata_is_refused(tmp_path):
    path = save_weights(tmp_path / "m.safetensors", MLP(MLPConfig(hidden=(8,))), {"test_accuracy": 0.5})
    data = path.read_bytes()
    tampered = data.replace(b'\\"test_accuracy\\": 0.5', b'\\"test_accuracy\\": 0.9')
    assert tampered != data
    path.write_bytes(tampered)
    with pytest.raises(WeightsError, match="checksum mismatch"):
        load_weights(path)


def test_tampered_tensor_is_refused(tmp_path):
    path = save_weights(tmp_path / "m.safetensors", MLP(MLPConfig(hidden=(8,))))
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="checksum mismatch"):
        load_weights(path)


def test_tensors_that_do_not_match_the_config_are_refused(tmp_path):
    tensors = {k: v.contiguous() for k, v in MLP(MLPConfig(hidden=(8,))).state_dict().items()}
    config = MLPConfig(hidden=(9,)).to_json()
    meta = {
        "format": "digits-mlp/1",
        "config": config,
        "provenance": "{}",
        "checksum": _checksum(tensors, config, "{}"),
    }
    path = tmp_path / "m.safetensors"
    path.write_bytes(st_save(tensors, metadata=meta))
    with pytest.raises(WeightsError, match=r"tensor hidden\.0\.bias has shape \[8\], the config needs \[9\]"):
        load_weights(path)


def test_other_safetensors_files_are_refused(tmp_path):
    path = tmp_path / "other.safetensors"
    path.write_bytes(st_save({"w": torch.zeros(2)}))
    with pytest.raises(WeightsError, match="not a digits MLP weights file"):
        load_weights(path)
