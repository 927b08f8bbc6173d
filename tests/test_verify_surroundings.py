"""What a script finds around it under verify, as under `python train.py` in its own folder:
what ships beside it, copied into each run's fresh folder first (converter/verify/beside.py),
so relative paths resolve and the user's folder is never written to; a notebook importing from
its working folder, as its kernel does; and a terminal to ask for its size (`stty size`), whose
reads end at once, as a closed stdin's (converter/verify/runs.py)."""

from __future__ import annotations

import socket
import textwrap

import pytest

from tests.test_verify import explain, needs_lightning, verify

SCRIPT = textwrap.dedent(
    """\
    from pathlib import Path

    import torch
    from torch import nn

    if not Path("helpers.py").is_file():  # a notebook downloads its helpers when missing
        raise SystemExit("helpers.py is missing: it would be downloaded")
    scale = float(open("data/scale.txt").read())
    torch.manual_seed(0)
    x = torch.randn(32, 4) * scale
    y = x.sum(1, keepdim=True)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for epoch in range(2):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            optimizer.step()
        print(epoch, round(loss.item(), 4))
    torch.save(model.state_dict(), "model.pt")
    """
)


@pytest.mark.training
@needs_lightning
def test_relative_paths_read_what_ships_beside_the_script_and_nothing_is_written_there(tmp_path):
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "train.py").write_text(SCRIPT)
    (project / "helpers.py").write_text("")
    (project / "data" / "scale.txt").write_text("0.5\n")
    listener = socket.socket(socket.AF_UNIX)  # what cannot be copied is left out, no crash
    listener.bind(str(project / "data" / "listener"))
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    result = verify(project / "train.py", cwd=tmp_path)
    assert result.returncode == 0, explain(result)
    assert "files compared: 1 (model.pt)" in result.stdout  # not the copies
    assert result.stdout.splitlines()[-1].startswith("EQUIVALENT")
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before
    listener.close()


@pytest.mark.training
@needs_lightning
def test_a_notebook_imports_from_its_working_folder_as_its_kernel_does(tmp_path):
    """A Jupyter kernel imports from its working folder: a notebook run with `--cwd DIR` finds
    the helpers module a cell downloaded or wrote there, beside neither notebook."""
    import nbformat

    body = SCRIPT.replace('scale = float(open("data/scale.txt").read())', "scale = SCALE")
    body = "from helpers import SCALE\n" + body
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(body)]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(notebook, tmp_path / "notebooks" / "train.ipynb")
    work = tmp_path / "work"
    work.mkdir()
    (work / "helpers.py").write_text("SCALE = 0.5\n")
    result = verify(tmp_path / "notebooks" / "train.ipynb", "--cwd", work, cwd=tmp_path)
    assert result.returncode == 0, explain(result)
    assert result.stdout.splitlines()[-1].startswith("EQUIVALENT")


TERMINAL = textwrap.dedent(
    """\
    import os

    import torch
    from torch import nn

    _, width = os.popen("stty size", "r").read().split()  # a progress bar drawn to the width
    torch.manual_seed(0)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    model = nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(2):
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            optimizer.step()
        print("=" * (int(width) // 8), round(loss.item(), 4))
    try:
        input("continue? ")
    except EOFError:
        print("no more input")
    """
)


@pytest.mark.training
@needs_lightning
def test_a_script_that_asks_its_terminal_for_its_size_runs_and_input_ends_at_once(tmp_path):
    (tmp_path / "train.py").write_text(TERMINAL)
    result = verify(tmp_path / "train.py", "--timeout", "120", cwd=tmp_path)
    assert result.returncode == 0, explain(result)
    assert "printed output: 3 lines compared (original 3, lightning 3): the same" in result.stdout
