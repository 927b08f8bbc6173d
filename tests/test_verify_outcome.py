"""verify compares the whole outcome a script leaves behind, not only its losses and the stepped
weights: every module's tensors (buffers, copies outside the optimizer), modes and gradients, the
optimizers' state, the files it writes; and it tells a clock's lines from a real difference by
running the original a second time.

The pair in tests/verify_cases/outcome/: plain.py and a faithful hand-written Lightning version,
whose switches (``UNFAITHFUL=mode,grads,...``) each make it differ in one way that its losses do
not show.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from converter.verify import outcome, printed
from tests.test_verify import CASES, explain, needs_lightning, verify

PAIR = CASES / "outcome"

pytestmark = [pytest.mark.training, needs_lightning]


def run_pair(tmp_path: Path, unfaithful: str = ""):
    result = verify(
        PAIR / "plain.py",
        "--against",
        PAIR / "lightning.py",
        "--json",
        cwd=tmp_path,
        env={"UNFAITHFUL": unfaithful},
    )
    return result, json.loads(result.stdout)


def test_faithful_conversion_is_equivalent_and_clock_lines_are_no_evidence(tmp_path):
    result, report = run_pair(tmp_path)
    assert result.returncode == 0, explain(result)
    left = report["outcome"]
    assert (left["modules"], left["tensors"], left["buffers"]) == (2, 18, 6)
    assert left["gradients"] == 6 and left["submodules"] == 10
    assert left["files"] == ["ema.pt", "model.pt", "predictions.csv"]  # not lightning_logs/
    # the date and the elapsed time differ between two runs of the original itself
    assert report["printed"]["varying_lines"] == [1, 2]
    assert "all 18 tensors of 2 modules with their modes and gradients" in report["message"]
    assert "3 saved files and 2 printed lines identical" in report["message"]
    assert "differ between two runs of the original itself" in result.stderr


def test_each_difference_the_losses_do_not_show_is_a_divergence(tmp_path):
    result, report = run_pair(tmp_path, "mode,grads,momentum,ema,file,missing")
    assert result.returncode == 1, explain(result)
    assert report["losses"]["max_difference"] == 0  # training itself is identical
    found = "\n".join(report["outcome"]["differences"])
    expected = [
        "Net is left in eval mode by the original, in train mode by the conversion",
        "the gradient of Net.fc1.weight: the original has one, the conversion has none",
        "Net.bn.running_mean differs",  # BatchNorm momentum: buffers outside the optimizer
        "Net #2.fc1.weight differs",  # the EMA copy, held outside the optimizer
        "file ema.pt: fc2.bias",  # ...and the file it is saved to, compared as tensors
        "file predictions.csv: line 1",  # predictions made in train mode: dropout on
        "file extra.txt: written by the conversion, not by the original",
        "file model.pt: written by the original, not by the conversion",
    ]
    for problem in expected:
        assert problem in found, problem + "\n" + explain(result)
    assert report["message"].startswith("DIVERGED in what the scripts leave behind")


# -- the comparison itself, on hand-made dumps (no training) --------------------------------


def _dump(tmp_path: Path, name: str, modules, files=()) -> dict:
    (tmp_path / f"{name}.outcome.bin").write_bytes(b"")
    return {
        "_bin": str(tmp_path / f"{name}.bin"),
        "holdings": {"modules": modules, "optimizers": [], "left_out": 0},
        "written": list(files),
    }


def _module(cls, submodules, tensors=()):
    return {"class": cls, "submodules": submodules, "devices": ["cpu"], "tensors": list(tensors)}


def test_a_module_is_found_inside_a_generated_wrapper(tmp_path):
    inner = [["", "ResNet", False], ["fc", "Linear", False]]
    original = _dump(tmp_path, "a", [_module("ResNet", inner)])
    wrapped = [["", "LitResNet", True], ["model", "ResNet", False], ["model.fc", "Linear", True]]
    converted = _dump(tmp_path, "b", [_module("LitResNet", wrapped)])
    found = outcome.compare(original, converted, 0.0)
    assert found.modules == 1 and found.submodules == 2
    assert list(found.problems.values()) == [
        "ResNet is left in eval mode by the original, in train mode by the conversion "
        "(1 submodule, first fc): code after training (predictions, exports) would run in "
        "train mode (dropout, batch norm)"
    ]


def test_modes_are_not_compared_where_max_steps_stopped_a_run_mid_training(tmp_path):
    """The original set eval mode in an earlier epoch and never set train mode again; Lightning
    trains each epoch in train mode. Stopped mid-training, no code after training runs."""
    original = _dump(tmp_path, "a", [_module("Net", [["", "Net", False]])])
    converted = _dump(tmp_path, "b", [_module("Net", [["", "Net", True]])])
    assert "module Net: mode" in outcome.compare(original, converted, 0.0).problems
    original["status"] = converted["status"] = "stopped"
    found = outcome.compare(original, converted, 0.0)
    assert found.problems == {}
    assert found.notes == ["modes not compared: a run was stopped mid-training (--max-steps)"]


def test_a_module_the_conversion_lacks_is_named(tmp_path):
    original = _dump(tmp_path, "a", [_module("EMA", [["", "EMA", True]])])
    converted = _dump(tmp_path, "b", [])
    found = outcome.compare(original, converted, 0.0)
    assert found.problems == {
        "module EMA": "EMA (0 tensors) is not held by the conversion at the end"
    }


def test_what_varies_between_two_runs_of_the_original_is_not_evidence(tmp_path):
    text = {"path": "log.txt", "size": 1, "sha256": "x", "text": "took 1.5 s\nloss 0.25\n"}
    original = _dump(tmp_path, "a", [], [text])
    converted = _dump(tmp_path, "b", [], [{**text, "sha256": "y", "text": "took 2 s\nloss 0.5\n"}])
    again = _dump(tmp_path, "c", [], [{**text, "sha256": "z", "text": "took 9 s\nloss 0.25\n"}])
    found = outcome.compare(original, converted, 0.0, again)
    assert list(found.problems) == ["file log.txt: line 2"]
    assert found.varying == [
        "file log.txt: line 1 is 'took 1.5 s' in the original's, 'took 2 s' in the conversion's"
    ]


def test_printed_numbers_that_vary_are_masked_one_by_one():
    first = ["epoch 1 loss 0.25 took 1.2 s", "Mon Dec 7 10:00:01 2026"]
    second = ["epoch 1 loss 0.25 took 71.9 s", "Tue Jan 11 11:01:02 2028"]
    varies = printed.varying(first, second)
    assert varies == {0: frozenset({2}), 1: printed.WHOLE_LINE}
    same = printed.compare_lines(first, ["epoch 1 loss 0.25 took 3.0 s", "Thu"], 0.0, varies=varies)
    assert same.equivalent
    other = printed.compare_lines(first, ["epoch 1 loss 0.5 took 1.2 s", "x"], 0.0, varies=varies)
    assert other.first_diff == 0
    assert printed.varying(first, second[:1]) is None  # nothing can be lined up


def test_an_original_that_trains_differently_each_run_cannot_be_judged(tmp_path):
    script = PAIR / "clock_seeded.py"
    result = verify(script, "--against", script, "--json", cwd=tmp_path)
    assert result.returncode == 2, explain(result)
    assert json.loads(result.stdout)["verdict"] == "not-reproducible"
    assert "the original trains differently in a second run with the same seed" in result.stderr


def test_a_file_named_by_the_clock_is_compared_with_its_counterpart(tmp_path):
    def named(path, text):
        return {"path": path, "size": 1, "sha256": text, "text": text}

    original = _dump(tmp_path, "a", [], [named("ckpt_2026-12-07_03-19-50.txt", "w 1\n")])
    converted = _dump(tmp_path, "b", [], [named("ckpt_2026-12-07_03-20-11.txt", "w 2\n")])
    again = _dump(tmp_path, "c", [], [named("ckpt_2028-01-11_04-20-52.txt", "w 1\n")])
    found = outcome.compare(original, converted, 0.0, again)
    assert found.files == ["ckpt_2026-12-07_03-19-50.txt"]
    assert list(found.problems) == ["file ckpt_2026-12-07_03-19-50.txt: line 1"]  # the content
    assert found.varying == [
        "file ckpt_2026-12-07_03-19-50.txt is named ckpt_2026-12-07_03-20-11.txt by the conversion"
    ]
