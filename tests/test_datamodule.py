"""`--datamodule`: the data code of a Trainer conversion as a LightningDataModule.

Goldens (tests/golden_datamodule/<case>.out.py, converted from the inputs named below): exact
output, converting again changes nothing, and training identical to the original with every
Lightning use and on 2 processes; `verify --datamodule` on a notebook. Scripts
whose loaders must stay in the script (tests/datamodule_kept/*.py, each starting with
`# kept: <words of the reason>`): the same conversion as without the flag, and the reason in the
report. And the rules of what moves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from converter import convert_source

HERE = Path(__file__).parent
ROOT = HERE.parent
GOLDEN = HERE / "golden_datamodule"
INPUTS = {
    "mnist_classifier": ROOT / "fixtures" / "mnist_classifier.py",
    "autoencoder": ROOT / "fixtures" / "autoencoder.py",
    "early_stopping": HERE / "golden" / "early_stopping.in.py",
    "gan": HERE / "golden" / "gan.in.py",
    "val_and_test": HERE / "golden" / "val_and_test.in.py",
    "items_list": HERE / "golden" / "items_list.in.py",
    "main_guard": GOLDEN / "main_guard.in.py",
}
KEPT = sorted((HERE / "datamodule_kept").glob("*.py"))


def _datamodule(source: str):
    return convert_source(source, datamodule=True)


def test_every_golden_has_an_input():
    assert {p.name.removesuffix(".out.py") for p in GOLDEN.glob("*.out.py")} == set(INPUTS)
    assert {p.name.removesuffix(".in.py") for p in GOLDEN.glob("*.in.py")} <= set(INPUTS)


@pytest.mark.parametrize("case", sorted(INPUTS))
def test_conversion_matches_golden(case):
    result = _datamodule(INPUTS[case].read_text())
    assert not result.report.declined, result.report.text()
    assert result.code == (GOLDEN / f"{case}.out.py").read_text()
    entries = [e for e in result.report.changed if e.kind == "datamodule"]
    assert len(entries) == 1 and entries[0].line >= 1, result.report.text()


@pytest.mark.parametrize("case", sorted(INPUTS))
def test_converting_the_output_again_changes_nothing(case):
    converted = (GOLDEN / f"{case}.out.py").read_text()
    assert _datamodule(converted).code == converted


@pytest.mark.parametrize("path", KEPT, ids=lambda p: p.stem)
def test_loaders_stay_in_the_script_with_the_reason(path):
    source = path.read_text()
    expected = source.splitlines()[0].removeprefix("# kept:").strip()
    result = _datamodule(source)
    assert result.changed and result.code == convert_source(source).code
    kept = [e for e in result.report.found if e.kind == "datamodule"]
    assert len(kept) == 1 and expected in kept[0].message, result.report.text()
    assert kept[0].line >= 1


def _converted(body: str) -> str:
    return _datamodule(textwrap.dedent(body)).code


def _class_of(code: str, name: str = "DataModule") -> str:
    start = code.index(f"class {name}(")
    return code[start : code.index("\n\n\n", start)]


_TRAINING = """
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(2):
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
"""


def test_a_random_split_stays_where_it_draws_and_the_datamodule_gets_its_parts():
    code = _converted(
        textwrap.dedent(
            """
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset, random_split

        torch.manual_seed(0)
        full = TensorDataset(torch.randn(80, 4), torch.randn(80, 1))
        train_set, val_set = random_split(full, [64, 16])
        train_loader = DataLoader(train_set, batch_size=8, shuffle=True)
        """
        )
        + textwrap.dedent(_TRAINING)
    )
    script = code[code.index("datamodule = ") - 200 :]
    assert "train_set, val_set = random_split(full, [64, 16])" in code
    assert "random_split" not in _class_of(code)
    assert "datamodule = DataModule(train_set=train_set)" in script
    assert (
        "return DataLoader(self.train_set, batch_size=self.hparams.batch_size, shuffle=True)"
        in (code)
    )


def test_what_the_model_reads_too_stays_in_the_script():
    code = _converted(
        """
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        torch.manual_seed(0)
        features = torch.randn(64, 4)
        targets = torch.randn(64, 1)
        train_set = TensorDataset(features, targets)
        width = len(train_set[0][0])
        train_loader = DataLoader(train_set, batch_size=8)
        model = nn.Linear(width, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(2):
            for x, y in train_loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
        """
    )
    assert "\ntrain_set = TensorDataset(features, targets)\n" in code
    assert "datamodule = DataModule(train_set=train_set)" in code


def test_code_that_changes_a_script_object_stays_in_the_script():
    code = _converted(
        """
        import torch
        from torch import nn
        from torch.utils.data import DataLoader

        torch.manual_seed(0)
        vocabulary = {}
        sentences = [["a", "b"], ["b", "c"], ["c", "a"], ["a", "a"]]
        for sentence in sentences:
            for word in sentence:
                vocabulary.setdefault(word, len(vocabulary))
        encoded = [torch.tensor([vocabulary[w] for w in s]) for s in sentences]
        train_loader = DataLoader([(e.float(), e.float().sum(0, keepdim=True)) for e in encoded])
        model = nn.Linear(2, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(2):
            for x, y in train_loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
        print(len(vocabulary))
        """
    )
    assert "vocabulary.setdefault" not in _class_of(code)
    assert "\nfor sentence in sentences:\n" in code


def test_argparse_options_are_settings_with_the_options_defaults():
    code = (GOLDEN / "mnist_classifier.out.py").read_text()
    assert (
        'def __init__(self, batch_size=64, test_batch_size=1000, data_dir="../data", device=None)'
        in code
    )
    assert 'self.save_hyperparameters(ignore=["device"])' in code
    assert "batch_size=args.batch_size," in code


def test_the_command_line_takes_the_flag(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(INPUTS["autoencoder"].read_text())
    run = subprocess.run(
        [sys.executable, "-m", "converter", "convert", "--datamodule", "-v", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert script.read_text() == (GOLDEN / "autoencoder.out.py").read_text()
    assert "datamodule: the data code is now MNISTDataModule" in run.stdout + run.stderr
    kept = HERE / "datamodule_kept" / "loader_read_after_training.py"
    run = subprocess.run(
        [sys.executable, "-m", "converter", "convert", "--datamodule", "-v", "--check", str(kept)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert f"{kept}:20: kept datamodule: the loaders stay in the script:" in run.stderr


# the GAN and the autoencoder train in tests/test_golden_training.py without the flag; here
# the cases whose data code differs in kind: argparse, a test loader, a held vocabulary (the
# training summary's reordered run on 2 processes), module-level loaders under the main guard
TRAINING_CASES = {
    "mnist_classifier": ["--epochs", "1"],
    "val_and_test": [],
    "items_list": [],
    "main_guard": ["--epochs", "2"],
}


@pytest.mark.training
@pytest.mark.parametrize("case", sorted(TRAINING_CASES))
def test_golden_trains_like_its_input_in_every_lightning_use(case, tmp_path):
    command = [
        sys.executable,
        "-m",
        "converter",
        "verify",
        str(INPUTS[case]),
        "--against",
        str(GOLDEN / f"{case}.out.py"),
        "--fake-data",
        "--lightning-uses",
        "--devices",
        "2",
        "--work-dir",
        str(tmp_path),
        "--",
        *TRAINING_CASES[case],
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, env=os.environ)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "EQUIVALENT" in run.stdout and "FAIL" not in run.stdout


@pytest.mark.training
def test_a_notebook_takes_the_flag_and_trains_the_same(tmp_path):
    notebook = HERE / "golden_notebooks" / "ipython_syntax.in.ipynb"
    command = [sys.executable, "-m", "converter", "verify", str(notebook), "--datamodule"]
    command += ["--fake-data", "--work-dir", str(tmp_path)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "note: the data code is now DataModule" in run.stdout
    assert "EQUIVALENT" in run.stdout
