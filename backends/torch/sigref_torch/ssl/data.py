"""Image data sets for the self-supervised path, read from local files only (never downloaded).

Every set is an :class:`ImageSet`: ``images`` is a uint8 array ``(N, C, H, W)`` (a NumPy array or a
read-only memory map), ``labels`` an int64 array ``(N,)``, plus per-channel ``mean``/``std`` used to
normalise pixels in ``[0, 1]``. Batches are gathered by index (:meth:`ImageSet.batch`), so a
100 000-image STL10 split stays on disk and only the rows of a batch are read.

Sources:

* ``fashion-mnist``: IDX files (``train-images-idx3-ubyte[.gz]`` ...), by default in Debian's
  ``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``). Splits ``train``, ``test``.
* ``stl10``: a local copy in torchvision's ``stl10_binary`` layout (``{split}_X.bin`` uint8 images
  stored column-major as ``3 x 96 x 96``, ``{split}_y.bin`` labels 1..10). Splits ``unlabeled``,
  ``train``, ``test``, ``train+unlabeled``.
* ``digits``: scikit-learn's bundled 8x8 digits (1797 images), a fixed 1297/500 split.
* ``synthetic``: class-structured images generated from a seed (for tests and smoke runs).
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DATASETS",
    "DatasetError",
    "ImageSet",
    "SPLITS",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_stl10",
    "synthetic_images",
]

FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

SPLITS = {
    "fashion-mnist": ("train", "test"),
    "stl10": ("unlabeled", "train", "test", "train+unlabeled"),
    "digits": ("train", "test"),
    "synthetic": ("train", "test"),
}
DATASETS = tuple(SPLITS)

# md5 of the files of the official STL10 archive (as listed by torchvision's STL10 class).
STL10_MD5 = {
    "train_X.bin": "918c2871b30a85fa023e0c44e0bee87f",
    "train_y.bin": "5a34089d4802c674881badbb80307741",
    "unlabeled_X.bin": "5242ba1fed5e4be9e1e742405eb56ca4",
    "test_X.bin": "7f263ba9f9e0b06b93213547f721ac82",
    "test_y.bin": "36f9794fa4beb8a2c72628de14fa638e",
}
STL10_HOWTO = (
    "download http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz yourself, extract it "
    "(it creates stl10_binary/) and pass --data-root to the directory that contains stl10_binary/ "
    "(or to stl10_binary/ itself)"
)
FMNIST_HOWTO = (
    "install Debian's package with `apt-get install dataset-fashion-mnist` (files land in "
    f"{FASHION_MNIST_ROOT}) or pass --data-root to a directory holding the four IDX files "
    "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; "
    "plain or .gz)"
)


class DatasetError(ValueError):
    """A data set is unknown, missing or corrupt; the message says what was looked for where and how to get it."""


@dataclass(frozen=True)
class ImageSet:
    """uint8 images ``(N, C, H, W)``, int64 labels ``(N,)`` (-1 when unlabeled), per-channel mean/std in [0, 1] units."""

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    mean: tuple[float, ...]
    std: tuple[float, ...]
    num_classes: int

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def size(self) -> int:
        return int(self.images.shape[2])

    def batch(self, index: np.ndarray) -> np.ndarray:
        """Rows ``index`` as a contiguous uint8 array (reads only those rows of a memory map)."""
        index = np.asarray(index, dtype=np.int64)
        order = np.argsort(index, kind="stable")
        rows = np.empty((index.shape[0],) + tuple(self.images.shape[1:]), dtype=np.uint8)
        rows[order] = self.images[index[order]]  # sorted reads are sequential on a memory map
        return rows

    def subset(self, limit: int | None, seed: int = 0) -> ImageSet:
        """A fixed, class-agnostic random subset of at most ``limit`` rows (all rows when ``limit`` is None)."""
        if limit is None or limit >= len(self):
            return self
        index = np.sort(np.random.default_rng(seed).permutation(len(self))[:limit])
        return ImageSet(self.name, self.split, self.batch(index), self.labels[index], self.mean, self.std, self.num_classes)


def _channel_stats(images: np.ndarray, limit: int = 10_000) -> tuple[tuple[float, ...], tuple[float, ...]]:
    sample = np.asarray(images[:limit], dtype=np.float64) / 255.0
    mean = sample.mean(axis=(0, 2, 3))
    std = sample.std(axis=(0, 2, 3))
    return tuple(float(m) for m in mean), tuple(float(max(s, 1e-3)) for s in std)


# ----------------------------------------------------------------------------------- Fashion-MNIST
def _read_idx(path: Path, magic: int, howto: str) -> np.ndarray:
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DatasetError(f"cannot read IDX file {path}: {exc}; the file looks corrupt, {howto}") from exc
    if len(raw) < 8 or int.from_bytes(raw[:4], "big") != magic:
        got = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
        raise DatasetError(f"{path} is not an IDX file with magic 0x{magic:08x} (got {got}); {howto}")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(raw) - offset != expected:
        raise DatasetError(
            f"{path} is truncated or corrupt: header says {dims} ({expected} bytes of data), "
            f"file has {len(raw) - offset}; {howto}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def _find(root: Path, stem: str, howto: str, what: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (root / name).is_file():
            return root / name
    raise DatasetError(f"{what}: neither {root / stem} nor {root / (stem + '.gz')} exists; {howto}")


def load_fashion_mnist(root: str | os.PathLike | None = None, split: str = "train") -> ImageSet:
    """Fashion-MNIST (arXiv 1708.07747) from IDX files: 60 000 train / 10 000 test, 1 x 28 x 28."""
    _check_split("fashion-mnist", split)
    directory = Path(root) if root is not None else Path(FASHION_MNIST_ROOT)
    prefix = "train" if split == "train" else "t10k"
    what = f"Fashion-MNIST split {split!r}"
    images = _read_idx(_find(directory, f"{prefix}-images-idx3-ubyte", FMNIST_HOWTO, what), 0x00000803, FMNIST_HOWTO)
    labels = _read_idx(_find(directory, f"{prefix}-labels-idx1-ubyte", FMNIST_HOWTO, what), 0x00000801, FMNIST_HOWTO)
    if images.shape[0] != labels.shape[0]:
        raise DatasetError(f"{what} in {directory}: {images.shape[0]} images but {labels.shape[0]} labels; {FMNIST_HOWTO}")
    images = images[:, None, :, :]
    if split == "train":
        mean, std = _channel_stats(images)
    else:  # normalise with the training statistics wherever they are available
        try:
            mean, std = _channel_stats(load_fashion_mnist(directory, "train").images)
        except DatasetError:
            mean, std = _channel_stats(images)
    return ImageSet("fashion-mnist", split, images, labels.astype(np.int64), mean, std, 10)


# ------------------------------------------------------------------------------------------ STL10
def _stl10_dir(root: str | os.PathLike | None) -> Path:
    if root is None:
        raise DatasetError(f"STL10 needs --data-root (nothing is downloaded); {STL10_HOWTO}")
    root = Path(root)
    return root if root.name == "stl10_binary" or not (root / "stl10_binary").is_dir() else root / "stl10_binary"


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _stl10_part(directory: Path, part: str, check_md5: bool) -> tuple[np.ndarray, np.ndarray]:
    image_file = directory / f"{part}_X.bin"
    if not image_file.is_file():
        raise DatasetError(f"STL10 split {part!r}: {image_file} does not exist; {STL10_HOWTO}")
    files = [image_file] + ([directory / f"{part}_y.bin"] if part != "unlabeled" else [])
    for path in files:
        if not path.is_file():
            raise DatasetError(f"STL10 split {part!r}: {path} does not exist; {STL10_HOWTO}")
        if check_md5 and _md5(path) != STL10_MD5[path.name]:
            raise DatasetError(f"STL10 file {path} fails its md5 check (expected {STL10_MD5[path.name]}); {STL10_HOWTO}")
    per_image = 3 * 96 * 96
    nbytes = image_file.stat().st_size
    if nbytes == 0 or nbytes % per_image:
        raise DatasetError(
            f"STL10 file {image_file} has {nbytes} bytes, not a positive multiple of 3*96*96={per_image}: corrupt; {STL10_HOWTO}"
        )
    count = nbytes // per_image
    # Stored column-major per image: axes (C, W, H); swapping the last two gives (C, H, W) without a copy.
    images = np.memmap(image_file, dtype=np.uint8, mode="r", shape=(count, 3, 96, 96)).transpose(0, 1, 3, 2)
    if part == "unlabeled":
        labels = np.full(count, -1, dtype=np.int64)
    else:
        labels = np.fromfile(files[1], dtype=np.uint8).astype(np.int64) - 1
        if labels.shape[0] != count or labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
            raise DatasetError(
                f"STL10 labels {files[1]}: expected {count} labels in 1..10, got {labels.shape[0]} "
                f"in {labels.min(initial=0) + 1}..{labels.max(initial=0) + 1}: corrupt; {STL10_HOWTO}"
            )
    return images, labels


class _ConcatRows:
    """Row-indexable view over several memory maps (for ``train+unlabeled``) without copying them."""

    def __init__(self, parts: list[np.ndarray]):
        self.parts = parts
        self.offsets = np.cumsum([0] + [p.shape[0] for p in parts])
        self.shape = (int(self.offsets[-1]),) + tuple(parts[0].shape[1:])
        self.dtype = parts[0].dtype

    def __getitem__(self, index):
        if isinstance(index, slice):
            index = np.arange(*index.indices(self.shape[0]))
        index = np.asarray(index, dtype=np.int64)
        out = np.empty((index.shape[0],) + self.shape[1:], dtype=self.dtype)
        which = np.searchsorted(self.offsets, index, side="right") - 1
        for k, part in enumerate(self.parts):
            sel = np.nonzero(which == k)[0]
            if sel.size:
                out[sel] = part[index[sel] - self.offsets[k]]
        return out


def load_stl10(root: str | os.PathLike | None, split: str = "unlabeled", *, check_md5: bool = False) -> ImageSet:
    """STL10 (Coates et al. 2011) from a local ``stl10_binary`` copy, memory-mapped; 3 x 96 x 96.

    Only the files of the requested split are opened; ``check_md5`` verifies them against the
    official archive's checksums (reads every byte once).
    """
    _check_split("stl10", split)
    directory = _stl10_dir(root)
    if not directory.is_dir():
        raise DatasetError(f"STL10: directory {directory} does not exist; {STL10_HOWTO}")
    parts = [_stl10_part(directory, part, check_md5) for part in split.split("+")]
    if len(parts) == 1:
        images, labels = parts[0]
    else:
        images = _ConcatRows([p[0] for p in parts])
        labels = np.concatenate([p[1] for p in parts])
    return ImageSet("stl10", split, images, labels, IMAGENET_MEAN, IMAGENET_STD, 10)


# ----------------------------------------------------------------------------------------- digits
def load_digits(split: str = "train") -> ImageSet:
    """scikit-learn's bundled 8x8 handwritten digits (values 0..16 rescaled to 0..255), fixed split 1297/500."""
    _check_split("digits", split)
    from sklearn.datasets import load_digits as _sk_digits

    bunch = _sk_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[:, None, :, :]
    labels = bunch.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(images.shape[0])
    index = np.sort(order[500:] if split == "train" else order[:500])
    mean, std = _channel_stats(images[np.sort(order[500:])])
    return ImageSet("digits", split, images[index], labels[index], mean, std, 10)


