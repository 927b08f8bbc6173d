"""Notebooks through ``convert_notebook``: golden notebooks compared byte for byte, the JSON layout
kept, IPython syntax kept and never parsed, report lines pointing at cells, bad notebooks refused
with one line. The command line on notebooks is in tests/test_notebooks_cli.py."""

from __future__ import annotations

import ast
import codecs
import json
import re
from pathlib import Path

import pytest

from converter import convert_source
from converter.notebook import NotebookProblem, convert_notebook
from converter.notebook import cells as joining
from converter.notebook.conversion import runnable_script
from converter.notebook.ipython import cell_magic, ipython_lines

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden_notebooks"
# (input, expected output): the golden cases and the example notebook of fixtures/.
PAIRS = {
    case: (GOLDEN / f"{case}.in.ipynb", GOLDEN / f"{case}.out.ipynb")
    for case in sorted(p.name.removesuffix(".in.ipynb") for p in GOLDEN.glob("*.in.ipynb"))
}
PAIRS["fixture:mnist_classifier"] = (
    ROOT / "fixtures" / "notebooks" / "mnist_classifier.ipynb",
    ROOT / "fixtures" / "converted" / "mnist_classifier.ipynb",
)

# A tiny training loop over synthetic data, in four cells.
LOOP_CELLS = [
    "import torch\nimport torch.nn as nn",
    "x = torch.randn(32, 4)\ny = x.sum(1, keepdim=True)\n"
    "loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)",
    "model = nn.Linear(4, 1)\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)",
    "for epoch in range(2):\n    for xb, yb in loader:\n        optimizer.zero_grad()\n"
    "        loss = nn.functional.mse_loss(model(xb), yb)\n        loss.backward()\n"
    "        optimizer.step()",
]


