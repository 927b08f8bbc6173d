"""A conversion stays correct where people use Lightning (issue 8), checked as a user would:

- the converted MNIST classifier, trained by a plain run, writes a checkpoint that
  `Net.load_from_checkpoint(path)` reloads (its hyper-parameters included) and validates;
- validating that checkpoint on 2 CPU processes prints the same accuracy line, once, as on one,
  and the validation metrics reach the logger (CSV) and `trainer.validate`'s result;
- `verify --devices 2` says the same of the conversion's evaluation;
- a run resumed from a checkpoint with `ckpt_path=` goes on with the loop's own state (an early
  stopping patience counter) where an uninterrupted run would be.

Real training, real checkpoints, real 2-process DDP (gloo) runs; each in a subprocess.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from converter import convert_source

ROOT = Path(__file__).resolve().parents[1]
CLASSIFIER = ROOT / "fixtures" / "converted" / "mnist_classifier.py"
pytestmark = pytest.mark.training

VALIDATE = """\
import importlib.util
import sys

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger
from torchvision import datasets, transforms

script, checkpoint, data_dir, devices, logs = sys.argv[1:6]
spec = importlib.util.spec_from_file_location("converted", script)
converted = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converted)  # defines Net; main() runs only as __main__

model = converted.Net.load_from_checkpoint(checkpoint)
transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
loader = torch.utils.data.DataLoader(
    datasets.MNIST(data_dir, train=False, transform=transform), batch_size=50
)
trainer = pl.Trainer(
    accelerator="cpu",
    devices=int(devices),
    strategy="ddp" if int(devices) > 1 else "auto",
    logger=CSVLogger(logs),
    enable_progress_bar=False,
    enable_model_summary=False,
)
results = trainer.validate(model, dataloaders=loader)
print("hyper-parameters", dict(model.hparams))
print("validate returned", sorted(results[0]))
if torch.distributed.is_initialized():  # gloo aborts at exit with a live process group
    torch.distributed.destroy_process_group()
"""


def _run(command, cwd, **env):
    environment = dict(os.environ, OMP_NUM_THREADS="1", **env)
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=900, env=environment
    )


@pytest.fixture(scope="module")
def trained(mnist_root, tmp_path_factory):
    """The converted classifier trained one epoch by a plain run, and the checkpoint it wrote."""
    work = tmp_path_factory.mktemp("plain-run")
    run = _run(
        [sys.executable, str(CLASSIFIER), "--epochs", "1", "--data-dir", str(mnist_root)], work
    )
    assert run.returncode == 0, run.stderr[-3000:]
    checkpoints = sorted(work.glob("lightning_logs/version_0/checkpoints/*.ckpt"))
    assert checkpoints, run.stderr[-3000:]
    return checkpoints[-1]


def _validate(trained, mnist_root, tmp_path, devices: int):
    driver = tmp_path / "validate.py"
    driver.write_text(VALIDATE)
    logs = tmp_path / f"logs{devices}"
    run = _run(
        [
            sys.executable,
            str(driver),
            str(CLASSIFIER),
            str(trained),
            str(mnist_root),
            str(devices),
            str(logs),
        ],
        tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout, logs


def test_a_checkpoint_reloads_with_its_hyperparameters_and_validates(trained, mnist_root, tmp_path):
    out, logs = _validate(trained, mnist_root, tmp_path, devices=1)
    assert "hyper-parameters {'lr': 1.0, 'gamma': 0.7, 'log_interval': 10}" in out
    assert "Test set: Average loss:" in out
    assert "validate returned ['val_accuracy', 'val_loss']" in out
    metrics = list(csv.DictReader((logs / "lightning_logs" / "version_0" / "metrics.csv").open()))
    assert metrics and {"val_loss", "val_accuracy"} <= set(metrics[0]), metrics


def test_validating_on_two_processes_prints_the_same_accuracy_once(trained, mnist_root, tmp_path):
    one, _ = _validate(trained, mnist_root, tmp_path, devices=1)
    two, _ = _validate(trained, mnist_root, tmp_path, devices=2)
    lines = [line for line in one.splitlines() if line.startswith("Test set")]
    assert len(lines) == 1, one
    assert [line for line in two.splitlines() if line.startswith("Test set")] == lines, two


def test_verify_devices_two_finds_the_evaluation_the_same(mnist_root, tmp_path):
    run = _run(
        [
            sys.executable,
            "-m",
            "converter",
            "verify",
            str(ROOT / "fixtures" / "mnist_classifier.py"),
            "--against",
            str(CLASSIFIER),
            "--fake-data",
            "--devices",
            "2",
            "--max-steps",
            "5",
            "--work-dir",
            str(tmp_path),
            "--",
            "--epochs",
            "1",
        ],
        ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert "the same on 2 processes: printed once, metrics reduced" in run.stdout


PATIENCE = """\
import sys