# -------------------------------------------------------------------------------------- synthetic
def synthetic_images(
    split: str = "train", *, n: int | None = None, size: int = 16, channels: int = 3, num_classes: int = 4, seed: int = 0
) -> ImageSet:
    """Class-structured random images: each class is a smooth random prototype; samples add a random
    shift, brightness change and pixel noise. Prototypes depend on ``seed`` only; the split selects the samples."""
    _check_split("synthetic", split)
    if n is None:
        n = 256 if split == "train" else 128
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0.0, 1.0, size=(num_classes, channels, 4, 4))
    grid = np.linspace(0.0, 3.0, size)
    lo = np.floor(grid).astype(int).clip(0, 2)
    frac = grid - lo
    rows = coarse[:, :, lo, :] * (1 - frac)[None, None, :, None] + coarse[:, :, lo + 1, :] * frac[None, None, :, None]
    protos = rows[:, :, :, lo] * (1 - frac) + rows[:, :, :, lo + 1] * frac
    sample_rng = np.random.default_rng([seed, 0 if split == "train" else 1])
    labels = sample_rng.integers(0, num_classes, size=n)
    shifts = sample_rng.integers(-size // 8, size // 8 + 1, size=(n, 2))
    gains = sample_rng.uniform(0.8, 1.2, size=(n, 1, 1, 1))
    noise = sample_rng.normal(0.0, 0.08, size=(n, channels, size, size))
    base = np.stack([np.roll(protos[c], (int(dy), int(dx)), axis=(1, 2)) for c, (dy, dx) in zip(labels, shifts)])
    images = np.clip(np.round((base * gains + noise) * 255.0), 0, 255).astype(np.uint8)
    mean, std = _channel_stats(images)
    return ImageSet("synthetic", split, images, labels.astype(np.int64), mean, std, num_classes)


# ------------------------------------------------------------------------------------------ entry
def _check_split(name: str, split: str) -> None:
    if split not in SPLITS[name]:
        raise DatasetError(f"split: data set {name!r} has splits {list(SPLITS[name])}, got {split!r}")


def load_dataset(name: str, split: str, root: str | os.PathLike | None = None, *, check_md5: bool = False) -> ImageSet:
    """Load split ``split`` of data set ``name`` (one of :data:`DATASETS`) from ``root`` (or its default place)."""
    if name not in SPLITS:
        raise DatasetError(f"dataset: expected one of {list(DATASETS)}, got {name!r}")
    if name == "fashion-mnist":
        return load_fashion_mnist(root, split)
    if name == "stl10":
        return load_stl10(root, split, check_md5=check_md5)
    if name == "digits":
        return load_digits(split)
    return synthetic_images(split)


def default_splits(name: str) -> tuple[str, str, str]:
    """(pretraining split, probe-train split, probe-test split) for data set ``name``."""
    if name not in SPLITS:
        raise DatasetError(f"dataset: expected one of {list(DATASETS)}, got {name!r}")
    return ("unlabeled", "train", "test") if name == "stl10" else ("train", "train", "test")
