"""`torch2lightning verify` beyond losses and weights: what the scripts print, the evaluation on
several processes (--devices), and the GPU mode's command-line side (CI has no GPU).

The training cases are in tests/verify_cases/ (see each file's docstring); every verify runs as a
user runs it, ``python -m converter verify ...`` in a subprocess, with real training and, for
--devices, real DDP processes on the CPU (gloo).
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from converter.verify import printed
from converter.verify.capture import Capture
from tests.test_verify import CASES, explain, needs_lightning, verify

# -- printed lines, no training --------------------------------------------------------------


def test_lines_drop_blank_lines_trailing_spaces_and_overwritten_text():
    segments = [[None, "\nTest set: 83/250  \n\n"], ["validate 1", "50%\r100%\nlast"]]
    assert printed.lines(segments) == ["Test set: 83/250", "100%", "last"]
    assert printed.lines(segments, "validate 1") == ["100%", "last"]


def test_numbers_exact_by_default_and_within_tolerance_or_last_digit():
    assert printed.lines_agree("loss 0.1234, acc 83/250", "loss 0.1234, acc 83/250", 0)
    assert not printed.lines_agree("loss 0.1234", "loss 0.1235", 0)
    # with a tolerance, a value rounded either side of a printed digit agrees...
    assert printed.lines_agree("loss 0.1234", "loss 0.1235", 1e-5)
    assert printed.lines_agree("loss 1.00000012", "loss 1.00000013", 1e-6)
    # ...but not two digits off, nor an integer count off by one, nor other words
    assert not printed.lines_agree("loss 0.1234", "loss 0.1236", 1e-5)
    assert not printed.lines_agree("acc 83/250", "acc 84/250", 1e-5)
    assert not printed.lines_agree("val loss 0.1234", "test loss 0.1234", 1e-5)
    assert printed.lines_agree("lr 1e-05", "lr 1.0000001e-05", 1e-5)


def test_object_addresses_agree_whatever_they_are_and_nothing_else_does():
    a, b = "<PowBackward0 object at 0x7fa0d8deb790>", "<PowBackward0 object at 0x7fa5e75ff850>"
    assert printed.lines_agree(a, b, 0)
    assert not printed.lines_agree(a, b.replace("Pow", "Mul"), 0)
    assert not printed.lines_agree("id 0x7fa0d8deb790", "id 0x7fa5e75ff850", 0)  # no repr


def test_stopped_runs_compare_the_common_prefix_only():
    a, b = ["epoch 1: 0.5", "epoch 2: 0.4"], ["epoch 1: 0.5"]
    assert not printed.compare_lines(a, b, 0).equivalent  # a missing line is a difference
    stopped = printed.compare_lines(a, b, 0, prefix_only=True)
    assert stopped.equivalent and stopped.compared == 1
    assert "up to the shorter output" in printed.describe(stopped, ("original", "lightning"))[0]
    assert not printed.compare_lines(a, ["epoch 1: 0.6"], 0, prefix_only=True).equivalent


@pytest.mark.parametrize(
    ("original", "converted"),
    [
        (
            "Namespace(epochs=2, lr=0.1)",
            "Namespace(epochs=2, lr=0.1, accelerator='auto', devices='auto', num_nodes=1, "
            "precision='32-true')",
        ),
        ("{'lr': 0.1}", "{'lr': 0.1, 'accelerator': 'auto', 'strategy': 'auto'}"),
        ("Namespace(lr=0.1, devices=2)", "Namespace(lr=0.1, devices=2)"),  # the script's own
    ],
)
def test_printed_arguments_agree_but_for_the_conversions_scaling_flags(original, converted):
    assert printed.lines_agree(original, converted, 0.0)


@pytest.mark.parametrize(
    ("original", "converted"),
    [
        ("Namespace(lr=0.1)", "Namespace(lr=0.2, devices='auto')"),  # another value
        ("Namespace(lr=0.1)", "Namespace(lr=0.1, seed=1, devices='auto')"),  # another entry
        ("Namespace(lr=0.1, devices=2)", "Namespace(lr=0.1)"),  # lost from the original
    ],
)
def test_printed_arguments_still_differ_otherwise(original, converted):
    assert not printed.lines_agree(original, converted, 0.0)


def test_capture_keeps_the_scripts_writes_and_not_lightnings_loggers_nor_progress_bars():
    tqdm = pytest.importorskip("tqdm")
    real = io.StringIO()
    capture = Capture(real)
    handler = logging.StreamHandler(capture)
    loggers = [logging.getLogger(n) for n in ("lightning.pytorch.t2l_test", "t2l_user_app")]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.INFO)
    old, sys.stdout = sys.stdout, capture
    try:
        print("mine")
        loggers[0].info("GPU available: False")  # Lightning's logger
        loggers[1].info("my log line")  # the script's own logger
        bar = tqdm.tqdm(range(3), file=capture, mininterval=0)
        for _ in bar:
            tqdm.tqdm.write("written through the bar", file=capture)
        bar.close()
    finally:
        sys.stdout = old
        for logger in loggers:
            logger.removeHandler(handler)
    assert (
        printed.lines(capture.segments) == ["mine", "my log line"] + ["written through the bar"] * 3
    )
    assert "GPU available" in real.getvalue() and "100%" in real.getvalue()  # still shown


# -- printed lines, training -----------------------------------------------------------------


@pytest.mark.training
@needs_lightning
@pytest.mark.parametrize(
    ("case", "first"),
    [
        ("lightning_extra_print.py", "lightning 'training starts'"),
        ("lightning_loss_behind.py", "lightning 'epoch 0: loss 0.4735'"),
    ],
)
def test_a_printed_difference_diverges_although_training_is_identical(tmp_path, case, first):
    result = verify(CASES / "plain_train.py", "--against", CASES / case, cwd=tmp_path)
    assert result.returncode == 1, explain(result)
    assert "largest loss difference: 0\n" in result.stdout
    assert "largest weight difference: 0\n" in result.stdout
    assert "printed output differs at line 1" in result.stdout
    verdict = result.stdout.splitlines()[-2]
    assert verdict.startswith("DIVERGED: printed line 1: original 'epoch 0: loss 0.5871',")
    assert verdict.endswith(first)


@pytest.mark.training
@needs_lightning
def test_lightnings_own_lines_on_stdout_are_not_the_scripts(tmp_path):
    work = tmp_path / "work"
    result = verify(
        CASES / "plain_train.py",
        "--against",
        CASES / "lightning_logs_to_stdout.py",
        "--work-dir",
        work,
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, explain(result)
    found = json.loads(result.stdout)
    assert found["verdict"] == "equivalent"
    assert found["printed"] == {
        "original": 4,
        "lightning": 4,
        "compared": 4,
        "first_difference_line": None,
        "varying_lines": [],
    }
    log = (work / "lightning.stdout.log").read_text()
    assert "GPU available" in log and "Total params" in log  # on stdout, told apart


# -- --devices ---------------------------------------------------------------------------------


def _devices(tmp_path, mode: str):
    return verify(
        CASES / "eval_plain.py",
        "--against",
        CASES / "eval_lightning.py",
        "--devices",
        "2",
        "--",
        "--mode",
        mode,
        cwd=tmp_path,
    )


@pytest.mark.training
@needs_lightning
def test_devices_2_passes_when_metrics_are_reduced_and_printed_once(tmp_path):
    result = _devices(tmp_path, "synced")
    assert result.returncode == 0, explain(result)
    assert "printed output: 7 lines compared (original 7, lightning 7): the same" in result.stdout
    assert "validate: 1 line printed, 2 logged metrics (val_acc, val_loss)" in result.stdout
    assert "training summary: 1 line printed, 0 logged metrics" in result.stdout
    assert "test: 1 line printed, 2 logged metrics (test_acc, test_loss)" in result.stdout
    assert "the same on 2 processes: printed once, metrics reduced" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("EQUIVALENT")


@pytest.mark.training
@needs_lightning
def test_devices_2_fails_when_each_process_prints_and_logs_its_own_shard(tmp_path):
    result = _devices(tmp_path, "per_shard")
    assert result.returncode == 1, explain(result)
    assert "printed output: 7 lines compared" in result.stdout  # one process: all agree
    out = result.stdout
    assert "! validate: what rank 0 printed differs from 1 process" in out
    assert "! validate: rank 1 printed too" in out
    assert "! validate: logged val_loss = " in out and "sync_dist=True" in out
    # the epoch's training loss summed on each process's half, divided by the whole
    assert "! training summary: what rank 0 printed differs from 1 process" in out
    assert "! training summary: rank 1 printed too" in out
    assert "! rank 1 wrote model.pt too" in out  # every process saves after training
    assert "DIVERGED on 2 processes: validate: what rank 0 printed differs" in out


@pytest.mark.training
@needs_lightning
def test_devices_2_fails_when_every_process_prints_the_reduced_line(tmp_path):
    result = _devices(tmp_path, "twice")
    assert result.returncode == 1, explain(result)
    assert "what rank 0 printed differs" not in result.stdout  # the numbers are right
    assert "logged val_loss" not in result.stdout
    assert "! validate: rank 1 printed too (1 line, first: 'epoch 0 validation:" in result.stdout
    assert "! test: rank 1 printed too" in result.stdout
    assert "print once (self.print, or rank zero only)" in result.stdout


def test_devices_needs_the_cpu(tmp_path):
    result = verify(CASES / "eval_plain.py", "--devices", "2", "--accelerator", "gpu", cwd=tmp_path)
    assert result.returncode == 2, explain(result)
    assert "--devices N runs N CPU processes" in result.stderr


# -- GPU mode: its plumbing (CI has no GPU) ----------------------------------------------------


@pytest.mark.training
@needs_lightning
def test_gpu_mode_without_a_gpu_says_so_and_exits_2(tmp_path):
    result = verify(
        CASES / "plain_train.py",
        "--against",
        CASES / "lightning_train.py",
        "--accelerator",
        "gpu",
        "--json",
        cwd=tmp_path,
        env={"CUDA_VISIBLE_DEVICES": ""},  # no GPU, even on a machine that has one
    )
    assert result.returncode == 2, explain(result)
    assert "--accelerator gpu: torch sees no GPU here" in result.stderr
    found = json.loads(result.stdout)
    assert found["verdict"] == "no-gpu" and found["tolerance"] == 1e-5
    assert "Traceback" not in result.stderr


ROOT = Path(__file__).resolve().parents[1]
PINNED = """\
from converter.verify import trainer_hooks
trainer_hooks.install(trainer_hooks.Plan(trainer={"accelerator": "gpu", "devices": 1}))
import pytorch_lightning as pl
pinned = pl.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False)
print("pinned:", type(pinned.accelerator).__name__)
try:
    pl.Trainer(logger=False, enable_checkpointing=False)
except Exception as error:
    print("forced:", type(error).__name__)
"""


@needs_lightning
def test_gpu_mode_leaves_a_trainer_pinned_to_the_cpu_there(tmp_path):
    """The converter writes accelerator="cpu" where the hooks call the script's functions on CPU
    tensors; GPU mode forces the GPU on every other Trainer (here: none, so that one fails)."""
    result = subprocess.run(
        [sys.executable, "-c", PINNED],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "pinned: CPUAccelerator" in result.stdout
    assert "forced: MisconfigurationException" in result.stdout