def cell(source: str, kind: str = "code", outputs=None, count=None) -> dict:
    node = {"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True)}
    if kind == "code":
        node["execution_count"] = count
        node["outputs"] = outputs or []
    return node


def stream(text: str) -> dict:
    return {"name": "stdout", "output_type": "stream", "text": text.splitlines(keepends=True)}


def document(*cells: dict, nbformat: int = 4) -> dict:
    kernel = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return {
        "cells": list(cells),
        "metadata": {"kernelspec": kernel},
        "nbformat": nbformat,
        "nbformat_minor": 5,
    }


def jupyter_bytes(doc: dict) -> bytes:
    """What Jupyter (nbformat) writes."""
    return (json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def loop_notebook(*extra: dict) -> dict:
    return document(*(cell(c, count=i) for i, c in enumerate(LOOP_CELLS, 1)), *extra)


def sources(data: bytes) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(data)["cells"]]


# -- golden -----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", PAIRS)
def test_notebook_converts_to_its_golden_file(case):
    given, expected = PAIRS[case]
    result = convert_notebook(given.read_bytes(), filename=given.name)
    assert result.changed and not result.report["declined"], result.report
    assert result.data == expected.read_bytes(), (
        f"the conversion of {given.name} changed; if that is intended, write "
        f"convert_notebook(...).data to {expected.relative_to(ROOT)} and review the diff"
    )


@pytest.mark.parametrize("case", PAIRS)
def test_converting_the_golden_notebook_again_changes_nothing(case):
    data = PAIRS[case][1].read_bytes()
    result = convert_notebook(data)
    assert not result.changed and result.data == data


@pytest.mark.parametrize("case", PAIRS)
def test_golden_output_is_valid_nbformat_4_written_as_jupyter_writes_it(case):
    nbformat = pytest.importorskip("nbformat", reason="validates with Jupyter's own library")
    data = PAIRS[case][1].read_bytes()
    notebook = nbformat.reads(data.decode("utf-8"), as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert (nbformat.writes(notebook) + "\n").encode("utf-8") == data


@pytest.mark.parametrize("case", PAIRS)
def test_only_code_cells_whose_code_changed_differ(case):
    given, expected = (json.loads(p.read_bytes()) for p in PAIRS[case])
    assert given["metadata"] == expected["metadata"]
    assert [c["cell_type"] for c in given["cells"]] == [c["cell_type"] for c in expected["cells"]]
    for before, after in zip(given["cells"], expected["cells"]):
        if before["source"] == after["source"]:
            assert before == after  # outputs, execution count, metadata, id: all kept
        else:
            assert before["cell_type"] == "code"
            assert after["outputs"] == [] and after["execution_count"] is None
            code = ("source", "outputs", "execution_count")
            assert {k: v for k, v in before.items() if k not in code} == {
                k: v for k, v in after.items() if k not in code
            }


def test_the_fixture_notebook_moves_code_where_the_conversion_puts_it():
    given, expected = (PAIRS["fixture:mnist_classifier"][i].read_bytes() for i in (0, 1))
    before, after = sources(given), sources(expected)
    model_cell = next(i for i, s in enumerate(before) if s.startswith("class Net(nn.Module)"))
    loop_cell = next(i for i, s in enumerate(before) if s.startswith("for epoch in range"))
    assert after[model_cell].startswith("class Net(pl.LightningModule)")
    assert "def training_step(self, batch, batch_idx):" in after[model_cell]
    assert after[loop_cell].startswith("trainer = pl.Trainer(")
    assert "trainer.fit(model" in after[loop_cell]
    functions = next(i for i, s in enumerate(before) if s.startswith("def train("))
    assert after[functions] == ""  # emptied: its code is in the hooks now; the cell stays
    assert after[1].startswith("%matplotlib inline\n")  # IPython line kept in place
    assert "import pytorch_lightning as pl" in after[1]
    assert after[-1].endswith("!ls -l mnist_cnn.pt")


def test_report_points_at_cells_and_lines_in_them():
    data = PAIRS["fixture:mnist_classifier"][0].read_bytes()
    report = convert_notebook(data).report
    cells = json.loads(data)["cells"]
    for title in ("found", "changed"):
        for entry in report[title]:
            source = "".join(cells[entry["cell"] - 1]["source"]).splitlines()
            assert cells[entry["cell"] - 1]["cell_type"] == "code"
            assert 1 <= entry["line"] <= max(len(source), 1), entry
    trainer = next(e for e in report["changed"] if e["kind"] == "trainer")
    loop_cell = cells[trainer["cell"] - 1]
    assert "".join(loop_cell["source"]).splitlines()[trainer["line"] - 1].startswith("for epoch")
    changed_cells = [e["cell"] for e in report["changed"] if e["kind"] == "cell"]
    assert changed_cells == [2, 8, 10, 11, 12, 14]


def test_a_line_a_message_names_is_given_as_cell_and_line():
    show = cell("def show_lr():\n    print(optimizer.param_groups[0]['lr'])")
    doc = loop_notebook()
    doc["cells"].insert(3, show)
    doc["cells"][-1]["source"] += ["\n", "    show_lr()"]
    result = convert_notebook(jupyter_bytes(doc))
    assert not result.changed
    assert result.reason == (
        "cell 4, line 2: `optimizer` moves into the LightningModule (cell 3, line 2) but "
        "show_lr() still reads it here"
    )


# -- the JSON layout ----------------------------------------------------------------------------


LAYOUTS = {
    "jupyter": dict(indent=1, sort_keys=True, ensure_ascii=False),
    "indent 2, keys unsorted": dict(indent=2, ensure_ascii=False),
    "indent 4, escaped unicode": dict(indent=4, ensure_ascii=True),
    "tabs": dict(indent="\t", ensure_ascii=False),
}


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("bom", [False, True], ids=["", "bom"])
@pytest.mark.parametrize("final_newline", [True, False], ids=["newline", "no-newline"])
def test_the_files_own_json_layout_is_kept(name, crlf, bom, final_newline):
    note = cell("# Données\n\nÉté ☀", kind="markdown")
    doc = loop_notebook(note, cell("print(model)", outputs=[stream("Linear(…)\n")], count=9))
    doc["metadata"]["custom"] = {"z": 1, "a": [1.5, None, True]}

    def dump(d: dict) -> bytes:
        text = json.dumps(d, **LAYOUTS[name]) + ("\n" if final_newline else "")
        text = text.replace("\n", "\r\n") if crlf else text
        return (codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8")

    result = convert_notebook(dump(doc))
    assert result.changed and not result.relaid
    expected = json.loads(result.data.decode("utf-8-sig"))
    assert result.data == dump(expected)
    assert [c.number for c in result.cells] == [1, 3, 4]


def test_a_layout_that_does_not_round_trip_is_written_as_jupyter_writes_it():
    doc = loop_notebook()
    odd = json.dumps(doc, indent=1).replace('"nbformat": 4', '"nbformat" :  4')
    result = convert_notebook(odd.encode())
    assert result.changed and result.relaid
    assert result.data == jupyter_bytes(json.loads(result.data))


def test_a_cell_kept_as_one_string_stays_one_string():
    doc = loop_notebook()
    doc["cells"][2]["source"] = LOOP_CELLS[2]
    after = json.loads(convert_notebook(jupyter_bytes(doc)).data)["cells"][2]["source"]
    assert after == "model = nn.Linear(4, 1)"


# -- IPython syntax -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "%matplotlib inline",
        "!pip install torch",
        "!!ls",
        "files = !ls",
        "t = %timeit -o f()",
        "a, b = !echo 1 2",
        "%time x = 1",
        "DataLoader?",
        "model.forward??",
        "?torch.nn",
        "    !echo indented",
    ],
)
def test_ipython_lines_are_found(line):
    assert ipython_lines(f"x = 1\n{line}\ny = 2\n") == [(1, 1)]


@pytest.mark.parametrize(
    "text",
    [
        'x = "%d" % 3',
        "a = b != c",
        "x %= 3",
        'print("why?")',
        "x = 1  # really?",
        'doc = """\n%not a magic\n!nor this\n"""',
        "total = (a +\n    b)\n",
        "value = f(\n    x)?",  # `?` inside a continued statement is not IPython's help
        "s = 'it\\'s %d' % 1",
    ],
)
def test_python_is_not_taken_for_ipython(text):
    assert ipython_lines(text) == []


def test_a_shell_command_continued_by_backslashes_is_one_command():
    text = "!pip install \\\n    torch \\\n    numpy\nx = 1\n"
    assert ipython_lines(text) == [(0, 2)]


def test_get_ipython_is_python_but_is_left_out_of_a_plain_run():
    text = 'get_ipython().run_line_magic("matplotlib", "inline")\nx = 1\n'
    assert ipython_lines(text) == []
    assert ipython_lines(text, runtime=True) == [(0, 0)]


@pytest.mark.parametrize(
    ("text", "magic"),
    [("%%time\nx = 1", "time"), ("\n%%bash\nls", "bash"), ("%time x = 1", None), ("x = 1", None)],
)
def test_cell_magics(text, magic):
    assert cell_magic(text) == magic


def test_ipython_syntax_is_kept_exactly_and_never_parsed():
    doc = loop_notebook()
    doc["cells"][0]["source"] = [
        "!pip install torch\n",
        "%matplotlib inline\n",
        *doc["cells"][0]["source"],
    ]
    doc["cells"].insert(1, cell("%%bash\nfor f in *; do echo $f; done\n", count=7))
    doc["cells"].insert(2, cell("%load_ext autoreload\n%autoreload 2", count=8))
    loop = doc["cells"][-1]
    loop["source"] = [
        "%time z = 1\n",
        *loop["source"],
        "\n",
        "    !echo epoch done\n",
        "print('ok')?",
    ]
    result = convert_notebook(jupyter_bytes(doc))
    assert result.changed, result.reason
    after = sources(result.data)
    assert after[0].startswith("!pip install torch\n%matplotlib inline\nimport torch\n")
    assert after[1] == "%%bash\nfor f in *; do echo $f; done\n"  # a cell magic: untouched
    assert after[2] == "%load_ext autoreload\n%autoreload 2"
    assert after[-1].startswith("%time z = 1\n")
    assert after[-1].endswith("print('ok')?")
    # the shell command ran at each epoch's end: it moved into that hook, at its indentation
    assert "    def on_train_epoch_end(self):\n        !echo epoch done\n" in after[-1]
    assert [c.number for c in result.cells] == [1, 5, 6]  # the IPython-only cells unchanged


def test_a_training_loop_inside_a_cell_magic_is_left_and_said_why():
    doc = loop_notebook()
    doc["cells"][-1]["source"] = ["%%time\n", *doc["cells"][-1]["source"]]
    result = convert_notebook(jupyter_bytes(doc))
    assert not result.changed
    assert result.reason.startswith("cell 4: its training loop is in a cell magic")


def test_the_marker_word_in_the_notebook_is_no_problem():
    doc = loop_notebook(cell(f'print("{joining.TOKEN} cell 2")'))
    result = convert_notebook(jupyter_bytes(doc))
    assert result.changed
    assert sources(result.data)[-1] == f'print("{joining.TOKEN} cell 2")'


def test_split_refuses_a_script_whose_cell_boundary_moved():
    joined = joining.join([(1, "a = 1"), (3, "%time b = 2"), (4, "c = 3")])
    assert joining.split(joined, joined.text) == {1: "a = 1", 3: "%time b = 2", 4: "c = 3"}
    swapped = joined.text.replace("cell 3", "cell 9").replace("cell 4", "cell 3")
    with pytest.raises(joining.SplitProblem):
        joining.split(joined, swapped.replace("cell 9", "cell 4"))
    lost = "\n".join(line for line in joined.text.splitlines() if "ipython" not in line)
    with pytest.raises(joining.SplitProblem, match="`%time b = 2` was lost"):
        joining.split(joined, lost)


def test_runnable_script_runs_the_code_cells_in_order_without_ipython():
    doc = loop_notebook(cell("%%time\nprint('timed')"), cell("%%bash\necho no"))
    doc["cells"][0]["source"].insert(0, "%matplotlib inline\n")
    doc["cells"].insert(1, cell("not python", kind="raw"))
    script = runnable_script(jupyter_bytes(doc))
    compile(script, "runnable", "exec")
    assert "# cell 1\npass\nimport torch\n" in script
    assert "not python" not in script and "echo no" not in script
    assert script.endswith("# cell 6\nprint('timed')\n")  # %%time runs its body; %%bash not


# -- what is not converted, and bad notebooks -----------------------------------------------------


def test_a_notebook_in_another_language_is_left_alone():
    doc = loop_notebook()
    doc["metadata"]["kernelspec"]["language"] = "R"
    result = convert_notebook(jupyter_bytes(doc))
    assert not result.changed and result.reason == "not a Python notebook (its kernel runs r)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"cells": [', "the JSON does not parse at line 1, column 12"),
        (b"\xff\xfe{}", "is not UTF-8"),
        (b"[1, 2]", "the JSON is not an object"),
        (b'{"cells": []}', 'no "nbformat" version'),
        (json.dumps({"nbformat": 3, "worksheets": []}).encode(), "nbformat 3 notebook: only"),
        (json.dumps({"nbformat": 4, "metadata": {}}).encode(), 'no "cells" list'),
    ],
)
def test_bad_notebooks_are_refused_with_a_reason(data, message):
    with pytest.raises(NotebookProblem, match=message.replace("(", r"\(").replace("[", r"\[")):
        convert_notebook(data)


