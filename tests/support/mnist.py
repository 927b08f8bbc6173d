"""A small MNIST root that ``torchvision.datasets.MNIST(root, download=True)`` loads offline.

torchvision only checks that the four uncompressed raw IDX files exist under
``<root>/MNIST/raw/``, so a test can point an unmodified training script at a prepared root.

The images come from the real MNIST test set kept next to the repository in
``../shared/data/mnist`` (or the folder named by ``T2L_MNIST_DIR``): the first ``n_train`` images
become the training split and the last ``n_test`` the test split. Where those files are absent (a
user's machine), deterministic synthetic MNIST-shaped data is written instead.

Standard library only (numpy is not needed); this module must not import torch.
"""

from __future__ import annotations

import gzip
import os
import random
import struct
from pathlib import Path

IMAGES_GZ = "t10k-images-idx3-ubyte.gz"
LABELS_GZ = "t10k-labels-idx1-ubyte.gz"

IMAGE_MAGIC = 2051  # IDX: unsigned byte, 3 dimensions
LABEL_MAGIC = 2049  # IDX: unsigned byte, 1 dimension
ROWS = COLS = 28
PIXELS = ROWS * COLS

RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def real_mnist_dir() -> Path:
    """The folder holding the real MNIST test set (``t10k-*-ubyte.gz``).

    ``$T2L_MNIST_DIR`` if set, else ``../shared/data/mnist`` relative to the repository root.
    """
    env = os.environ.get("T2L_MNIST_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data" / "mnist"


def real_mnist_available() -> bool:
    folder = real_mnist_dir()
    return (folder / IMAGES_GZ).is_file() and (folder / LABELS_GZ).is_file()


def _read_idx(path: Path, magic: int) -> tuple[int, bytes]:
    """Return (item count, payload) of a gzipped IDX file, checking its header."""
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    found, count = struct.unpack(">II", data[:8])
    if found != magic:
        raise ValueError(f"{path}: IDX magic {found}, expected {magic}")
    header = 16 if magic == IMAGE_MAGIC else 8
    payload = data[header:]
    item = PIXELS if magic == IMAGE_MAGIC else 1
    if len(payload) != count * item:
        raise ValueError(f"{path}: {len(payload)} payload bytes for {count} items")
    return count, payload


def _images_idx(payload: bytes) -> bytes:
    count = len(payload) // PIXELS
    return struct.pack(">IIII", IMAGE_MAGIC, count, ROWS, COLS) + payload


def _labels_idx(payload: bytes) -> bytes:
    return struct.pack(">II", LABEL_MAGIC, len(payload)) + payload


def _real_splits(n_train: int, n_test: int) -> tuple[bytes, bytes, bytes, bytes]:
    folder = real_mnist_dir()
    count, images = _read_idx(folder / IMAGES_GZ, IMAGE_MAGIC)
    label_count, labels = _read_idx(folder / LABELS_GZ, LABEL_MAGIC)
    if label_count != count:
        raise ValueError(f"{folder}: {count} images but {label_count} labels")
    if n_train > count or n_test > count:
        raise ValueError(f"asked for {n_train} train / {n_test} test images; only {count} exist")
    train_images = images[: n_train * PIXELS]
    train_labels = labels[:n_train]
    test_images = images[(count - n_test) * PIXELS :]
    test_labels = labels[count - n_test :]
    return train_images, train_labels, test_images, test_labels


_NOISE = bytes(b * 40 // 256 for b in range(256))  # uniform byte -> dim background 0..39
_BRIGHT = bytes(200 + b * 56 // 256 for b in range(256))  # uniform byte -> bright stroke 200..255


def _synthetic_split(n: int, rng: random.Random) -> tuple[bytes, bytes]:
    """``n`` 28x28 uint8 images with labels 0-9: a bright class-dependent bar on dim noise.

    The class is visible in the image, so a model can learn something, and the bytes depend only on
    the seed.
    """
    images = bytearray()
    labels = bytearray()
    for _ in range(n):
        label = rng.randrange(10)
        img = bytearray(rng.randbytes(PIXELS).translate(_NOISE))
        row0 = 2 + 2 * label  # a 4-row bar whose height encodes the label
        col0 = rng.randrange(2, 8)
        width = rng.randrange(12, 19)
        for r in range(row0, row0 + 4):
            start = r * COLS + col0
            img[start : start + width] = rng.randbytes(width).translate(_BRIGHT)
        images += img
        labels.append(label)
    return bytes(images), bytes(labels)


def _synthetic_splits(n_train: int, n_test: int) -> tuple[bytes, bytes, bytes, bytes]:
    rng = random.Random(0)
    train_images, train_labels = _synthetic_split(n_train, rng)
    test_images, test_labels = _synthetic_split(n_test, rng)
    return train_images, train_labels, test_images, test_labels


def make_mnist_root(root: Path, n_train: int = 2000, n_test: int = 500) -> str:
    """Lay out ``<root>/MNIST/raw/`` with uncompressed IDX files and return "real" or "synthetic".

    "real": the first ``n_train`` and last ``n_test`` images of the real MNIST test set.
    "synthetic": deterministic MNIST-shaped data (seeded ``random.Random(0)``), used when the real
    files are absent.
    """
    if n_train < 1 or n_test < 1:
        raise ValueError("n_train and n_test must be positive")
    if real_mnist_available():
        kind = "real"
        splits = _real_splits(n_train, n_test)
    else:
        kind = "synthetic"
        splits = _synthetic_splits(n_train, n_test)
    train_images, train_labels, test_images, test_labels = splits

    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    contents = (
        _images_idx(train_images),
        _labels_idx(train_labels),
        _images_idx(test_images),
        _labels_idx(test_labels),
    )
    for name, data in zip(RAW_FILES, contents):
        (raw / name).write_bytes(data)
    # torchvision < 0.9 looked for processed/*.pt; current versions read raw/ directly. Drop any
    # stale processed copies so a reused root never serves old data.
    processed = Path(root) / "MNIST" / "processed"
    for stale in ("training.pt", "test.pt"):
        (processed / stale).unlink(missing_ok=True)
    return kind
