"""Issue 21 (reliability, round 3): a run never loses a change it did not make, never leaves a
process behind, writes through like black, and says what is true.

As users run it: the command line in a child process, on real files, with real signals.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from converter import convert_source
from tests.support.cli import (
    child_env,
    cli,
    command,
    converting_source,
    err_of,
    first_line,
    snapshot,
    temp_files,
    without_file_permission_override,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and file modes")
with_proc = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads /proc")


def slow_source(pad: int = 6000) -> str:
    """A script that converts and takes seconds to (thousands of statements after training)."""
    return converting_source() + "\n" + "pad_ = 0\n" * pad


# --- 1. a change made while a file is converted is kept ----------------------------------------


def test_an_edit_saved_while_the_file_is_converted_is_kept(tmp_path):
    """`convert big.py &`, then an edit to big.py: the run leaves the edited file and says so."""
    (tmp_path / "a.py").write_text(converting_source())
    big = tmp_path / "big.py"
    big.write_text(slow_source())
    proc = subprocess.Popen(
        command("convert", "a.py", "big.py"),
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        env=child_env(),
    )
    first = first_line(proc)  # a.py is written: big.py is being read and converted now
    assert first.startswith(b"converted a.py"), first
    time.sleep(0.3)
    with open(big, "a") as handle:
        handle.write("# an edit made meanwhile\n")
    _, rest = proc.communicate(timeout=120)
    err = (first + rest).decode()
    assert proc.returncode == 123, err
    assert re.search(r"^big\.py: it changed on disk while it was being converted", err, re.M), err
    assert big.read_text() == slow_source() + "# an edit made meanwhile\n"
    assert temp_files(tmp_path) == []


def test_two_runs_on_one_tree_never_overwrite_each_other(tmp_path):
    """`convert t` and `convert --target fabric t` at once: each file is converted by one run
    only, and holds that run's conversion; the other run says it left the file."""
    source = slow_source(4000)
    names = [f"t{i}.py" for i in range(3)]
    for name in names:
        (tmp_path / name).write_text(source)
    runs = {
        target: subprocess.Popen(
            command("convert", "--target", target, *names),
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            env=child_env(),
        )
        for target in ("pytorch_lightning", "fabric")
    }
    said = {target: run.communicate(timeout=300)[1].decode() for target, run in runs.items()}
    codes = {target: convert_source(source, target=target).code for target in runs}
    for target, run in runs.items():
        assert run.returncode in (0, 123), said[target]
        assert "Traceback" not in said[target]
    for name in names:
        converted_by = [t for t in runs if re.search(rf"^converted {name}\b", said[t], re.M)]
        assert len(converted_by) == 1, (name, said)
        assert (tmp_path / name).read_text() == codes[converted_by[0]], name
        (other,) = set(runs) - set(converted_by)
        assert re.search(
            rf"^{name}: it changed on disk while it was being converted"
            rf"|^unchanged {name}: .*it uses Lightning already",
            said[other],
            re.M,
        ), said[other]
    assert temp_files(tmp_path) == []


# --- 2. every way a run ends ends its workers, and names every file written --------------------


def _tree(root: Path, count: int) -> tuple[str, str]:
    source = converting_source()
    for i in range(count):
        (root / f"d{i % 4}").mkdir(parents=True, exist_ok=True)
        (root / f"d{i % 4}" / f"t{i:02d}.py").write_text(source)
    return source, convert_source(source).code


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; its new parent reaps it