def test_a_code_cell_that_does_not_parse_is_named_with_its_line():
    doc = loop_notebook()
    doc["cells"].insert(2, cell("# data\nx = (1,\n", kind="markdown"))
    doc["cells"].insert(3, cell("y = 1\ndef broken(:\n    pass"))
    with pytest.raises(NotebookProblem) as caught:
        convert_notebook(jupyter_bytes(doc))
    assert caught.value.where() == "cell 4, line 2"
    assert "make it a raw cell" in caught.value.message


# -- the general mechanism: any script, split into cells ------------------------------------------

SCRIPTS = sorted((ROOT / "tests" / "golden").glob("*.in.py"))
# The evaluation's final print in a cell of its own: it stays there, reading the totals the
# conversion hands back after trainer.test (the script's conversion moves it into the hook).
HANDED_BACK = {"cifar_tutorial": "correct, total = net.correct, net.total"}


def paragraphs(source: str) -> list[str]:
    """The script cut into cells where a blank line precedes a top-level statement (its comments
    going with it), as people cut a script into notebook cells."""
    lines = source.splitlines(keepends=True)
    cuts = []
    for node in ast.parse(source).body[1:]:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
        while first > 0 and lines[first - 1].startswith("#"):
            first -= 1
        if first > 0 and not lines[first - 1].strip():
            cuts.append(first)
    bounds = [0, *cuts, len(lines)]
    return ["".join(lines[a:b]).strip("\n") for a, b in zip(bounds, bounds[1:])]


