"""``verify --lightning-uses``: the conversion used as a Lightning user goes on to use it.

eval_lightning.py (tests/verify_cases/) is faithful to eval_plain.py and works in every use;
``--broken`` breaks one use at a time where the plain script has nothing to compare with: no
predict_step, a setting a checkpoint does not restore, a logged sum beside a printed mean.
"""

from __future__ import annotations

import json

import pytest

from converter.verify import uses
from tests.test_verify import CASES, explain, needs_lightning, verify

ALL_USES = [
    "validate a fresh module",
    "test a fresh module",
    "predict a fresh module",
    "fit with the default sanity check and check_val_every_n_epoch=2",
    "validate the trained module",
    "validate: logged = printed",
    "test the trained module",
    "test: logged = printed",
    "predict the trained module",
    "load_from_checkpoint (Net)",
    "validate the module reloaded from a checkpoint",
    "validate the reloaded module like the trained one",
    "test the module reloaded from a checkpoint",
    "test the reloaded module like the trained one",
    "predict the module reloaded from a checkpoint",
    "predict the reloaded module like the trained one",
]


def _uses(tmp_path, *script_args):
    result = verify(
        CASES / "eval_plain.py",
        "--against",
        CASES / "eval_lightning.py",
        "--lightning-uses",
        "--json",
        "--",
        *script_args,
        cwd=tmp_path,
    )
    return result, json.loads(result.stdout)


@pytest.mark.training
@needs_lightning
def test_a_faithful_module_works_in_every_use(tmp_path):
    result, report = _uses(tmp_path)
    assert result.returncode == 0, explain(result)
    checks = report["lightning_uses"]["checks"]
    assert [c["check"] for c in checks] == ALL_USES
    assert {c["status"] for c in checks} == {"ok"}, checks


@pytest.mark.training
@needs_lightning
def test_each_broken_use_is_named_with_its_line(tmp_path):
    result, report = _uses(tmp_path, "--broken", "predict,reload,logged")
    assert result.returncode == 1, explain(result)
    assert report["losses"]["max_difference"] == 0  # trains and prints like the original
    failed = {c["check"]: c["detail"] for c in report["lightning_uses"]["checks"]}
    failed = {k: v for k, v in failed.items() if v and not v.startswith("skipped")}
    assert failed["predict a fresh module"].startswith("TypeError")
    assert "predict the trained module" in failed
    reload = failed["validate the module reloaded from a checkpoint"]
    assert "'NoneType'" in reload and "(line " in reload and "self.scale" in reload
    assert failed["validate: logged = printed"].startswith("the logger gets val_loss = ")
    assert "validate a fresh module" not in failed
    assert report["message"].startswith("A LIGHTNING USE FAILS: ")


@pytest.mark.training
@needs_lightning
def test_lightnings_own_predict_step_that_does_not_fit_the_batch_is_a_skip(tmp_path):
    """Predicting on the training loader is verify's guess, not the script's: where the
    conversion has no predict_step (its report says why), a crash of Lightning's own is said,
    not counted as a failure."""
    result, report = _uses(tmp_path, "--broken", "nopredict")
    assert result.returncode == 0, explain(result)
    rows = {c["check"]: c for c in report["lightning_uses"]["checks"]}
    fresh = rows["predict a fresh module"]
    assert fresh["status"] == "skip", fresh
    assert fresh["detail"].startswith("no predict_step (TypeError"), fresh
    assert rows["validate the trained module"]["status"] == "ok"


def test_logged_values_are_found_as_printed():
    def unprinted(metrics, text):
        return uses._unprinted([metrics], text)

    printed = "Test set: Average loss: 1.6810, Accuracy: 143/256 (56%)\n"
    assert unprinted({"val_loss": 1.68104, "val_acc": 143 / 256}, printed) == ""
    assert unprinted({"val_acc": 0.5586}, printed) == ""  # the percentage
    assert unprinted({"correct": 143}, printed) == ""
    assert "val_loss = 430.3" in unprinted({"val_loss": 430.3}, printed)  # a sum
    assert unprinted({"val_loss": 1.0}, "") is None  # nothing printed: nothing to compare
    # a double printed in full, logged by Lightning as float32
    assert unprinted({"test_total": 0.8024145364761353}, "test 0.8024145662784576\n") == ""
    assert unprinted({"test_total": 0.80242}, "test 0.8024145662784576\n") != ""


BLOCK_ARGUMENT = """
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)

    def forward(self, x):
        return torch.relu(self.fc(x))


class Net(nn.Module):
    def __init__(self, block, width=4):
        super().__init__()
        self.body = block(width)
        self.head = nn.Linear(width, 1)

    def forward(self, x):
        return self.head(self.body(x))


torch.manual_seed(0)
data = list(zip(torch.randn(32, 4), torch.randn(32, 1)))
loader = torch.utils.data.DataLoader(data, batch_size=8)
model = Net(Block)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
"""


@pytest.mark.training
@needs_lightning
def test_a_class_argument_is_given_again_as_the_module_was_constructed(tmp_path):
    """`Net(Block)`: a class is no hyper-parameter (the conversion leaves it out of
    save_hyperparameters); another script reloads with `load_from_checkpoint(path, block=Block)`,
    and so does verify, from what the module was constructed with."""
    script = tmp_path / "block.py"
    script.write_text(BLOCK_ARGUMENT)
    result = verify(script, "--lightning-uses", "--json", cwd=tmp_path)
    assert result.returncode == 0, explain(result)
    rows = {c["check"]: c["status"] for c in json.loads(result.stdout)["lightning_uses"]["checks"]}
    assert rows["load_from_checkpoint (Net, given block again)"] == "ok", rows
    assert rows["predict the reloaded module like the trained one"] == "ok", rows


@pytest.mark.training
@needs_lightning
def test_the_originals_own_failure_after_fit_unseen_under_max_steps_is_a_skip(tmp_path):
    script = CASES / "bug_after_training.py"
    result = verify(script, "--max-steps", "3", "--lightning-uses", cwd=tmp_path)
    assert result.returncode == 0, explain(result)
    assert "skip  the script after fit: RuntimeError: Can't call numpy()" in result.stdout
    assert "stopped by --max-steps, never reached" in result.stdout


def test_an_error_after_fit_in_code_the_conversion_changed_still_fails():
    unseen = uses.Unseen("RuntimeError: boom", 12, "print(x.numpy())")
    trace = {"uses": [{"check": "fit with the default sanity check", "printed": ""}]}
    assert uses.judge(trace, unseen).rows[-1][0] == uses.SKIPPED
    assert uses.judge(trace, "RuntimeError: boom").rows[-1] == (
        uses.FAILED,
        "the script after fit",
        "RuntimeError: boom",
    )


def test_a_uses_run_that_runs_out_of_time_is_not_judged():
    trace = {"uses": [{"check": "predict a fresh module", "printed": ""}]}
    rows = uses.judge(trace, "it did not finish in time (--timeout)", timed_out=True).rows
    assert rows[-1] == (
        uses.SKIPPED,
        "the rest of the uses",
        "it did not finish in time (--timeout): not judged",
    )
    assert uses.judge(trace, "it did not finish in time (--timeout)", timed_out=True).equivalent
