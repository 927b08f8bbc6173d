"""The fixtures (fixtures/mnist_classifier.py, fixtures/autoencoder.py) and their conversions.

* Golden: converting each fixture gives exactly fixtures/converted/<name>.py, and converting that
  again changes nothing.
* Training (``-m training``): ``torch2lightning verify`` (the real CLI, in a subprocess, with
  ``--work-dir`` so its logs can be read afterwards) converts each fixture and trains original and
  conversion side by side on the ``mnist_root`` images (2,000 train / 500 test, real MNIST where
  ../shared/data/mnist has it): every loss and every final weight identical, at least one full
  epoch, and the figures the scripts print (the classifier's test accuracy, the autoencoder's
  validation loss) equal between the two.
* The check can fail: the converted classifier with a doubled learning rate diverges at step 2.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from converter import convert_source

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "fixtures"
CONVERTED = FIXTURES / "converted"
NAMES = ("mnist_classifier", "autoencoder")
NAMES_RUN = ("original", "lightning")  # verify's names for the two runs and their logs

# The mnist_root fixture (tests/conftest.py): 2,000 training and 500 test images.
N_TRAIN = 2000
N_TEST = 500
BATCH_SIZE = 64  # both fixtures' training batch size
EPOCHS = {"mnist_classifier": 1, "autoencoder": 2}  # the autoencoder's num_epochs is fixed at 2
STEPS_PER_EPOCH = math.ceil(N_TRAIN / BATCH_SIZE)

# What the scripts print, found anywhere in their stdout (Lightning's progress bar shares the
# stream: a printed line may follow a progress bar's text on the same line).
TEST_SET = re.compile(r"Test set: Average loss: ([0-9.]+), Accuracy: (\d+)/(\d+) \((\d+)%\)")
VAL_LOSS = re.compile(r"Epoch \[(\d+)/(\d+)\], val loss: ([0-9.]+)")


# -- golden ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_fixture_converts_to_its_golden_file(name):
    source = (FIXTURES / f"{name}.py").read_text()
    result = convert_source(source, target="pytorch_lightning", filename=f"{name}.py")
    assert not result.report.declined, result.report.text()
    assert result.changed
    assert result.code == (CONVERTED / f"{name}.py").read_text(), (
        f"the conversion of fixtures/{name}.py changed; if that is intended, regenerate "
        f"fixtures/converted/{name}.py with converter.convert_source and review the diff"
    )


@pytest.mark.parametrize("name", NAMES)
def test_converting_the_golden_file_again_changes_nothing(name):
    converted = (CONVERTED / f"{name}.py").read_text()
    assert convert_source(converted, target="pytorch_lightning").code == converted


# -- training -------------------------------------------------------------------------------------


@dataclass
class Verified:
    """One `verify` run: its exit status and output, and the work folder it kept."""

    name: str
    run: subprocess.CompletedProcess
    work: Path

    def explain(self) -> str:
        return (
            f"verify {self.name}: exit {self.run.returncode}\n--- stdout\n{self.run.stdout}"
            f"\n--- stderr\n{self.run.stderr}"
        )

    def log(self, which: str) -> str:
        """The stdout of the ``original`` or ``lightning`` script, as verify kept it."""
        return (self.work / f"{which}.stdout.log").read_text(encoding="utf-8", errors="replace")


def run_verify(script: Path, work: Path, *options: str, env: dict | None = None, script_args=()):
    command = [
        sys.executable,
        "-m",
        "converter",
        "verify",
        str(script),
        *options,
        "--work-dir",
        str(work),
        "--",
        *script_args,
    ]
    return subprocess.run(
        command, cwd=work.parent, env=env, capture_output=True, text=True, timeout=900
    )


def _script_args(name: str, mnist_root: Path) -> list[str]:
    if name == "mnist_classifier":
        return ["--epochs", str(EPOCHS[name]), "--data-dir", str(mnist_root)]
    return []  # the autoencoder reads MNIST_DIR from its environment, which verify passes on


@pytest.fixture(scope="module")
def verified(mnist_root, tmp_path_factory) -> dict[str, Verified]:
    """Both fixtures through `torch2lightning verify` once; the tests below read the results."""
    env = dict(os.environ, MNIST_DIR=str(mnist_root))
    results = {}
    for name in NAMES:
        work = tmp_path_factory.mktemp(f"verify-{name}") / "work"
        run = run_verify(
            FIXTURES / f"{name}.py", work, env=env, script_args=_script_args(name, mnist_root)
        )
        results[name] = Verified(name, run, work)
    return results


@pytest.mark.training
@pytest.mark.parametrize("name", NAMES)
def test_conversion_trains_exactly_like_the_original(verified, name):
    v = verified[name]
    assert v.run.returncode == 0, v.explain()
    assert re.search(r"^EQUIVALENT: every loss \(\d+\), all \d+ tensors", v.run.stdout, re.M), (
        v.explain()
    )
    assert "largest loss difference: 0\n" in v.run.stdout, v.explain()
    assert re.search(r"largest weight difference: 0\n", v.run.stdout), v.explain()
    # verify converted the fixture itself (no --against): that is the committed golden file
    converted = (v.work / "converted" / f"{name}.py").read_text()
    assert converted == (CONVERTED / f"{name}.py").read_text()


@pytest.mark.training
@pytest.mark.parametrize("name", NAMES)
def test_every_step_of_every_epoch_was_compared(verified, name):
    from converter.verify import compare  # standard library only: no torch in this process

    v = verified[name]
    assert v.run.returncode == 0, v.explain()
    original, lightning = (compare.load(str(v.work / f"{w}.trace.json")) for w in NAMES_RUN)
    steps = STEPS_PER_EPOCH * EPOCHS[name]  # full epochs over all the training images
    for trace in (original, lightning):
        assert trace["status"] == "finished"
        assert trace["steps"] == steps
        assert len(trace["losses"]) == steps
    assert [e["value"] for e in original["losses"]] == [e["value"] for e in lightning["losses"]]
    assert f"optimizer steps: original {steps}, lightning {steps}" in v.run.stdout
    weights = compare.compare_weights(original, lightning, tolerance=0.0)
    assert weights.mismatch is None and not weights.differing and weights.max_diff == 0
    assert weights.tensors == 8  # four Linear/Conv layers' weights and biases in each fixture


@pytest.mark.training
def test_classifier_test_accuracy_is_the_same(verified):
    v = verified["mnist_classifier"]
    assert v.run.returncode == 0, v.explain()
    found = {which: TEST_SET.findall(v.log(which)) for which in NAMES_RUN}
    assert len(found["original"]) == EPOCHS["mnist_classifier"], v.log("original")
    assert len(found["lightning"]) == EPOCHS["mnist_classifier"], v.log("lightning")
    assert found["original"] == found["lightning"]
    for _loss, correct, total, _percent in found["original"]:
        assert int(total) == N_TEST
        assert int(correct) > N_TEST // 10  # it learned something: better than chance


@pytest.mark.training
def test_autoencoder_validation_loss_is_the_same(verified):
    v = verified["autoencoder"]
    assert v.run.returncode == 0, v.explain()
    found = {which: VAL_LOSS.findall(v.log(which)) for which in NAMES_RUN}
    epochs = EPOCHS["autoencoder"]
    expected_epochs = [(str(e), str(epochs)) for e in range(1, epochs + 1)]
    for which in NAMES_RUN:
        assert [(e, n) for e, n, _ in found[which]] == expected_epochs, v.log(which)
    assert found["original"] == found["lightning"]
    assert float(found["original"][-1][2]) < float(found["original"][0][2])  # it learned


def _printed_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.training
@pytest.mark.parametrize("name", NAMES)
def test_conversion_prints_the_same_lines_in_the_same_order(verified, name):
    v = verified[name]
    assert v.run.returncode == 0, v.explain()
    original, lightning = v.log("original"), v.log("lightning")
    position = 0
    for line in _printed_lines(original):  # each in order in the converted script's stdout
        found = lightning.find(line, position)
        assert found >= 0, f"{line!r} missing or out of order in\n{lightning}"
        position = found + len(line)


@pytest.mark.training
def test_verify_catches_a_doubled_learning_rate(mnist_root, tmp_path):
    converted = (CONVERTED / "mnist_classifier.py").read_text()
    original_lr = "optim.Adadelta(self.parameters(), lr=self.hparams.lr)"
    assert converted.count(original_lr) == 1
    altered = tmp_path / "altered" / "mnist_classifier.py"
    altered.parent.mkdir()
    altered.write_text(
        converted.replace(original_lr, "optim.Adadelta(self.parameters(), lr=2 * self.hparams.lr)")
    )
    run = run_verify(
        FIXTURES / "mnist_classifier.py",
        tmp_path / "work",
        "--against",
        str(altered),
        "--max-steps",
        "4",
        script_args=_script_args("mnist_classifier", mnist_root),
    )
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    # step 1's loss comes before any update; the first step with the doubled rate shows at step 2
    assert "DIVERGED at step 2: original loss " in out, out
    assert re.search(r"^\s+2\s.*<- first difference$", out, re.MULTILINE), out
    assert re.search(r"^\s+1\s+(\S+)\s+\1\s+0$", out, re.MULTILINE), out  # step 1 agrees
    assert "EQUIVALENT" not in out
