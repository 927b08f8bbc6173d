"""The prepared MNIST root used by the training tests (tests/support/mnist.py)."""

from __future__ import annotations

import gzip
import hashlib
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import mnist as support

REAL = support.real_mnist_available()
needs_real = pytest.mark.skipif(
    not REAL,
    reason=f"real MNIST test set not found in {support.real_mnist_dir()} (only on dev/CI machines)",
)


def _idx(path: Path) -> tuple[tuple[int, ...], bytes]:
    data = path.read_bytes()
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return dims, data[4 + 4 * ndim :]


def _raw(root: Path) -> Path:
    return root / "MNIST" / "raw"


def test_layout_and_sizes(tmp_path: Path) -> None:
    support.make_mnist_root(tmp_path, n_train=30, n_test=7)
    raw = _raw(tmp_path)
    assert sorted(p.name for p in raw.iterdir()) == sorted(support.RAW_FILES)
    dims, pixels = _idx(raw / "train-images-idx3-ubyte")
    assert dims == (30, 28, 28) and len(pixels) == 30 * 784
    dims, labels = _idx(raw / "train-labels-idx1-ubyte")
    assert dims == (30,) and set(labels) <= set(range(10))
    assert _idx(raw / "t10k-images-idx3-ubyte")[0] == (7, 28, 28)
    assert _idx(raw / "t10k-labels-idx1-ubyte")[0] == (7,)


@needs_real
def test_real_images_are_the_real_ones(tmp_path: Path) -> None:
    assert support.make_mnist_root(tmp_path, n_train=50, n_test=20) == "real"
    folder = support.real_mnist_dir()
    with gzip.open(folder / support.IMAGES_GZ, "rb") as fh:
        images = fh.read()[16:]
    with gzip.open(folder / support.LABELS_GZ, "rb") as fh:
        labels = fh.read()[8:]
    raw = _raw(tmp_path)
    _, train_pixels = _idx(raw / "train-images-idx3-ubyte")
    _, test_pixels = _idx(raw / "t10k-images-idx3-ubyte")
    # First 50 images for training, last 20 for testing, byte for byte.
    assert train_pixels == images[: 50 * 784]
    assert test_pixels == images[-20 * 784 :]
    assert _idx(raw / "train-labels-idx1-ubyte")[1] == labels[:50]
    assert _idx(raw / "t10k-labels-idx1-ubyte")[1] == labels[-20:]
    # The canonical first test image is a 7.
    assert labels[0] == 7


@needs_real
def test_real_source_is_the_canonical_release() -> None:
    folder = support.real_mnist_dir()
    digest = hashlib.md5((folder / support.LABELS_GZ).read_bytes()).hexdigest()
    assert digest == "ec29112dd5afa0611ce80d1b7f02629c"


def test_synthetic_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "no-mnist-here"
    empty.mkdir()
    monkeypatch.setenv("T2L_MNIST_DIR", str(empty))
    assert not support.real_mnist_available()
    first, second = tmp_path / "a", tmp_path / "b"
    assert support.make_mnist_root(first, n_train=40, n_test=10) == "synthetic"
    assert support.make_mnist_root(second, n_train=40, n_test=10) == "synthetic"
    for name in support.RAW_FILES:  # deterministic
        assert (_raw(first) / name).read_bytes() == (_raw(second) / name).read_bytes()
    dims, labels = _idx(_raw(first) / "train-labels-idx1-ubyte")
    assert dims == (40,) and set(labels) <= set(range(10)) and len(set(labels)) > 1
    dims, pixels = _idx(_raw(first) / "train-images-idx3-ubyte")
    assert dims == (40, 28, 28) and max(pixels) >= 200 and min(pixels) == 0


def test_support_module_does_not_import_torch(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from tests.support.mnist import make_mnist_root; "
        f"make_mnist_root(Path({str(tmp_path)!r}), n_train=5, n_test=5); "
        "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, sorted(sys.modules)"
    )
    repo = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], cwd=repo, check=True)


def test_torchvision_loads_prepared_root_offline(mnist_root: Path) -> None:
    datasets = pytest.importorskip("torchvision.datasets")
    train = datasets.MNIST(str(mnist_root), train=True, download=True)
    test = datasets.MNIST(str(mnist_root), train=False, download=True)
    assert len(train) == 2000
    assert len(test) == 500
    image, label = train[0]
    assert image.size == (28, 28)
    assert 0 <= int(label) <= 9
    if REAL:
        assert int(label) == 7  # the first image of the real test set