def without_lightning_import(code: str) -> list[str]:
    """Code lines, blank lines and the imports the conversion adds left out: it adds them after
    the script's leading imports, and a marker between two cells ends those."""
    return [
        line
        for line in code.splitlines()
        if line.strip() and not re.fullmatch(r"import (pytorch_lightning as pl\w*|torch|os)", line)
    ]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name.removesuffix(".in.py"))
def test_a_script_cut_into_cells_converts_as_the_script_does(script):
    source = script.read_text(encoding="utf-8")
    cells = paragraphs(source)
    assert len(cells) >= 2
    data = jupyter_bytes(document(*(cell(c) for c in cells)))
    result = convert_notebook(data, filename=script.name)
    assert result.changed, result.reason
    after = sources(result.data)
    assert convert_notebook(result.data).changed is False
    case = script.name.removesuffix(".in.py")
    if case in HANDED_BACK:
        assert after[-1] == cells[-1] and HANDED_BACK[case] in after[-2]
        return
    expected = convert_source(source, filename=script.name).code
    assert without_lightning_import("\n\n".join(after)) == without_lightning_import(expected)


def test_code_the_conversion_would_move_across_cells_is_declined_with_the_reason():
    """The README's limit: an evaluation's accumulators in one cell, its loop in the next."""
    source = (ROOT / "tests" / "golden" / "cifar_tutorial.in.py").read_text(encoding="utf-8")
    cells = []
    for text in paragraphs(source):
        head = "correct = 0\ntotal = 0\n"
        cells += [head.strip(), text.removeprefix(head)] if text.startswith(head) else [text]
    assert "correct = 0\ntotal = 0" in cells
    result = convert_notebook(jupyter_bytes(document(*(cell(c) for c in cells))))
    assert not result.changed
    assert "`correct` is carried across the training loop from code outside it" in result.reason
    assert result.reason.startswith("cell ")


def test_a_cell_over_the_nesting_budget_is_named_with_its_line():
    doc = loop_notebook()
    doc["cells"].insert(1, cell("y = 1\nx = " + "[" * 150 + "]" * 150))
    with pytest.raises(NotebookProblem) as caught:
        convert_notebook(jupyter_bytes(doc))
    assert caught.value.where() == "cell 2, line 2"
    assert caught.value.message.startswith("too deeply nested to convert")