import torch
from torch import nn


def data():
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = x.sum(1, keepdim=True) + 0.5 * torch.randn(64, 1)
    pairs = torch.utils.data.TensorDataset
    train = torch.utils.data.DataLoader(pairs(x[:48], y[:48]), batch_size=16)
    val = torch.utils.data.DataLoader(pairs(x[48:], y[48:]), batch_size=16)
    return train, val


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 1)

    def forward(self, x):
        return self.layer(x)


def main(epochs):
    train_loader, val_loader = data()
    model = Regressor()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
    best, bad = float("inf"), 0
    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        val_loss = 0.0
        with torch.no_grad():
            for x, y in val_loader:
                val_loss += nn.functional.mse_loss(model(x), y).item()
        if val_loss < best - 0.01:
            best, bad = val_loss, 0
        else:
            bad += 1
        print("state", epoch, round(best, 6), bad)


if __name__ == "__main__":
    main(int(sys.argv[1]))
"""

RESUME = """\
import importlib.util
import sys

import pytorch_lightning as pl

spec = importlib.util.spec_from_file_location("converted", sys.argv[1])
converted = importlib.util.module_from_spec(spec)
spec.loader.exec_module(converted)
train_loader, val_loader = converted.data()
model = converted.Regressor()
trainer = pl.Trainer(max_epochs=int(sys.argv[3]), num_sanity_val_steps=0, enable_progress_bar=False)
trainer.fit(model, train_loader, val_loader, ckpt_path=sys.argv[2])
"""


def _states(out: str) -> list[str]:
    """The printed `state ...` lines (printed during validation, a progress bar's text may come
    first on the same line)."""
    return [line[line.index("state ") :] for line in out.splitlines() if "state " in line]


def test_a_resumed_run_goes_on_with_the_loops_own_state(tmp_path):
    result = convert_source(PATIENCE, filename="patience.py")
    assert not result.report.declined, result.report.text()
    assert "def on_load_checkpoint" in result.code
    script = tmp_path / "patience_pl.py"
    script.write_text(result.code)
    whole = _run([sys.executable, str(script), "8"], tmp_path / ".")
    assert whole.returncode == 0, whole.stderr[-3000:]
    expected = _states(whole.stdout)
    assert len(expected) == 8

    first = tmp_path / "first"
    first.mkdir()
    part = _run([sys.executable, str(script), "4"], first)
    assert part.returncode == 0, part.stderr[-3000:]
    (checkpoint,) = first.glob("lightning_logs/version_0/checkpoints/*.ckpt")
    driver = tmp_path / "resume.py"
    driver.write_text(textwrap.dedent(RESUME))
    resumed = _run([sys.executable, str(driver), str(script), str(checkpoint), "8"], first)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    states = _states(resumed.stdout)
    assert states == expected[4:], (states, expected)


# -- the Lightning uses of a conversion beyond the script's own fit (issue 19) ------------------

GOLDEN = ROOT / "tests" / "golden"
USES = ("every2", "validate")
# Conversions whose epoch summary reads the training's state and the validation's results.
SUMMARIES = {
    "returned_metrics": ["--epochs", "2"],  # the wrap-up (train loss) before evaluating
    "progress_bar_variable": [],  # the evaluation's own report reads the training loss
    "early_stopping": [],  # a patience check after evaluating
}


def _use(mode, script, args, cwd):
    command = [sys.executable, "-m", "tests.support.lightning_use", mode, str(script), *args]
    return _run(command, cwd, PYTHONPATH=str(ROOT), PYTHONWARNINGS="ignore")


@pytest.mark.parametrize("mode", USES)
@pytest.mark.parametrize("case", sorted(SUMMARIES))
def test_a_conversion_runs_in_each_lightning_use(case, mode, tmp_path):
    """The default sanity check with check_val_every_n_epoch=2, and trainer.validate alone (fresh
    and after fit) run: each hook reads only its own loop's state."""
    run = _use(mode, GOLDEN / f"{case}.out.py", SUMMARIES[case], tmp_path)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    if mode == "validate":
        assert run.stdout.count("VALIDATE [") == 2, run.stdout


def test_the_default_sanity_check_prints_nothing_of_its_own(tmp_path):
    """Where validation only computes, the conversion keeps Lightning's sanity check, and prints
    exactly the original's lines: the epoch's summary runs in fit's validations only."""
    converted = GOLDEN / "returned_metrics.out.py"
    assert "num_sanity_val_steps" not in converted.read_text()
    args = SUMMARIES["returned_metrics"]
    original = _run([sys.executable, str(GOLDEN / "returned_metrics.in.py"), *args], tmp_path)
    assert original.returncode == 0, original.stderr[-3000:]
    lightning = _use("sanity", converted, args, tmp_path)
    assert lightning.returncode == 0, lightning.stderr[-3000:]

    def summaries(out):
        return [line for line in out.splitlines() if line.startswith("epoch")]

    assert len(summaries(original.stdout)) == 2, original.stdout
    assert summaries(lightning.stdout) == summaries(original.stdout)


