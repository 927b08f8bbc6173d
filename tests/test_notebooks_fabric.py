"""Notebooks converted to Lightning Fabric (``--target fabric``, ``--fallback fabric``): every
Fabric golden script cut into cells converts as the script does, and the command line converts
and verifies a notebook whose loop the Trainer declines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from converter import convert_source
from converter.notebook import convert_notebook
from tests.test_notebooks import cell, document, jupyter_bytes, paragraphs, sources
from tests.test_notebooks_cli import child_env, explain

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "tests" / "golden_fabric").glob("*.in.py"))
# A loop the Trainer declines (a break that depends on the data), in two cells.
DECLINED = ROOT / "tests" / "golden_fabric" / "break_in_batch_loop.in.py"


def comparable(code: str) -> list[str]:
    """Code lines without blank lines and the imports the conversion adds (Fabric's, `os` for
    the flags' defaults): it adds them after the script's leading imports, and a marker between
    two cells ends those, so in a notebook they come before the imports of the next cells."""
    return [
        line
        for line in code.splitlines()
        if line.strip() and line not in ("from lightning_fabric import Fabric", "import os")
    ]


def notebook_of(script: Path) -> tuple[bytes, list[str]]:
    cells = paragraphs(script.read_text(encoding="utf-8"))
    return jupyter_bytes(document(*(cell(c) for c in cells))), cells


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name.removesuffix(".in.py"))
def test_a_fabric_script_cut_into_cells_converts_as_the_script_does(script):
    data, cells = notebook_of(script)
    assert len(cells) >= 2
    result = convert_notebook(data, "fabric", script.name)
    assert result.changed, result.reason
    assert not result.report["declined"]
    assert convert_notebook(result.data, "fabric").changed is False
    after = "\n\n".join(sources(result.data))
    expected = convert_source(script.read_text(encoding="utf-8"), target="fabric").code
    assert comparable(after) == comparable(expected)
    compile(after, script.name, "exec")


def test_the_fallback_converts_a_notebook_the_trainer_declines_and_names_cells():
    data, _ = notebook_of(DECLINED)
    assert not convert_notebook(data).changed
    result = convert_notebook(data, filename="nb.ipynb", fallback="fabric")
    assert result.changed
    first = result.report["changed"][0]
    assert first["kind"] == "fallback" and first["cell"] == 2
    assert first["message"].startswith("converted to Fabric: the Trainer conversion declined (")
    assert "(cell 2, line " in first["message"]  # the Trainer's line, as a cell and line


def cli(*args, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "converter", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(),
    )


def test_convert_fallback_fabric_on_a_notebook(tmp_path):
    data, _ = notebook_of(DECLINED)
    nb = tmp_path / "nb.ipynb"
    nb.write_bytes(data)
    proc = cli("convert", "--fallback", "fabric", nb, cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    said = proc.stdout + proc.stderr
    assert "(to Lightning Fabric: the Trainer conversion declined; see -v)" in said
    assert "(cells 1, 2 changed, outputs cleared)" in said
    assert nb.read_bytes() == convert_notebook(data, "fabric", str(nb)).data
    code = "\n".join(sources(nb.read_bytes()))
    assert "fabric.backward(loss)" in code and "loss.backward()" not in code


@pytest.mark.training
def test_verify_fallback_fabric_trains_a_notebook_and_its_fabric_conversion_identically(tmp_path):
    data, _ = notebook_of(DECLINED)
    nb = tmp_path / "nb.ipynb"
    nb.write_bytes(data)
    proc = cli("verify", nb, "--fallback", "fabric", "--json", cwd=tmp_path)
    assert proc.returncode == 0, explain(proc)
    result = json.loads(proc.stdout)
    assert result["verdict"] == "equivalent"
    assert result["losses"]["compared"] > 0 and result["losses"]["max_difference"] == 0
    assert result["weights"]["max_difference"] == 0
    assert "a notebook runs as one script of its code cells" in proc.stderr
    assert nb.read_bytes() == data  # verify writes nothing
