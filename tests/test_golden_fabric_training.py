"""Every golden Fabric conversion trains like its input: `verify --target fabric` against the
committed output, on fake data where a case reads MNIST, and every loss, the whole state left
behind and every printed line must be identical (bit for bit, on one CPU process); and on 2
processes (`--devices 2`) its evaluations print and reduce as on one, and files are written
once."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.test_golden_fabric import CASES, GOLDEN
from tests.test_golden_training import ENVIRONMENT, SCRIPT_ARGS

pytestmark = pytest.mark.training
# Scripts whose own loop does something else per process on 2 (checked on one process only):
# each process counts its own batches, so a loop that evaluates every k batches, or trains until
# a number of batches, evaluates half as often, or waits for a peer that stopped (a hang).
ONE_PROCESS_ONLY = {
    "evaluation_inside_batch_loop": "evaluates every k of each process's batches",
    "train_until": "trains until a count of each process's batches",
}


@pytest.mark.parametrize("case", CASES)
def test_golden_fabric_output_trains_like_its_input(case, tmp_path):
    environment = dict(os.environ, **ENVIRONMENT.get(case, {}))
    where = ["--work-dir", str(tmp_path)]
    if case in ENVIRONMENT:  # the DDP script: one process of a world of one, as torchrun starts it
        environment["MASTER_PORT"] = str(29600 + os.getpid() % 1000)
        where = ["--cwd", str(tmp_path)]
    command = [
        sys.executable,
        "-m",
        "converter",
        "verify",
        str(GOLDEN / f"{case}.in.py"),
        "--against",
        str(GOLDEN / f"{case}.out.py"),
        "--target",
        "fabric",
        "--fake-data",
        *([] if case in ONE_PROCESS_ONLY else ["--devices", "2"]),
        *where,
        "--",
        *SCRIPT_ARGS.get(case, []),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, env=environment)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "EQUIVALENT" in run.stdout
    assert "largest loss difference: 0\n" in run.stdout
