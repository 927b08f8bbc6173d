"""`--callbacks`: a patience counter as Lightning's EarlyStopping, where it stops at the same epoch.

Goldens (tests/golden_callbacks/<case>.in.py -> .out.py): exact output, converting again changes
nothing, and training identical to the original (the same epochs, so the same losses and weights)
with every Lightning use and on 2 processes. Counters that must stay (tests/callbacks_kept/*.py,
each starting with `# kept: <words of the reason>`): the same conversion as without the flag.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from converter import convert_source

HERE = Path(__file__).parent
GOLDEN = HERE / "golden_callbacks"
CASES = sorted(p.name.removesuffix(".in.py") for p in GOLDEN.glob("*.in.py"))
KEPT = sorted((HERE / "callbacks_kept").glob("*.py"))


@pytest.mark.parametrize("case", CASES)
def test_conversion_matches_golden(case):
    result = convert_source((GOLDEN / f"{case}.in.py").read_text(), callbacks=True)
    assert result.code == (GOLDEN / f"{case}.out.py").read_text()
    (entry,) = [e for e in result.report.changed if e.kind == "callbacks"]
    assert "EarlyStopping(" in entry.message and entry.line >= 1


@pytest.mark.parametrize("case", CASES)
def test_converting_the_output_again_changes_nothing(case):
    converted = (GOLDEN / f"{case}.out.py").read_text()
    assert convert_source(converted, callbacks=True).code == converted


def test_the_counter_is_gone_and_the_metric_is_logged_in_float64():
    code = (GOLDEN / "accuracy_patience.out.py").read_text()
    assert "epochs_without_gain" not in code and "best_accuracy" not in code
    assert 'self.log("val_accuracy", torch.as_tensor(accuracy, dtype=torch.float64)' in code
    assert (
        'pl.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", '
        "patience=model.hparams.patience, check_finite=False)" in code
    )
    assert 'self.print(f"epoch {self.current_epoch}: accuracy {accuracy:.3f}")' in code


@pytest.mark.parametrize(
    "path", [*KEPT, HERE / "golden" / "early_stopping.in.py"], ids=lambda p: p.stem
)
def test_a_counter_that_is_not_exactly_early_stopping_stays(path):
    source = path.read_text()
    expected = (
        source.splitlines()[0].removeprefix("# kept:").strip()
        if source.startswith("# kept:")
        else "the check does more than stop"
    )
    result = convert_source(source, callbacks=True)
    assert result.changed and result.code == convert_source(source).code
    (kept,) = [e for e in result.report.found if e.kind == "callbacks"]
    assert expected in kept.message and kept.line >= 1, result.report.text()


@pytest.mark.training
@pytest.mark.parametrize("case", CASES)
def test_golden_stops_at_the_same_epoch_in_every_lightning_use(case, tmp_path):
    command = [
        sys.executable,
        "-m",
        "converter",
        "verify",
        str(GOLDEN / f"{case}.in.py"),
        "--callbacks",
        "--fake-data",
        "--lightning-uses",
        "--devices",
        "2",
        "--work-dir",
        str(tmp_path),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "note: the patience counter is now EarlyStopping" in run.stdout
    assert "EQUIVALENT" in run.stdout and "FAIL" not in run.stdout
