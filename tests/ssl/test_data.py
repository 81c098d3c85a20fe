"""Local data readers of the SSL path: STL10 binary layout, Fashion-MNIST IDX, digits, synthetic.

Truth: tiny files written here in the documented on-disk layouts from known arrays.
"""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from sigref_torch.ssl import data as sdata


def _write_stl10(directory, part, images, labels=None):
    """STL10 stores each 3x96x96 image column-major: bytes of the (C, W, H) array in C order."""
    (directory / f"{part}_X.bin").write_bytes(np.ascontiguousarray(images.transpose(0, 1, 3, 2)).tobytes())
    if labels is not None:
        (directory / f"{part}_y.bin").write_bytes((labels + 1).astype(np.uint8).tobytes())


@pytest.fixture
def stl10_root(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    directory = root / "stl10_binary"
    directory.mkdir(parents=True)
    arrays = {
        "train": (rng.integers(0, 256, (4, 3, 96, 96), dtype=np.uint8), np.array([0, 9, 3, 3])),
        "test": (rng.integers(0, 256, (2, 3, 96, 96), dtype=np.uint8), np.array([5, 1])),
        "unlabeled": (rng.integers(0, 256, (3, 3, 96, 96), dtype=np.uint8), None),
    }
    for part, (x, y) in arrays.items():
        _write_stl10(directory, part, x, y)
    return root, arrays


def test_stl10_reader_recovers_images_and_labels(stl10_root):
    root, arrays = stl10_root
    for split in ("train", "test", "unlabeled"):
        s = sdata.load_stl10(root, split)
        x, y = arrays[split]
        assert s.images.shape == x.shape and np.array_equal(s.batch(np.arange(len(s))), x)
        assert np.array_equal(s.labels, y if y is not None else np.full(len(x), -1))
    # pointing at stl10_binary/ itself works too; rows can be gathered in any order
    s = sdata.load_stl10(root / "stl10_binary", "train")
    assert np.array_equal(s.batch(np.array([2, 0])), arrays["train"][0][[2, 0]])
    both = sdata.load_stl10(root, "train+unlabeled")
    assert len(both) == 7 and np.array_equal(both.batch(np.array([5, 1])), np.stack([arrays["unlabeled"][0][1], arrays["train"][0][1]]))
    assert both.labels.tolist() == [0, 9, 3, 3, -1, -1, -1]


def test_stl10_reads_only_the_files_of_the_split(stl10_root):
    root, _ = stl10_root
    for name in ("test_X.bin", "test_y.bin", "unlabeled_X.bin"):
        (root / "stl10_binary" / name).unlink()
    assert len(sdata.load_stl10(root, "train")) == 4
    with pytest.raises(sdata.DatasetError, match="unlabeled_X.bin does not exist.*stl10_binary.tar.gz"):
        sdata.load_stl10(root, "unlabeled")


def test_stl10_corrupt_or_missing_files_are_clear_errors(stl10_root, tmp_path):
    root, _ = stl10_root
    with pytest.raises(sdata.DatasetError, match="md5"):
        sdata.load_stl10(root, "train", check_md5=True)
    path = root / "stl10_binary" / "train_X.bin"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(sdata.DatasetError, match="corrupt"):
        sdata.load_stl10(root, "train")
    with pytest.raises(sdata.DatasetError, match="--data-root"):
        sdata.load_stl10(None, "train")
    with pytest.raises(sdata.DatasetError, match="does not exist"):
        sdata.load_stl10(tmp_path / "elsewhere", "test")
    with pytest.raises(sdata.DatasetError, match="splits"):
        sdata.load_stl10(root, "validation")


def test_stl10_md5_check_accepts_matching_files(stl10_root, monkeypatch):
    root, _ = stl10_root
    sums = {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in (root / "stl10_binary").iterdir()}
    monkeypatch.setattr(sdata, "STL10_MD5", sums)
    assert len(sdata.load_stl10(root, "test", check_md5=True)) == 2


def _idx(array, magic):
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def test_fashion_mnist_idx_reader_plain_and_gz(tmp_path):
    rng = np.random.default_rng(1)
    x_train, y_train = rng.integers(0, 256, (5, 28, 28)), rng.integers(0, 10, 5)
    x_test, y_test = rng.integers(0, 256, (3, 28, 28)), rng.integers(0, 10, 3)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(x_train, 0x803)))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx(y_train, 0x801))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx(x_test, 0x803))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(y_test, 0x801)))
    train = sdata.load_dataset("fashion-mnist", "train", tmp_path)
    test = sdata.load_dataset("fashion-mnist", "test", tmp_path)
    assert np.array_equal(train.images[:, 0], x_train) and np.array_equal(train.labels, y_train)
    assert np.array_equal(test.images[:, 0], x_test) and np.array_equal(test.labels, y_test)
    assert test.mean == train.mean  # test images are normalised with the training statistics
    np.testing.assert_allclose(train.mean[0], x_train.mean() / 255)


def test_fashion_mnist_missing_or_corrupt_files_say_how_to_get_them(tmp_path):
    with pytest.raises(sdata.DatasetError, match="train-images-idx3-ubyte.*apt-get install dataset-fashion-mnist"):
        sdata.load_fashion_mnist(tmp_path, "train")
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(_idx(np.zeros((2, 4, 4)), 0x803)[:-3])
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(_idx(np.zeros(2), 0x801))
    with pytest.raises(sdata.DatasetError, match="truncated or corrupt"):
        sdata.load_fashion_mnist(tmp_path, "test")
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01" + bytes(12))
    with pytest.raises(sdata.DatasetError, match="magic"):
        sdata.load_fashion_mnist(tmp_path, "test")
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"not gzip")
    (tmp_path / "t10k-images-idx3-ubyte").rename(tmp_path / "t10k-images-idx3-ubyte.gz")
    with pytest.raises(sdata.DatasetError, match="corrupt"):
        sdata.load_fashion_mnist(tmp_path, "test")


def test_digits_and_synthetic_sets():
    train, test = sdata.load_digits("train"), sdata.load_digits("test")
    assert train.images.shape == (1297, 1, 8, 8) and test.images.shape == (500, 1, 8, 8)
    assert set(np.unique(train.labels)) == set(range(10)) and train.images.max() == 255
    a, b = sdata.synthetic_images("train", seed=3), sdata.synthetic_images("train", seed=3)
    assert np.array_equal(a.images, b.images) and a.images.shape == (256, 3, 16, 16) and a.num_classes == 4
    assert not np.array_equal(sdata.synthetic_images("test", seed=3).images[:10], a.images[:10])
    sub = a.subset(10, seed=1)
    assert len(sub) == 10 and len(a.subset(None)) == 256
    with pytest.raises(sdata.DatasetError, match="dataset"):
        sdata.load_dataset("cifar100", "train")
