"""Every golden output trains: original and converted run side by side under `verify`, on fake
data of the same shapes, and must agree on every loss and every final weight."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_golden import CASES, GOLDEN

pytestmark = pytest.mark.training

SCRIPT_ARGS = {"function_based": ["--epochs", "1", "--log-interval", "3"]}


@pytest.mark.parametrize("case", CASES)
def test_golden_output_trains_like_its_input(case, tmp_path: Path):
    command = [
        sys.executable,
        "-m",
        "converter",
        "verify",
        str(GOLDEN / f"{case}.in.py"),
        "--against",
        str(GOLDEN / f"{case}.out.py"),
        "--fake-data",
        "--work-dir",
        str(tmp_path),
        "--",
        *SCRIPT_ARGS.get(case, []),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "EQUIVALENT" in run.stdout
