"""benchmarks/coverage.py sorts each file into what verify found; a file verify cannot judge
because the original itself trains differently each run is unverifiable, with the reason, not a
crash of the converter."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "coverage.py"

SEEDED_BY_THE_CLOCK = """\
import time

import torch
from torch import nn

torch.manual_seed(int(time.time() * 1000) % 2**31)
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
for epoch in range(2):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
"""


@pytest.mark.training
def test_an_original_that_does_not_reproduce_itself_is_unverifiable(tmp_path):
    folder = tmp_path / "collection"
    folder.mkdir()
    (folder / "train.py").write_text(SEEDED_BY_THE_CLOCK)
    out = tmp_path / "coverage.json"
    run = subprocess.run(
        [sys.executable, str(BENCH), str(folder), "--jobs", "1", "--max-steps", "5"]
        + ["--json", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    (found,) = json.loads(out.read_text())["files"]
    assert found["category"] == "unverifiable", found
    assert found["detail"].startswith("the original trains differently in a second run"), found
    assert "first run loss" in found["detail"], found
