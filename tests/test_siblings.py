"""Training functions a script imports from its own modules (converter/siblings.py).

Golden cases (tests/golden_siblings/<case>/): a `train.py` whose batch loop lives in a module
beside it, converted in place by the command line in a copy of the folder; the result must equal
`train.out.py` exactly, the modules must keep their bytes, and converting again changes nothing.
`verify` then trains both (marked `training`). `notebook/` is the same for a notebook (beside
from_import's engine.py). The rest calls `convert_source` with the modules given as text: what is
copied, what is not, and the declines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from converter import convert_source

HERE = Path(__file__).parent
GOLDEN = HERE / "golden_siblings"
#: case -> the target its train.out.py was converted to
CASES = {"from_import": "pytorch_lightning", "package_module": "fabric"}


def cli(*args, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "converter", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=timeout)


def explain(run: subprocess.CompletedProcess) -> str:
    return f"exit {run.returncode}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"


def modules_of(files: dict[str, str]):
    """`convert_source`'s reader over module texts, keyed by their path beside the script."""

    def read(dotted: str):
        for path, package in (
            (dotted.replace(".", "/") + ".py", False),
            (dotted.replace(".", "/") + "/__init__.py", True),
        ):
            if path in files:
                return path, textwrap.dedent(files[path]), package
        return None

    return read


def convert(script: str, files: dict[str, str], **options):
    return convert_source(
        textwrap.dedent(script), filename="train.py", modules=modules_of(files), **options
    )


# -- golden cases, through the command line ---------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_case_converts_exactly_and_leaves_the_modules_alone(case, tmp_path):
    folder = tmp_path / case
    shutil.copytree(GOLDEN / case, folder)
    (folder / "train.out.py").unlink()
    modules = {p: p.read_bytes() for p in folder.rglob("*.py") if p.name != "train.py"}
    run = cli("convert", "--target", CASES[case], "train.py", cwd=folder)
    assert run.returncode == 0, explain(run)
    assert (folder / "train.py").read_text() == (GOLDEN / case / "train.out.py").read_text()
    assert {p: p.read_bytes() for p in modules} == modules
    again = cli("convert", "--check", "--target", CASES[case], "train.py", cwd=folder)
    assert again.returncode == 0, explain(again)


def test_the_report_points_at_the_import_and_names_the_module_line(tmp_path):
    folder = tmp_path / "case"
    shutil.copytree(GOLDEN / "from_import", folder)
    run = cli("convert", "--diff", "-v", "train.py", cwd=folder)
    assert run.returncode == 0, explain(run)
    said = run.stdout + run.stderr
    assert (
        "train.py:9: changed copied-in: train_one_epoch() of engine.py (line 9) is copied in "
        "here to be converted with the script; engine.py stays as it is"
    ) in said
    assert "(engine.py:24, in the copied evaluate())" in said


def test_a_folder_run_converts_the_script_and_says_why_the_module_is_left(tmp_path):
    folder = tmp_path / "case"
    shutil.copytree(GOLDEN / "from_import", folder)
    (folder / "train.out.py").unlink()
    run = cli("convert", "--check", ".", cwd=folder)
    assert run.returncode == 1, explain(run)  # --check: something would change
    said = run.stdout + run.stderr
    assert "would convert train.py" in said
    assert "engine.py: line 9: train_one_epoch() is never called in this file" in said


@pytest.mark.training
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_case_trains_identically(case, tmp_path):
    folder = tmp_path / case
    shutil.copytree(GOLDEN / case, folder)
    run = cli(
        "verify", "--target", CASES[case], "train.py", "--work-dir", tmp_path / "w", cwd=folder
    )
    assert run.returncode == 0, explain(run)
    assert "largest loss difference: 0\n" in run.stdout
    assert run.stdout.splitlines()[-1].startswith("EQUIVALENT"), run.stdout


# -- a notebook beside its module (tests/golden_siblings/notebook/) ----------------------------

NOTEBOOK = GOLDEN / "notebook"


