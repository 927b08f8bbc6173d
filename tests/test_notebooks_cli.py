"""Notebooks through the command line, as users run it: ``python -m converter`` in a subprocess
on real ``.ipynb`` files (the example notebook of fixtures/ and small ones written here).

``convert`` in place, ``--diff``, ``--check``, ``-o``, folders, ``--json``/``--report``, ``-j``,
bad notebooks, no torch import; and ``verify`` training a notebook against its conversion.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "fixtures" / "notebooks" / "mnist_classifier.ipynb"
CONVERTED = ROOT / "fixtures" / "converted" / "mnist_classifier.ipynb"
GOLDEN = ROOT / "tests" / "golden_notebooks"
CHANGED_CELLS = "cells 2, 8, 10, 11, 12, 14 changed, outputs cleared"


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def cli(*args, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "converter", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
    )


def explain(proc) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def copy_notebook(folder: Path, name: str = "nb.ipynb") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(NOTEBOOK, folder / name))


def snapshot(tree: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(tree)): p.read_bytes() for p in sorted(tree.rglob("*")) if p.is_file()
    }


# -- convert ----------------------------------------------------------------------------------


def test_convert_rewrites_the_notebook_in_place_and_names_the_cells(tmp_path):
    nb = copy_notebook(tmp_path)
    proc = cli("convert", nb.name, cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    assert nb.read_bytes() == CONVERTED.read_bytes()
    assert f"converted nb.ipynb ({CHANGED_CELLS})" in proc.stderr
    assert "All done: 1 file converted, 0 unchanged." in proc.stderr

    again = cli("convert", "--check", nb.name, cwd=tmp_path)
    assert again.returncode == 0, explain(again)
    assert nb.read_bytes() == CONVERTED.read_bytes()


def test_diff_shows_each_changed_cell_and_writes_nothing(tmp_path):
    nb = copy_notebook(tmp_path)
    proc = cli("convert", "--diff", "--no-color", nb.name, cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    assert nb.read_bytes() == NOTEBOOK.read_bytes()
    headers = re.findall(r"^--- nb\.ipynb cell (\d+)\t\(original\)$", proc.stdout, re.M)
    assert headers == ["2", "8", "10", "11", "12", "14"]
    assert "+++ nb.ipynb cell 8\t(converted; outputs cleared)\n" in proc.stdout
    assert "-class Net(nn.Module):\n+class Net(pl.LightningModule):\n" in proc.stdout
    assert "+trainer.fit(model, train_dataloaders=train_loader, val_dataloaders=test_loader)\n" in (
        proc.stdout
    )
    assert "+    def training_step(self, batch, batch_idx):\n" in proc.stdout  # code, not JSON
    assert '"source"' not in proc.stdout and '"execution_count"' not in proc.stdout
    assert f"would convert nb.ipynb ({CHANGED_CELLS})" in proc.stderr


def test_check_fails_on_a_notebook_that_would_change(tmp_path):
    nb = copy_notebook(tmp_path)
    proc = cli("convert", "--check", nb.name, cwd=tmp_path)
    assert proc.returncode == 1, explain(proc)
    assert nb.read_bytes() == NOTEBOOK.read_bytes()


def test_output_file_and_mirrored_folder(tmp_path):
    nb = copy_notebook(tmp_path / "src")
    (tmp_path / "src" / "README.md").write_text("notes\n")
    proc = cli("convert", "src/nb.ipynb", "-o", "out.ipynb", cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    assert (tmp_path / "out.ipynb").read_bytes() == CONVERTED.read_bytes()
    assert nb.read_bytes() == NOTEBOOK.read_bytes()

    proc = cli("convert", "src", "-o", "tree", cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    assert snapshot(tmp_path / "tree") == {
        "README.md": b"notes\n",
        "nb.ipynb": CONVERTED.read_bytes(),
    }


def test_folders_are_walked_for_notebooks_and_checkpoints_are_skipped(tmp_path):
    project = tmp_path / "project"
    copy_notebook(project / "notebooks")
    checkpoint = copy_notebook(project / "notebooks" / ".ipynb_checkpoints", "nb-checkpoint.ipynb")
    (project / "plain.py").write_text("print('hello')\n")
    proc = cli("convert", "project", cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    assert (project / "notebooks" / "nb.ipynb").read_bytes() == CONVERTED.read_bytes()
    assert checkpoint.read_bytes() == NOTEBOOK.read_bytes()
    assert "All done: 1 file converted, 1 unchanged." in proc.stderr


def test_json_and_report_point_at_cells(tmp_path):
    copy_notebook(tmp_path)
    proc = cli("convert", "--diff", "--json", "--report", "report.txt", "nb.ipynb", cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    entry = json.loads(proc.stdout)["files"][0]
    assert entry["status"] == "converted" and entry["message"] == CHANGED_CELLS
    trainer = next(e for e in entry["changed"] if e["kind"] == "trainer")
    assert (trainer["cell"], trainer["line"]) == (12, 1)
    assert entry["diff"].startswith("--- nb.ipynb cell 2\t(original)\n")
    report = (tmp_path / "report.txt").read_text()
    assert re.search(r"cell +12, line +1 +changed +trainer: training loop replaced", report)
    assert "cell  10, line   1  changed   cell: code emptied" in report

    verbose = cli("convert", "--check", "-v", "nb.ipynb", cwd=tmp_path)
    assert "nb.ipynb: cell 12, line 1: changed trainer: training loop replaced" in verbose.stderr


def test_jobs_give_the_same_results(tmp_path):
    for name in ("a.ipynb", "b.ipynb", "c.ipynb"):
        copy_notebook(tmp_path / "one", name)
    shutil.copytree(tmp_path / "one", tmp_path / "two")
    first = cli("convert", "one", cwd=tmp_path)
    second = cli("convert", "-j", "2", "two", cwd=tmp_path)
    assert first.returncode == second.returncode == 0, explain(second)
    assert snapshot(tmp_path / "one") == snapshot(tmp_path / "two")
    assert set(snapshot(tmp_path / "two").values()) == {CONVERTED.read_bytes()}


BAD = {
    "not_json.ipynb": (b'{"cells": [ "loss.backward() opt.step()"', "the JSON does not parse"),
    "old.ipynb": (
        json.dumps({"nbformat": 3, "worksheets": [{"cells": []}], "x": "backward step("}).encode(),
        "nbformat 3 notebook: only nbformat 4 is read; upgrade it with `jupyter nbconvert",
    ),
    "no_cells.ipynb": (
        json.dumps({"nbformat": 4, "metadata": {}, "x": "backward step("}).encode(),
        'not a notebook: no "cells" list',
    ),
}


def test_bad_notebooks_get_one_line_each_and_the_good_ones_are_converted(tmp_path):
    good = copy_notebook(tmp_path)
    broken = json.loads(NOTEBOOK.read_bytes())
    broken["cells"][3]["source"][1] = "test_batch_size = (1000\n"
    files = {name: data for name, (data, _) in BAD.items()}
    files["broken_cell.ipynb"] = json.dumps(broken, indent=1).encode()
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    proc = cli("convert", *sorted(files), good.name, cwd=tmp_path)
    assert proc.returncode == 123, explain(proc)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    for name, (_, message) in BAD.items():
        assert sum(line.startswith(f"{name}: ") for line in lines) == 1, proc.stderr
        assert any(line.startswith(f"{name}: ") and message in line for line in lines), name
    assert any(
        line.startswith("broken_cell.ipynb: cell 4, line 2: cannot parse: ")
        and "make it a raw cell" in line
        for line in lines
    ), proc.stderr
    for name, data in files.items():
        assert (tmp_path / name).read_bytes() == data  # never damaged
    assert good.read_bytes() == CONVERTED.read_bytes()


def test_convert_never_imports_torch_for_a_notebook(tmp_path):
    copy_notebook(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "converter", "convert", "--check", "nb.ipynb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    modules = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert "converter.notebook.conversion" in modules  # the notebook was really converted
    assert not {m for m in modules if m == "torch" or m.startswith(("torch.", "lightning"))}


# -- verify -----------------------------------------------------------------------------------


def verify(*args, cwd: Path) -> subprocess.CompletedProcess:
    return cli("verify", *args, cwd=cwd, timeout=600)


@pytest.mark.training
def test_verify_trains_the_example_notebook_and_its_conversion_identically(tmp_path):
    proc = verify(NOTEBOOK, "--fake-data", "--max-steps", "6", "--json", cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    result = json.loads(proc.stdout)
    assert result["verdict"] == "equivalent"
    assert result["losses"]["compared"] == 6 and result["losses"]["max_difference"] == 0
    assert result["weights"]["tensors"] == 8 and result["weights"]["max_difference"] == 0
    assert "a notebook runs as one script of its code cells" in proc.stderr


@pytest.mark.training
def test_verify_runs_ipython_notebooks_against_their_golden_conversion(tmp_path):
    given = GOLDEN / "ipython_syntax.in.ipynb"
    against = GOLDEN / "ipython_syntax.out.ipynb"
    proc = verify(given, "--against", against, cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    assert "losses compared: 12 (backward calls: original 12, lightning 12)" in proc.stdout
    assert "printed output: 4 lines compared (original 4, lightning 4): the same" in proc.stdout
    assert "EQUIVALENT" in proc.stdout


def test_verify_refuses_a_bad_notebook_with_one_line(tmp_path):
    bad = tmp_path / "old.ipynb"
    bad.write_bytes(BAD["old.ipynb"][0])
    proc = verify(bad, cwd=tmp_path)
    assert proc.returncode == 2, explain(proc)
    assert "Traceback" not in proc.stderr
    assert "old.ipynb: nbformat 3 notebook: only nbformat 4 is read" in proc.stderr