@posix_only
@with_proc
@pytest.mark.parametrize(
    "sig,code",
    [(signal.SIGHUP, 129), (signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGKILL, None)],
    ids=["sighup", "sigterm", "sigint", "sigkill"],
)
def test_no_worker_outlives_the_run(tmp_path, sig, code):
    original, converted = _tree(tmp_path / "tree", 24)
    proc = subprocess.Popen(
        command("convert", "-j", "2", "tree"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        start_new_session=True,
    )
    first = first_line(proc)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text()
    workers = [int(pid) for pid in children.split()]
    assert len(workers) == 2, workers
    proc.send_signal(sig)
    _, rest = proc.communicate(timeout=60)
    err = (first + rest).decode()
    deadline = time.monotonic() + 30
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), f"workers left running after {sig!r}"
    for path in (tmp_path / "tree").rglob("*.py"):
        assert path.read_text() in (original, converted), path
    assert temp_files(tmp_path) == []
    if code is None:
        return  # SIGKILL: the run could say nothing
    assert proc.returncode == code, err
    assert "Traceback" not in err
    written = {
        str(p.relative_to(tmp_path))
        for p in (tmp_path / "tree").rglob("*.py")
        if p.read_text() == converted
    }
    assert set(re.findall(r"^converted (\S+)", err, re.M)) == written, err
    summary = re.search(r"^Interrupted: (\d+) files? converted", err, re.M)
    assert summary and int(summary.group(1)) == len(written), err


# --- 3. writing through: read-only files, metadata, -o, --report -------------------------------