def notebook_folder(tmp_path: Path) -> Path:
    """The notebook case, with from_import's engine.py beside it (the module it imports)."""
    folder = tmp_path / "nb"
    shutil.copytree(NOTEBOOK, folder)
    shutil.copyfile(GOLDEN / "from_import" / "engine.py", folder / "engine.py")
    return folder


def test_a_notebook_gets_its_module_s_training_functions_and_says_where_they_are(tmp_path):
    folder = notebook_folder(tmp_path)
    (folder / "train.out.ipynb").unlink()
    engine = (folder / "engine.py").read_bytes()
    run = cli("convert", "-v", "train.ipynb", cwd=folder)
    assert run.returncode == 0, explain(run)
    assert (folder / "train.ipynb").read_bytes() == (NOTEBOOK / "train.out.ipynb").read_bytes()
    assert (folder / "engine.py").read_bytes() == engine
    said = run.stdout + run.stderr
    # the module's line stays a line of engine.py (not a cell of the notebook)
    assert "cell 2, line 6: changed copied-in: train_one_epoch() of engine.py (line 9)" in said
    again = cli("convert", "--check", "train.ipynb", cwd=folder)
    assert again.returncode == 0, explain(again)


def test_a_notebook_that_calls_no_training_function_of_its_module_is_skipped(tmp_path):
    folder = notebook_folder(tmp_path)
    notebook = folder / "train.ipynb"
    data = json.loads(notebook.read_text())
    calls = "train_one_epoch(model"
    data["cells"] = [c for c in data["cells"] if calls not in "".join(c["source"])]
    notebook.write_text(json.dumps(data, indent=1))
    run = cli("convert", "--check", "train.ipynb", cwd=folder)
    assert run.returncode == 0, explain(run)
    assert "no training loop" in run.stdout + run.stderr


@pytest.mark.training
def test_a_notebook_and_its_conversion_train_identically(tmp_path):
    folder = notebook_folder(tmp_path)
    run = cli("verify", "train.ipynb", "--work-dir", tmp_path / "w", cwd=folder)
    assert run.returncode == 0, explain(run)
    assert "losses compared: 16" in run.stdout and "largest loss difference: 0\n" in run.stdout
    assert run.stdout.splitlines()[-1].startswith("EQUIVALENT"), run.stdout


# -- what is copied ---------------------------------------------------------------------------

ENGINE = textwrap.dedent("""
    import torch

    def train_one_epoch(model, loader, optimizer):
        for x, y in loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()

    def describe(model):
        return sum(p.numel() for p in model.parameters())
""")

SCRIPT = """
    import torch
    {imports}

    def main():
        model = torch.nn.Linear(2, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        loader = [(torch.randn(4, 2), torch.randn(4, 1)) for _ in range(3)]
        for epoch in range(2):
            {call}
        print({describe})

    main()
"""


def script(imports: str, call: str, describe: str = "1") -> str:
    return SCRIPT.format(imports=imports, call=call, describe=describe)


def test_a_module_attribute_call_becomes_a_call_of_the_copy():
    result = convert(
        script(
            "import engine",
            "engine.train_one_epoch(model, loader, optimizer)",
            "engine.describe(model)",
        ),
        {"engine.py": ENGINE},
        target="fabric",
    )
    assert result.changed, result.report.text()
    assert "def train_one_epoch(model, loader, optimizer, fabric):" in result.code
    assert "        train_one_epoch(model, loader, optimizer, fabric)" in result.code
    assert "print(engine.describe(model))" in result.code  # not training: stays imported
    assert "def describe" not in result.code


