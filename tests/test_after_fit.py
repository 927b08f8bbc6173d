"""The trained module as a user goes on to use it (issue 19), checked on real runs of the
original and of its conversion (tests/after_fit/):

- after `trainer.fit` and after `trainer.test` the model is in the mode the original left it
  in, holds the same gradients, and predicts the same (dropout off where the original's last
  evaluation switched it off); a loop that zeroes its gradients after each step leaves none;
- a model put in eval mode before training (to size a lazy layer) still trains in train mode;
- `Net.load_from_checkpoint(path)` alone tests to the same numbers as the trained module (its
  loss function and settings come back), and `trainer.predict` returns the model's outputs;
- a learning rate passed to a training function that is called twice is a saved
  hyper-parameter that configure_optimizers reads back after a reload.

Each script runs in a subprocess, in a folder of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from converter import convert_source

CASES = Path(__file__).parent / "after_fit"
pytestmark = pytest.mark.training


def _run(command, cwd: Path) -> subprocess.CompletedProcess:
    environment = dict(os.environ, OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    run = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=600, env=environment
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    return run


def _converted(name: str, folder: Path) -> Path:
    result = convert_source((CASES / name).read_text(), filename=name)
    assert not result.report.declined, result.report.text()
    script = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    script.write_text(result.code)
    return script


def _after(script: Path) -> dict:
    """Runs the script in its folder; what it wrote to after.json."""
    _run([sys.executable, script.name], script.parent)
    return json.loads((script.parent / "after.json").read_text())


@pytest.mark.parametrize("name", ["evaluated.py", "zeroed_after_step.py"])
def test_the_model_after_training_is_as_the_original_left_it(name, tmp_path):
    original = tmp_path / "original" / name
    original.parent.mkdir()
    original.write_text((CASES / name).read_text())
    expected = _after(original)
    assert _after(_converted(name, tmp_path / "lightning")) == expected


def test_a_model_put_in_eval_mode_before_training_still_trains_in_train_mode(tmp_path):
    name = "sized_in_eval_mode.py"
    converted = _converted(name, tmp_path)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "converter",
            "verify",
            str(CASES / name),
            "--against",
            str(converted),
            "--work-dir",
            str(tmp_path / "work"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert "largest loss difference: 0\n" in run.stdout
    assert run.stdout.splitlines()[-1].startswith("EQUIVALENT"), run.stdout


RELOAD = """\
import glob
import importlib.util
import json

import pytorch_lightning as pl
import torch

spec = importlib.util.spec_from_file_location("converted", "evaluated.py")
converted = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converted)  # defines Net; main() runs only as __main__

(checkpoint,) = glob.glob("lightning_logs/version_0/checkpoints/*.ckpt")
model = converted.Net.load_from_checkpoint(checkpoint)
_, _, test_loader = converted.data()
trainer = pl.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
trainer.test(model, dataloaders=test_loader, verbose=False)
predicted = trainer.predict(model, dataloaders=test_loader)
model.eval()
with torch.no_grad():
    direct = [model(x) for x, _ in test_loader]
print("hyper-parameters", json.dumps(dict(model.hparams), sort_keys=True))
print("criterion", type(model.criterion).__name__)
print("predicted as forward", all(torch.equal(p, d) for p, d in zip(predicted, direct)))
"""


def test_a_checkpoint_alone_tests_as_the_trained_module_did_and_predicts(tmp_path):
    script = _converted("evaluated.py", tmp_path)
    trained = _run([sys.executable, script.name], tmp_path)
    tested = [line for line in trained.stdout.splitlines() if line.startswith("test ")]
    assert len(tested) == 1, trained.stdout
    (tmp_path / "reload.py").write_text(RELOAD)
    reloaded = _run([sys.executable, "reload.py"], tmp_path).stdout
    assert [line for line in reloaded.splitlines() if line.startswith("test ")] == tested
    assert 'hyper-parameters {"hidden": 8, "log_every": 2}' in reloaded
    assert "criterion MSELoss" in reloaded
    assert "predicted as forward True" in reloaded


RELOAD_RATE = """\
import glob
import importlib.util

spec = importlib.util.spec_from_file_location("converted", "rate_per_run.py")
converted = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converted)
for checkpoint in sorted(glob.glob("lightning_logs/version_*/checkpoints/*.ckpt")):
    model = converted.Net.load_from_checkpoint(checkpoint)
    print("lr", model.hparams.lr, model.configure_optimizers().param_groups[0]["lr"])
"""


def test_a_rate_handed_to_a_function_called_twice_is_saved_and_read_back(tmp_path):
    script = _converted("rate_per_run.py", tmp_path)
    assert "ignore=" not in script.read_text()
    _run([sys.executable, script.name], tmp_path)
    (tmp_path / "reload.py").write_text(RELOAD_RATE)
    reloaded = _run([sys.executable, "reload.py"], tmp_path).stdout
    assert reloaded.splitlines() == ["lr 0.1 0.1", "lr 0.01 0.01"], reloaded