# -- what the conversion writes never captures the script's own names (issue 19) ---------------

CASES = ROOT / "tests" / "verify_cases"


def _verify(script, tmp_path, *args):
    command = [sys.executable, "-m", "converter", "verify", str(script), "--work-dir"]
    return _run([*command, str(tmp_path), *args], ROOT)


@pytest.mark.parametrize(
    ("case", "generated"),
    [
        # a global `batch` in the loss, `batch_idx` in the loop, `outputs` after the step
        (
            "global_names",
            [
                "def training_step(self, batch_2, batch_idx_2):",
                "/ batch\n",
                "if batch_idx_2 < batch_idx:",
                "def on_train_batch_end(self, outputs_2, batch, batch_idx):",
            ],
        ),
        # a global `batch` in a full-batch loop, where the batch is the one-batch loader's item
        ("full_batch_global", ["def training_step(self, batch_2, batch_idx):", ") * batch\n"]),
        # a global `metric` printed after ReduceLROnPlateau's step
        ("scheduler_hook_names", ["def lr_scheduler_step(self, scheduler, metric_2):"]),
    ],
)
def test_generated_parameters_leave_the_scripts_names_alone(case, generated, tmp_path):
    code = convert_source((CASES / f"{case}.py").read_text(), filename=f"{case}.py").code
    for line in generated:
        assert line in code, code
    run = _verify(CASES / f"{case}.py", tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert "EQUIVALENT" in run.stdout


def test_model_members_named_like_lightnings_train_identically(tmp_path):
    """`self.device`, `self.hparams`, `self.logger`, `self.current_epoch` set in the model's
    __init__ and its own `print`/`log` methods: the conversion constructs, trains and prints
    exactly as the original (it crashed at construction: `device` is a read-only property)."""
    script = CASES / "lightning_members.py"
    code = convert_source(script.read_text(), filename=script.name).code
    assert "self.device =" not in code and "device=self.device" in code
    assert "def print_(self" in code and "self.print_(" in code
    run = _verify(script, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert "EQUIVALENT" in run.stdout


def test_devices_named_literally_in_the_loop_follow_the_module(tmp_path):
    """`x.to("cuda")`, `device="cuda"`, `torch.device("cuda:0")` in the loop: the conversion
    runs on this CPU machine as it is, and trains like the original run on the CPU."""
    script = CASES / "cuda_strings_in_loop.py"
    converted = tmp_path / "converted.py"
    converted.write_text(convert_source(script.read_text(), filename=script.name).code)
    assert "cuda" not in converted.read_text().split("class Lit")[1]
    plain = _run([sys.executable, str(converted)], tmp_path)
    assert plain.returncode == 0, plain.stderr[-3000:]
    assert "epoch 1 loss" in plain.stdout
    run = _verify(script, tmp_path / "verify", "--against", str(converted), "--cuda-on-cpu")
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert "EQUIVALENT" in run.stdout


def test_an_evaluation_that_needs_gradients_runs_outside_inference_mode(tmp_path):
    """A saliency map by torch.autograd.grad each epoch, and torch.enable_grad() inside the test's
    no_grad: the conversion trains, validates and tests like the original (it crashed under
    Lightning's inference mode), and validates alone too."""
    script = CASES / "saliency_evaluation.py"
    converted = tmp_path / "converted.py"
    converted.write_text(convert_source(script.read_text(), filename=script.name).code)
    assert "inference_mode=False" in converted.read_text()
    run = _verify(script, tmp_path / "verify", "--against", str(converted))
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert "EQUIVALENT" in run.stdout
    alone = _use("validate", converted, [], tmp_path)
    assert alone.returncode == 0, alone.stderr[-3000:]
    assert alone.stdout.count("VALIDATE [") == 2, alone.stdout


def test_a_scheduler_stepped_by_hand_under_manual_optimization_trains_identically(tmp_path):
    """A StepLR stepped with each optimizer step of a hand-made accumulation: configure_optimizers
    returns two lists (a tuple of an optimizer and a scheduler is a MisconfigurationException)."""
    script = CASES / "manual_scheduler_every_k.py"
    code = convert_source(script.read_text(), filename=script.name).code
    assert "return [optimizer], [scheduler]" in code
    run = _verify(script, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr[-2000:]
    assert "EQUIVALENT" in run.stdout