def test_a_function_that_trains_through_another_of_its_module_brings_both_in():
    """The loop two calls away (`engine.train` calls `train_step`, which has the batch loop):
    both are copied in, then train() takes the place of its call, since it receives what it
    trains (converter/targets/trainer/inlining.py)."""
    engine = ENGINE + textwrap.dedent("""
        def train(model, loader, optimizer, epochs):
            for epoch in range(epochs):
                train_one_epoch(model, loader, optimizer)
                print(epoch, describe(model))
    """)
    text = SCRIPT.replace("for epoch in range(2):\n            {call}", "{call}").format(
        imports="import engine", call="engine.train(model, loader, optimizer, 2)", describe="1"
    )
    result = convert(text, {"engine.py": engine})
    assert result.changed, result.report.text()
    changed = [(e.kind, e.message.split(" (")[0]) for e in result.report.changed[:3]]
    assert changed == [
        ("copied-in", "train() of engine.py"),
        ("copied-in", "train_one_epoch() of engine.py"),
        ("inlined", "train()"),
    ]
    assert "from engine import describe" in result.code  # read by the copy, not training
    assert "def train(" not in result.code and "def train_one_epoch(" not in result.code


def test_a_script_with_a_loop_of_its_own_converts_as_without_its_modules():
    own = script("from engine import train_one_epoch", "train_one_epoch(model, loader, optimizer)")
    own = own.replace(
        "        print(1)",
        "        print(1)\n        loss = model(loader[0][0]).sum()\n        loss.backward()",
    )
    alone = convert_source(textwrap.dedent(own), filename="train.py")
    beside = convert(own, {"engine.py": ENGINE})
    assert beside.code == alone.code
    assert beside.report.to_dict() == alone.report.to_dict()


@pytest.mark.parametrize(
    "imports, call",
    [
        ("import engine", "engine.describe(model)"),  # nothing that trains is called
        ("from engine import describe", "describe(model)"),
        ("from engine import train_one_epoch", "pass"),  # imported, never called
        ("from torch.optim import SGD", "SGD"),  # not a module of the script's own
    ],
)
def test_nothing_is_copied_where_the_script_calls_no_training_function(imports, call):
    result = convert(script(imports, call), {"engine.py": ENGINE})
    assert not result.changed
    assert [e.message for e in result.report.declined] == [
        "no training loop: nothing calls .backward()"
    ]


# -- what cannot be copied --------------------------------------------------------------------


@pytest.mark.parametrize(
    "engine, reason",
    [
        (
            ENGINE.replace("    for x, y in loader:", "    global STEPS\n    for x, y in loader:"),
            "train_one_epoch() of engine.py declares a global: a copy would change the "
            "script's variables instead of its module's",
        ),
        (
            ENGINE.replace(
                "    for x, y in loader:", "    print(__file__)\n    for x, y in loader:"
            ),
            "train_one_epoch() of engine.py (line 5) reads `__file__`, which would mean "
            "something else in this script",
        ),
    ],
)
def test_a_function_whose_copy_would_behave_otherwise_is_declined(engine, reason):
    result = convert(
        script("from engine import train_one_epoch", "train_one_epoch(model, loader, optimizer)"),
        {"engine.py": engine},
    )
    assert not result.changed
    assert [(e.line, e.message) for e in result.report.declined] == [(3, reason)]


def test_a_name_the_script_binds_otherwise_is_imported_under_a_fresh_one():
    engine = ENGINE.replace("import torch\n", "import torch\nimport numpy as np\n").replace(
        "loss.backward()", "loss.backward()\n        np.zeros(1)"
    )
    result = convert(
        script(
            "from engine import train_one_epoch\n    np = 3",
            "train_one_epoch(model, loader, optimizer)",
        ),
        {"engine.py": engine},
        target="fabric",
    )
    assert result.changed, result.report.text()
    assert "import numpy as np_2" in result.code
    assert "        np_2.zeros(1)" in result.code


def test_a_module_attribute_the_script_also_binds_is_declined():
    result = convert(
        script(
            "import engine\n    from other import train_one_epoch",
            "engine.train_one_epoch(model, loader, optimizer)",
        ),
        {"engine.py": ENGINE},
    )
    assert not result.changed
    assert "engine.train_one_epoch() trains, but this script binds `train_one_epoch` too" in (
        result.report.text()
    )


