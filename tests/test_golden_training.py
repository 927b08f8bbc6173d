"""Every golden output trains: original and converted run side by side under `verify`, on fake
data of the same shapes, and must agree on every loss and every final weight."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_golden import CASES, GOLDEN

pytestmark = pytest.mark.training

SCRIPT_ARGS = {"function_based": ["--epochs", "1", "--log-interval", "3"]}
# The hand-written DDP script runs as one process of a world of one, as `torchrun` would start it;
# both runs share the port, so they run one after the other (--cwd).
ENVIRONMENT = {
    "ddp": {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1"},
}


@pytest.mark.parametrize("case", CASES)
def test_golden_output_trains_like_its_input(case, tmp_path: Path):
    environment = dict(os.environ, **ENVIRONMENT.get(case, {}))
    where = ["--work-dir", str(tmp_path)]
    if case in ENVIRONMENT:
        environment["MASTER_PORT"] = str(29500 + os.getpid() % 1000)
        where = ["--cwd", str(tmp_path)]
    command = [
        sys.executable,
        "-m",
        "converter",
        "verify",
        str(GOLDEN / f"{case}.in.py"),
        "--against",
        str(GOLDEN / f"{case}.out.py"),
        "--fake-data",
        *where,
        "--",
        *SCRIPT_ARGS.get(case, []),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, env=environment)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "EQUIVALENT" in run.stdout