@posix_only
def test_a_read_only_file_is_left_as_it_is(tmp_path):
    """A file whose mode gives no one the right to write (444) is refused, as black and ruff
    refuse it for any user but root; here for root too (the mode's own refusal)."""
    source = converting_source()
    script = tmp_path / "train.py"
    script.write_text(source)
    script.chmod(0o444)
    proc = cli("convert", "train.py", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 123, err
    assert "train.py: is read-only (mode 444); left as it is" in err
    assert script.read_text() == source
    assert cli("convert", "--check", "train.py", cwd=tmp_path).returncode == 1  # checked still


@posix_only
def test_a_file_this_user_may_not_write_is_left_as_it_is(tmp_path):
    """The run is a user who may not write the file (mode 644, owned by someone else) but may
    write its folder: renaming a new file over it would work, and is not done. As root the
    child drops the capability that lets root write anything, so it is such a user."""
    drop = without_file_permission_override()
    source = converting_source()
    script = tmp_path / "train.py"
    script.write_text(source)
    script.chmod(0o644)
    if os.geteuid() == 0:
        os.chown(script, 65534, 65534)
    else:
        pytest.skip("needs another user's file: run as root, which can make one")
    proc = cli("convert", "train.py", cwd=tmp_path, preexec_fn=drop)
    err = err_of(proc)
    assert proc.returncode == 123, err
    assert "train.py: is read-only (mode 644); left as it is" in err
    assert script.read_text() == source
    assert script.stat().st_uid == 65534


_ACL_UNDEFINED = 0xFFFFFFFF


def _acl(*entries: tuple[int, int, int]) -> bytes:
    """A POSIX ACL as Linux stores it in `system.posix_acl_access`."""
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


@pytest.mark.skipif(not hasattr(os, "setxattr"), reason="extended attributes are Linux's")
def test_owner_group_mode_xattrs_and_acls_are_kept(tmp_path):
    source = converting_source()
    script = tmp_path / "train.py"
    script.write_text(source)
    script.chmod(0o640)
    try:
        os.setxattr(script, "user.origin", b"kept")
    except OSError:
        pytest.skip("this file system takes no user extended attributes")
    if os.geteuid() == 0:
        os.chown(script, 1234, 5678)
    acl = _acl(
        (0x01, 6, _ACL_UNDEFINED),  # owner rw-
        (0x02, 6, 4321),  # user 4321 rw-
        (0x04, 4, _ACL_UNDEFINED),  # group r--
        (0x10, 6, _ACL_UNDEFINED),  # mask rw-
        (0x20, 0, _ACL_UNDEFINED),  # others ---
    )
    try:
        os.setxattr(script, "system.posix_acl_access", acl)
    except OSError:
        acl = None  # no ACLs on this file system: the rest still holds
    before = script.stat()
    proc = cli("convert", "train.py", cwd=tmp_path)
    assert proc.returncode == 0, err_of(proc)
    after = script.stat()
    assert script.read_text() == convert_source(source).code
    assert after.st_ino != before.st_ino  # replaced, not written into
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert stat.S_IMODE(after.st_mode) == stat.S_IMODE(before.st_mode)
    assert os.getxattr(script, "user.origin") == b"kept"
    if acl is not None:
        assert os.getxattr(script, "system.posix_acl_access") == acl


def test_output_onto_an_existing_file_says_it_replaced_it(tmp_path):
    source = converting_source()
    (tmp_path / "train.py").write_text(source)
    (tmp_path / "train_pl.py").write_text("my own notes\n")
    proc = cli("convert", "train.py", "-o", "train_pl.py", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 0, err
    assert "converted train.py -> train_pl.py (replaced the existing train_pl.py)" in err
    assert (tmp_path / "train_pl.py").read_text() == convert_source(source).code
    fresh = cli("convert", "train.py", "-o", "new_pl.py", cwd=tmp_path)
    assert "converted train.py -> new_pl.py\n" in err_of(fresh)  # a new file: nothing replaced
    doc = json.loads(cli("convert", "train.py", "-o", "train_pl.py", "--json", cwd=tmp_path).stdout)
    assert doc["files"][0]["replaced"] == "replaced the existing train_pl.py"


@posix_only
def test_output_does_not_follow_a_symlink(tmp_path):
    source = converting_source()
    (tmp_path / "train.py").write_text(source)
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not to be overwritten\n")
    (tmp_path / "out.py").symlink_to(elsewhere)
    proc = cli("convert", "train.py", "-o", "out.py", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 0, err
    assert "(replaced the symlink out.py (to " in err
    assert elsewhere.read_text() == "not to be overwritten\n"
    assert not (tmp_path / "out.py").is_symlink()
    assert (tmp_path / "out.py").read_text() == convert_source(source).code


@posix_only
@pytest.mark.parametrize(
    "input_mode,output_mode",
    [(0o444, 0o644), (0o755, 0o755), (0o4755, 0o755), (0o600, 0o600)],
    ids=["read-only", "executable", "setuid", "private"],
)
def test_output_mode_is_the_inputs_as_cp_gives_it_and_writable(tmp_path, input_mode, output_mode):
    (tmp_path / "train.py").write_text(converting_source())
    (tmp_path / "train.py").chmod(input_mode)
    proc = cli("convert", "train.py", "-o", "out.py", cwd=tmp_path, umask=0o022)
    assert proc.returncode == 0, err_of(proc)
    assert stat.S_IMODE((tmp_path / "out.py").stat().st_mode) == output_mode


@posix_only
@pytest.mark.parametrize(
    "args,says",
    [
        (["train.py", "--report", "notes.txt"], "--report notes.txt is the input train.py"),
        (["train.py", "--report", "missing/report.txt"], "the folder missing does not exist"),
        (["--check", "train.py", "--report", "missing/r.txt"], "the folder missing does not"),
    ],
    ids=["hard-link-of-an-input", "no-such-folder", "no-such-folder-check"],
)
def test_the_report_path_is_checked_before_anything_is_converted(tmp_path, args, says):
    (tmp_path / "train.py").write_text(converting_source())
    os.link(tmp_path / "train.py", tmp_path / "notes.txt")
    before = snapshot(tmp_path)
    proc = cli("convert", *args, cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 2, err
    assert says in err
    assert "converted" not in err
    assert snapshot(tmp_path) == before


# --- 4. messages that tell the truth -----------------------------------------------------------

CLASS_SCRIPT = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        return self.fc(x)


model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8, 1))
loader = torch.utils.data.DataLoader(data, batch_size=4)
for epoch in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
"""


def test_the_model_class_is_named_at_its_own_line(tmp_path):
    (tmp_path / "train.py").write_text(CLASS_SCRIPT)
    proc = cli("convert", "--check", "-v", "train.py", cwd=tmp_path)
    assert "train.py:5: changed module: Net is now a LightningModule" in err_of(proc)


def test_a_while_epoch_loop_is_named_at_the_while_with_the_fabric_fallback(tmp_path):
    script = CLASS_SCRIPT.replace("for epoch in range(2):", "epoch = 0\nwhile epoch < 2:")
    (tmp_path / "train.py").write_text(script + "    epoch += 1\n")
    err = err_of(cli("convert", "--check", "train.py", cwd=tmp_path))
    assert (
        "unchanged train.py: line 19: the epoch loop is a `while` loop, which it cannot lift "
        "into the Trainer's fixed number of epochs; `--fallback fabric` converts it to Fabric"
    ) in err


def test_a_converted_file_converted_again_is_said_to_use_lightning(tmp_path):
    (tmp_path / "train.py").write_text(CLASS_SCRIPT)
    assert cli("convert", "train.py", "-o", "trainer.py", cwd=tmp_path).returncode == 0
    fabric = cli("convert", "--target", "fabric", "train.py", "-o", "fabric.py", cwd=tmp_path)
    assert fabric.returncode == 0
    proc = cli("convert", "trainer.py", "fabric.py", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 0, err
    assert (
        "unchanged trainer.py: it uses Lightning already (line 3: `import pytorch_lightning as "
        "pl`): nothing to convert"
    ) in err
    assert re.search(
        r"^unchanged fabric\.py: .*\(it uses Lightning already: line \d+: `from lightning",
        err,
        re.M,
    ), err
    assert "no training loop" not in err


def test_five_hundred_adjacent_string_literals_are_declined_for_what_they_are(tmp_path):
    literals = " ".join(['"a"'] * 500)
    (tmp_path / "train.py").write_text(CLASS_SCRIPT + f"banner = {literals}\n")
    proc = cli("convert", "train.py", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 123, err
    assert re.search(
        r"^train\.py:24:10: too deeply nested to convert: 500 adjacent string literals, which "
        r"LibCST nests one in another",
        err,
        re.M,
    ), err


def test_a_decline_in_a_copied_function_names_the_scripts_own_lines(tmp_path):
    """A message that names a line names it in the script (or its module), not in the internal
    text with the copied functions."""
    (tmp_path / "utils.py").write_text(
        "from torch import nn\n\n\n"
        "def train_one_epoch(model, loader, optimizer):\n"
        "    for x, y in loader:\n"
        "        optimizer.zero_grad()\n"
        "        loss = nn.functional.mse_loss(model(x), y)\n"
        "        loss.backward()\n"
        "        optimizer.step()\n"
    )
    (tmp_path / "train.py").write_text(
        "import torch\n"
        "from torch import nn\n\n"
        "from utils import train_one_epoch\n\n\n"
        "def report():\n"
        '    print(optimizer.param_groups[0]["lr"])\n\n\n'
        "model = nn.Linear(4, 1)\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "data = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8, 1))\n"
        "loader = torch.utils.data.DataLoader(data, batch_size=4)\n"
        "for epoch in range(2):\n"
        "    train_one_epoch(model, loader, optimizer)\n"
        "    report()\n"
    )
    err = err_of(cli("convert", "--check", "train.py", cwd=tmp_path))
    assert (
        "unchanged train.py: line 8: `optimizer` moves into the LightningModule (line 12) but "
        "report() still reads it here"
    ) in err


def _notebook(cells: list[str], newline: str = "\n") -> str:
    doc = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": [line.replace("\n", newline) for line in c.splitlines(keepends=True)],
            }
            for c in cells
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _cells_of(script: str) -> list[str]:
    """The script's blocks as cells, their last line without a line ending, as Jupyter has it."""
    return [c.strip("\n") for c in script.split("\n\n\n")]


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr-only"])
def test_notebook_cells_keep_their_line_endings(tmp_path, newline):
    (tmp_path / "nb.ipynb").write_text(_notebook(_cells_of(CLASS_SCRIPT), newline))
    proc = cli("convert", "nb.ipynb", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 0, err
    assert "converted nb.ipynb (cells 1, 2, 3 changed" in err
    doc = json.loads((tmp_path / "nb.ipynb").read_text())
    for cell in doc["cells"]:
        text = "".join(cell["source"])
        assert text.replace(newline, "") == text.replace("\r", "").replace("\n", ""), repr(text)
    assert "LightningModule" in "".join(doc["cells"][1]["source"])


@pytest.mark.parametrize(
    "data,says",
    [
        ("this is not JSON", "not a notebook: the JSON does not parse at line 1, column 1"),
        (
            _notebook(["x = 1\n"]).replace('"nbformat": 4', f'"big": {"9" * 5000}, "nbformat": 4'),
            "cannot read its JSON: a number in it is too long for Python",
        ),
    ],
    ids=["not-json-without-training-words", "a-5000-digit-number"],
)
def test_a_notebook_that_cannot_be_read_is_an_error(tmp_path, data, says):
    (tmp_path / "nb.ipynb").write_text(data)
    proc = cli("convert", "nb.ipynb", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 123, err
    assert f"nb.ipynb: {says}" in err
    assert "internal" not in err and "Traceback" not in err
    assert (tmp_path / "nb.ipynb").read_text() == data


def test_a_converted_notebook_converted_again_is_said_to_use_lightning(tmp_path):
    (tmp_path / "nb.ipynb").write_text(_notebook(_cells_of(CLASS_SCRIPT)))
    assert cli("convert", "nb.ipynb", cwd=tmp_path).returncode == 0
    err = err_of(cli("convert", "nb.ipynb", cwd=tmp_path))
    assert (
        "unchanged nb.ipynb: it uses Lightning already (cell 1, line 3: `import "
        "pytorch_lightning as pl`): nothing to convert"
    ) in err


# --- the budgets hold -------------------------------------------------------------------------

_PEAK = """
import resource, subprocess, sys
run = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
print(run.returncode, peak, run.stderr.strip().splitlines()[0], sep="\\n")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in KiB on Linux")
def test_a_file_at_the_node_budget_stays_under_the_memory_the_readme_gives(tmp_path):
    """The costliest shape measured (short calls, one node budget's worth) stays under 0.4 GB;
    256 KiB of one-name statements (260,000 nodes, 2 GB before the node budget) is refused."""
    from converter.parsing import MAX_NODES

    calls = (MAX_NODES - 200) // 5  # `f(a, b)`: an Expr, a Call and three Names
    (tmp_path / "calls.py").write_text(CLASS_SCRIPT + "f(a, b)\n" * calls)
    (tmp_path / "names.py").write_text(CLASS_SCRIPT + "a\n" * (256 * 1024 // 2 - 400))
    for name, code, says in [
        ("calls.py", "1", "would convert calls.py"),
        ("names.py", "123", "names.py: too large to convert: more than 40,000 syntax-tree nodes"),
    ]:
        probe = subprocess.run(
            [sys.executable, "-c", _PEAK, *command("convert", "--check", name)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=child_env(),
            timeout=300,
        )
        returncode, peak, first = probe.stdout.splitlines()
        assert (returncode, first.startswith(says)) == (code, True), probe.stdout
        assert int(peak) < 400 * 1024, f"{name}: {int(peak) / 1024:.0f} MiB"


ONE_LINE_SCRIPT = """\
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Linear(2, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loss = model(torch.ones(4, 2)).pow(2).mean()
loss.backward()
optimizer.step()
print(f"loss {loss.item():.4f}")
"""


@pytest.mark.training
def test_verify_counts_one_printed_line_as_one_line(tmp_path):
    (tmp_path / "a.py").write_text(ONE_LINE_SCRIPT)
    (tmp_path / "b.py").write_text(ONE_LINE_SCRIPT)
    proc = cli("verify", "a.py", "--against", "b.py", cwd=tmp_path, timeout=300)
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + err_of(proc)
    assert "printed output: 1 line compared (original 1, lightning 1): the same" in out


FABRIC_RECEIVED_MODEL = """\
import torch
from torch import nn
from tqdm import tqdm


def train(net, loader, epochs):
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    for epoch in tqdm(range(epochs)):
        for x, y in loader:
            opt.zero_grad()
            loss = nn.functional.mse_loss(net(x), y)
            loss.backward()
            opt.step()


data = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8, 1))
train(nn.Linear(4, 1), torch.utils.data.DataLoader(data, batch_size=4), 2)
"""


def test_a_fabric_decline_names_the_batches_not_the_epoch(tmp_path):
    (tmp_path / "train.py").write_text(FABRIC_RECEIVED_MODEL)
    err = err_of(cli("convert", "--check", "--target", "fabric", "train.py", cwd=tmp_path))
    assert "unchanged train.py: line 9: the batches (`x`) come from a loader made outside" in err