def test_a_decline_inside_the_copy_names_the_module_line():
    engine = ENGINE.replace(
        "    for x, y in loader:", "    loader = list(loader)\n    for x, y in loader:"
    )
    result = convert(
        script("from engine import train_one_epoch", "train_one_epoch(model, loader, optimizer)"),
        {"engine.py": engine},
    )
    assert not result.changed
    (entry,) = result.report.declined
    assert entry.line == 3
    assert entry.message.endswith("(engine.py:5, in the copied train_one_epoch())"), entry.message


@pytest.mark.training
def test_coverage_counts_a_module_as_converted_with_the_script_that_imports_it(tmp_path):
    folder = tmp_path / "collection"
    shutil.copytree(GOLDEN / "from_import", folder)
    (folder / "train.out.py").unlink()
    bench = HERE.parent / "benchmarks" / "coverage.py"
    out = tmp_path / "coverage.json"
    run = subprocess.run(
        [sys.executable, str(bench), str(folder), "--jobs", "1", "--max-steps", "5"]
        + ["--json", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    files = {f["path"]: f for f in json.loads(out.read_text())["files"]}
    assert files["train.py"]["category"] == "verified", files["train.py"]
    assert files["engine.py"]["category"] == "with-script", files["engine.py"]
    assert files["engine.py"]["detail"] == "converted with train.py (verified)"


@pytest.mark.training
def test_coverage_measures_notebooks_with_notebooks(tmp_path):
    folder = notebook_folder(tmp_path)
    (folder / "train.out.ipynb").unlink()
    bench = HERE.parent / "benchmarks" / "coverage.py"
    out = tmp_path / "coverage.json"
    run = subprocess.run(
        [sys.executable, str(bench), str(folder), "--notebooks", "--jobs", "1"]
        + ["--max-steps", "5", "--json", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    files = {f["path"]: f for f in json.loads(out.read_text())["files"]}
    assert files["train.ipynb"]["category"] == "verified", files["train.ipynb"]
    assert files["engine.py"]["detail"] == "converted with train.ipynb (verified)"


def test_a_name_that_may_come_from_a_star_import_is_declined():
    engine = "from helpers import *\n" + ENGINE.replace(
        "loss.backward()", "loss.backward()\n        log(loss)"
    )
    result = convert(
        script("from engine import train_one_epoch", "train_one_epoch(model, loader, optimizer)"),
        {"engine.py": engine},
    )
    assert not result.changed
    assert [e.message for e in result.report.declined] == [
        "train_one_epoch() of engine.py (line 10) reads `log`, which may come from its module's "
        "`import *`: it cannot be copied in"
    ]


def test_a_folder_run_still_skips_a_script_whose_modules_train_but_which_calls_none(tmp_path):
    folder = tmp_path / "case"
    shutil.copytree(GOLDEN / "from_import", folder)
    (folder / "train.out.py").unlink()
    (folder / "predict.py").write_text("from engine import evaluate\n\nprint(evaluate)\n")
    run = cli("convert", "--check", "predict.py", cwd=folder)
    assert run.returncode == 0, explain(run)
    assert "predict.py: no training loop" in run.stdout + run.stderr


def test_the_copy_takes_the_script_s_line_endings():
    source = textwrap.dedent(
        script("from engine import train_one_epoch", "train_one_epoch(model, loader, optimizer)")
    ).replace("\n", "\r\n")
    result = convert_source(
        source, filename="train.py", target="fabric", modules=modules_of({"engine.py": ENGINE})
    )
    assert result.changed, result.report.text()
    assert "def train_one_epoch(" in result.code
    assert "\n" not in result.code.replace("\r\n", "")


def test_the_docstring_of_a_copied_function_is_no_statement_of_a_hook():
    engine = ENGINE.replace(
        "    for x, y in loader:",
        '    """Trains for one epoch."""\n    model.train()\n    for x, y in loader:',
        1,
    )
    result = convert(
        script("from engine import train_one_epoch", "train_one_epoch(model, loader, optimizer)"),
        {"engine.py": engine},
    )
    assert result.changed, result.report.text()
    assert "Trains for one epoch" not in result.code.split("class ")[1], result.code
