"""verify --fake-data: the stand-ins serve fewer items than the real datasets, yet read every index
the real one has (round and round), so a script that splits by the real size runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.test_verify import CASES, explain, needs_lightning, verify

INDEXING = """
import numpy as np, torch
from converter.verify import fakedata
fakedata.install()
from torchvision import datasets
mnist = datasets.MNIST("nowhere", train=True, download=True)
image, label = mnist[54226]  # an index of the real training set
assert label == mnist[54226 % len(mnist)][1] == mnist[torch.tensor(54226)][1]
assert mnist[np.int64(59999)][1] == mnist[59999 % len(mnist)][1]
try:
    mnist[60000]
except IndexError:
    pass
else:
    raise SystemExit("60000 is past the real training set")
cifar = datasets.CIFAR10("nowhere", train=False)
assert cifar[9999][1] == cifar[9999 % len(cifar)][1]
print(len(mnist), len(cifar))
"""


def test_a_stand_in_reads_every_index_of_the_real_dataset():
    pytest.importorskip("torchvision")
    run = subprocess.run(
        [sys.executable, "-c", INDEXING], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["512", "256"]  # still small: epochs stay short


@pytest.mark.training
@needs_lightning
def test_a_script_that_splits_by_the_real_size_verifies(tmp_path):
    result = verify(CASES / "real_size_split.py", "--fake-data", "--max-steps", "3", cwd=tmp_path)
    assert result.returncode == 0, explain(result)
    assert "EQUIVALENT" in result.stdout
