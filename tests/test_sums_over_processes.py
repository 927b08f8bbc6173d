"""Sums over the batches on 1 and on 2 processes (issue 19), run as a user runs a conversion.

tests/verify_cases/sums_over_processes.py, converted to the Trainer and to Fabric, runs on one CPU
process, on two (DDP, gloo) with `--devices 2`, and started by `torchrun --nproc-per-node 2`
without `--devices`. On 2 processes:

- the training summary (`running_loss / len(train_loader.dataset)`) is what 1 process prints, not
  half of it: the training sums are totals over the processes too;
- a validation loss added up as `loss.item() / len(val_loader)` is not doubled: `len(loader)` is
  every process's batches there;
- a file written every epoch is written once (`epochs.txt` gets one line an epoch);
- torchrun without `--devices` gives one world of 2 processes (the flags' defaults read what
  torchrun sets), not two independent copies printing everything twice.

The Trainer's logger gets what the script prints: the validation and test means under `val_` and
`test_` names, and the training loss once per epoch, although an epoch has fewer batches than
Lightning's log_every_n_steps. The accuracy over 255 samples is not exact on 2 processes (the
DistributedSampler repeats one): the report says so.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from converter import convert_source

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "verify_cases" / "sums_over_processes.py"
EPOCHS = 2
TARGETS = ("pytorch_lightning", "fabric")
SUMMARY = re.compile(r"epoch (\d+): train ([\d.]+) val ([\d.]+) Accuracy: (\d+)/(\d+)")
pytestmark = pytest.mark.training


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    for name in ("LOCAL_RANK", "RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_WORLD_SIZE"):
        env.pop(name, None)
    run = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    return run


@pytest.fixture(scope="module", params=TARGETS)
def runs(request, tmp_path_factory):
    """The conversion's report, and its runs: one process, `--devices 2`, torchrun."""
    target = request.param
    result = convert_source(SCRIPT.read_text(), target=target, filename=SCRIPT.name)
    assert result.changed, result.report.text()
    found = {"report": result.report.text(), "target": target}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    commands = {
        "one": [sys.executable, "converted.py", "--devices", "1"],
        "two": [sys.executable, "converted.py", "--devices", "2"],
        "torchrun": [*torchrun, "converted.py"],
    }
    for name, command in commands.items():
        folder = tmp_path_factory.mktemp(f"{target}-{name}")
        (folder / "converted.py").write_text(result.code)
        found[name] = (_run([*command, "--epochs", str(EPOCHS)], folder).stdout, folder)
    return found


def _summaries(out: str) -> list[tuple[int, float, float, int, int]]:
    return [(int(e), float(t), float(v), int(c), int(n)) for e, t, v, c, n in SUMMARY.findall(out)]


def test_the_training_summary_on_2_processes_is_the_one_process_value_not_half(runs):
    one, two = _summaries(runs["one"][0]), _summaries(runs["two"][0])
    assert [s[0] for s in one] == [s[0] for s in two] == list(range(EPOCHS))
    for single, double in zip(one, two):
        assert double[1] == pytest.approx(single[1], rel=0.05), (single, double)


def test_a_sum_of_per_batch_means_on_2_processes_is_not_doubled(runs):
    one, two = _summaries(runs["one"][0]), _summaries(runs["two"][0])
    for single, double in zip(one, two):
        assert double[2] == pytest.approx(single[2], rel=0.05), (single, double)


def test_an_uneven_evaluation_set_on_2_processes_is_reported_as_not_exact(runs):
    one, two = _summaries(runs["one"][0]), _summaries(runs["two"][0])
    assert all(n == 255 for *_, n in one + two)
    assert "the DistributedSampler repeats up to processes - 1 samples" in runs["report"]


def test_a_file_written_every_epoch_is_written_once_on_2_processes(runs):
    for name in ("two", "torchrun"):
        folder = runs[name][1]
        lines = (folder / "epochs.txt").read_text().splitlines()
        assert lines == [f"epoch {e}" for e in range(EPOCHS)], (name, lines)
        assert (folder / "last.pt").exists()


def test_torchrun_without_devices_trains_one_world_of_2_processes(runs):
    out = runs["torchrun"][0]
    assert len(SUMMARY.findall(out)) == EPOCHS, out  # printed once, by process 0
    assert _summaries(out) == _summaries(runs["two"][0])  # the same world as --devices 2


def _logged(folder: Path) -> list[dict[str, str]]:
    found = sorted(folder.glob("lightning_logs/version_*/metrics.csv"))
    if not found:
        pytest.skip("Lightning logged elsewhere than to CSV (TensorBoard is installed)")
    return list(csv.DictReader(found[-1].open()))


def test_the_logger_gets_the_means_the_script_prints(runs):
    if runs["target"] == "fabric":
        pytest.skip("a Fabric conversion logs nothing")
    for name in ("one", "two"):
        out, folder = runs[name]
        rows = _logged(folder)
        printed = [v for _, _, v, _, _ in _summaries(out)]
        logged = [float(r["val_loss"]) for r in rows if r.get("val_loss")]
        assert logged == pytest.approx(printed, abs=5e-5), (name, rows)
        (test_loss,) = re.findall(r"test loss: ([\d.]+)", out)
        tested = [float(r["test_loss"]) for r in rows if r.get("test_loss")]
        assert tested == pytest.approx([float(test_loss)], abs=5e-5), (name, rows)
        epochs = [r["epoch"] for r in rows if r.get("train_loss_epoch")]
        assert epochs == [str(e) for e in range(EPOCHS)], (name, rows)
