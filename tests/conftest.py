"""Shared pytest fixtures."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

# Make `tests.support` importable however pytest is started (`pytest` does not put the repository
# root on sys.path; `python -m pytest` does).
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

from tests.support.mnist import make_mnist_root  # noqa: E402

# Every process the tests start ends a live torch process group at exit: see the module.
_AT_EXIT = str(Path(__file__).resolve().parent / "support" / "at_exit")
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_AT_EXIT, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)]
)

# A test run started in the background (`nohup`, `cmd &` in a script) inherits SIGINT and SIGHUP
# ignored, and so would every process the tests start: an ignored signal stays ignored across
# exec, and Python installs no KeyboardInterrupt handler then. The signal tests need them as a
# terminal gives them.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.fixture(scope="session")
def mnist_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A prepared MNIST root (2,000 training and 500 test images) that torchvision loads offline.

    Real MNIST images where ``../shared/data/mnist`` (or ``$T2L_MNIST_DIR``) holds them, synthetic
    MNIST-shaped images otherwise. Pass it as the dataset root (``datasets.MNIST(str(mnist_root),
    ...)``) or to a fixture script (``--data-dir`` of fixtures/mnist_classifier.py, ``MNIST_DIR``
    of fixtures/autoencoder.py).
    """
    root = tmp_path_factory.mktemp("mnist")
    make_mnist_root(root, n_train=2000, n_test=500)
    return root
