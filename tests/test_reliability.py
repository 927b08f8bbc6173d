"""No data loss, no hang, no traceback: the command line against hostile paths, files and signals.

Each test is a regression test for an item of issue 12 (or issue 9's syntax-error position), run
as users run the tool: a child process on real files. Huge and deeply nested inputs are generated
here; ``tests/adversarial/`` keeps the corpus that ``test_adversarial.py`` runs everything over.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
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

LOOP_WORDS = "def run(loss, opt):\n    loss.backward()\n    opt.step()\n"
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file kinds and signals")


# --- --report that is an input (item 2) ------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--check", "--report", "a.py", "a.py"],
        ["--report", "b.py", "a.py", "b.py"],
        ["--report", "src/c.py", "src"],
        ["--diff", "--report", "./src/../a.py", "a.py"],
        ["a.py", "-o", "out.py", "--report", "out.py"],
    ],
)
def test_a_report_path_that_is_an_input_or_an_output_is_refused(tmp_path, args):
    source = converting_source()
    for name in ("a.py", "b.py", "src/c.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(source)
    before = snapshot(tmp_path)
    proc = cli("convert", *args, cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 2, err
    assert re.search(r"--report \S+ is (the input|where)", err), err
    assert snapshot(tmp_path) == before


# --- deep nesting, huge files: the parse budgets (item 8) -------------------------------------

TRAINING_TAIL = "\nloss.backward()\nopt.step()\n"
HOSTILE = {
    # name: (source, what the one-line error says)
    "parens.py": ("x = " + "(" * 5000 + "1" + ")" * 5000 + TRAINING_TAIL, "too many nested"),
    "brackets.py": ("x = " + "[" * 2000 + "1" + "]" * 2000 + TRAINING_TAIL, "too many nested"),
    "minus.py": ("x = " + "-" * 10000 + "1" + TRAINING_TAIL, "nested too deeply"),
    "sum.py": ("x = " + " + ".join(["a"] * 20000) + TRAINING_TAIL, "nested too deeply"),
    "sum2000.py": ("x = " + " + ".join(["a"] * 2000) + TRAINING_TAIL, "too deeply nested"),
    "and.py": ("x = " + " and ".join(["a"] * 20000) + TRAINING_TAIL, "too deeply nested"),
    "big.py": (
        "x = 1\n" * 900_000 + TRAINING_TAIL,
        "too large to convert: 5.1 MiB (the limit is 256 KiB per file)",
    ),
}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_deep_and_huge_files_get_one_line_each_and_the_run_goes_on(tmp_path, jobs):
    for name, (source, _) in HOSTILE.items():
        (tmp_path / name).write_text(source)
    (tmp_path / "zz_good.py").write_text(converting_source())
    (tmp_path / "big_data.py").write_text("x = 1\n" * 900_000)  # no training words
    before = snapshot(tmp_path)
    start = time.monotonic()
    proc = cli("convert", "-j", jobs, ".", cwd=tmp_path, timeout=60)
    err = err_of(proc)
    assert proc.returncode == 123, err
    assert "Traceback" not in err
    for name, (_, says) in HOSTILE.items():
        assert re.search(rf"^{re.escape(name)}(:\d+:\d+)?: .*{re.escape(says)}", err, re.M), err
    assert "converted zz_good.py" in err
    assert "unchanged big_data.py: no training loop" in err
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k != "zz_good.py"} == {
        k: v for k, v in before.items() if k != "zz_good.py"
    }
    assert time.monotonic() - start < 30  # all of it is refused before LibCST sees it


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the workers in /proc")
def test_a_worker_that_dies_is_a_one_line_error_per_file(tmp_path):
    """Whatever kills a -j worker (a native crash, the OOM killer): no BrokenProcessPool
    traceback, each file it left is named, the exit status is 123."""
    _tree_of_conversions(tmp_path / "tree", 16)
    proc = subprocess.Popen(
        command("convert", "-j", "2", "tree"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
    )
    first = first_line(proc)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert children, "no worker processes"
    os.kill(int(children[0]), signal.SIGKILL)
    _, rest = proc.communicate(timeout=60)
    err = (first + rest).decode()
    assert proc.returncode == 123, err
    assert "Traceback" not in err
    assert re.search(r"^tree/\S+: not processed: a converting process ended abruptly", err, re.M)


def test_budgets_in_the_library():
    from converter.parsing import MAX_DEPTH, MAX_SOURCE_CHARS, SourceRejected

    with pytest.raises(SourceRejected, match="too large"):
        convert_source("x = 1\n" * (MAX_SOURCE_CHARS // 6 + 1))
    nested = "x = " + "-" * (MAX_DEPTH + 5) + "1\n"
    with pytest.raises(SourceRejected) as info:
        convert_source(nested)
    assert info.value.line == 1 and info.value.column > 1
    fits = "x = " + "-" * (MAX_DEPTH - 10) + "1\n" + LOOP_WORDS
    assert convert_source(fits).code == fits


def test_syntax_errors_are_reported_where_python_reports_them(tmp_path):
    """Issue 9, item 4: LibCST says line 4 for a colon missing on line 2."""
    source = "import torch\nfor x in range(3)\n    loss.backward()\n    opt.step()\n"
    with pytest.raises(SyntaxError) as info:
        compile(source, "file.py", "exec")
    assert info.value.lineno == 2
    (tmp_path / "file.py").write_text(source)
    proc = cli("convert", "file.py", cwd=tmp_path)
    assert proc.returncode == 123
    assert err_of(proc).splitlines()[0] == (
        f"file.py:2:{info.value.offset}: cannot parse: expected ':'"
    )


# --- unreadable folders, odd codecs, odd names, devices (item 9) -----------------------------


@posix_only
def test_a_folder_nobody_may_read_under_a_walked_folder(tmp_path):
    preexec = without_file_permission_override()
    tree = tmp_path / "tree"
    (tree / "closed").mkdir(parents=True)
    (tree / "closed" / "b.py").write_text(LOOP_WORDS)
    (tree / "a.py").write_text(LOOP_WORDS)
    (tree / "locked.py").write_text(LOOP_WORDS)
    (tree / "locked.py").chmod(0)
    (tree / "closed").chmod(0)
    try:
        proc = cli("convert", "tree", cwd=tmp_path, preexec_fn=preexec)
    finally:
        (tree / "closed").chmod(0o755)
    err = err_of(proc)
    assert proc.returncode == 123, err
    assert "Traceback" not in err
    assert "tree/closed: cannot read directory: Permission denied" in err
    assert "tree/locked.py: cannot read: Permission denied" in err
    assert "unchanged tree/a.py" in err


def test_an_undefined_coding_is_one_line(tmp_path):
    (tmp_path / "a.py").write_bytes(b"# coding: undefined\nloss.backward()\nopt.step()\n")
    (tmp_path / "b.py").write_text(LOOP_WORDS)
    proc = cli("convert", ".", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 123, err
    assert re.search(r"^a\.py: cannot decode: the coding line names undefined", err, re.M), err
    assert "unchanged b.py" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "data", [b"\xff\xfe", b"\xfe\xff", b""], ids=["le-bom", "be-bom", "no-bom"]
)
def test_utf16_is_named_as_such(tmp_path, data):
    codec = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be", b"": "utf-16-le"}[data]
    (tmp_path / "wide.py").write_bytes(data + LOOP_WORDS.encode(codec))
    proc = cli("convert", "wide.py", cwd=tmp_path)
    assert proc.returncode == 123
    assert re.fullmatch(
        r"wide\.py: UTF-16 text (without a byte order mark )?is not supported \(Python reads "
        r"source only in UTF-8 or another ASCII-compatible encoding\): save (the file|it) as "
        r"UTF-8",
        err_of(proc).splitlines()[0],
    ), err_of(proc)


@posix_only
@pytest.mark.skipif(sys.platform == "darwin", reason="macOS file systems reject such names")
def test_a_file_name_that_is_not_utf8_with_diff_and_report(tmp_path):
    name = b"bad\xff.py"
    source = converting_source()
    path = os.path.join(os.fsencode(tmp_path), name)
    with open(path, "wb") as handle:
        handle.write(source.encode())
    proc = cli("convert", "--diff", "--report", "report.txt", ".", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert proc.stdout.startswith(b"--- " + name + b"\t(original)\n+++ " + name), proc.stdout[:80]
    assert b"\n" + name + b": would be converted" in (tmp_path / "report.txt").read_bytes()
    proc = cli("convert", "--check", "--json", ".", cwd=tmp_path)
    assert json.loads(proc.stdout)["files"][0]["file"] == os.fsdecode(name)
    # The diff is a patch for that very file.
    proc = cli("convert", "--diff", ".", cwd=tmp_path)
    patched = subprocess.run(["patch", "-p0", "--quiet"], cwd=tmp_path, input=proc.stdout)
    assert patched.returncode == 0
    with open(path, "rb") as handle:
        assert handle.read() == convert_source(source).code.encode()


@posix_only
def test_devices_are_not_read(tmp_path):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    (tmp_path / "ok.py").write_text(LOOP_WORDS)
    proc = cli("convert", "/dev/zero", "ok.py", cwd=tmp_path, timeout=60)
    err = err_of(proc)
    assert proc.returncode == 123, err
    assert "/dev/zero: not a regular file (a character device); skipped" in err
    assert "unchanged ok.py" in err
    with open("/dev/zero", "rb") as zero:
        proc = subprocess.run(
            command("convert", "-"),
            cwd=tmp_path,
            stdin=zero,
            capture_output=True,
            env=child_env(),
            timeout=60,
        )
    assert proc.returncode == 123
    assert "<stdin>: too large to read" in err_of(proc)


# --- FIFOs (item 10) --------------------------------------------------------------------------


@posix_only
def test_named_pipes_are_reported_and_skipped(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.py").write_text(LOOP_WORDS)
    os.mkfifo(tree / "pipe.py")
    os.mkfifo(tree / "data.fifo")
    os.mkfifo(tmp_path / "named.py")
    for args in (["named.py", "tree"], ["tree", "-o", "out"], ["-j", "2", "tree", "named.py"]):
        proc = cli("convert", *args, cwd=tmp_path, timeout=60)
        err = err_of(proc)
        assert proc.returncode == 123, (args, err)
        assert "Traceback" not in err
        assert "tree/pipe.py: not a regular file (a named pipe); skipped" in err
        if "named.py" in args:
            assert "named.py: not a regular file (a named pipe); skipped" in err
        if "-o" in args:
            assert "tree/data.fifo: not a regular file (a named pipe); skipped" in err
            assert (tmp_path / "out" / "a.py").read_text() == convert_source(LOOP_WORDS).code
            assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.py"]
        assert re.search(r"^unchanged tree/a\.py", err, re.M), err


# --- interrupts and signals (items 11, 13) ----------------------------------------------------


def _tree_of_conversions(root: Path, count: int) -> tuple[str, str]:
    source = converting_source()
    for i in range(count):
        (root / f"d{i % 4}").mkdir(parents=True, exist_ok=True)
        (root / f"d{i % 4}" / f"t{i:02d}.py").write_text(source)
    return source, convert_source(source).code


def _interrupt(tmp_path: Path, jobs: str, signals: list[int], group: bool):
    proc = subprocess.Popen(
        command("convert", "-j", jobs, "tree"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        start_new_session=True,
    )
    first = first_line(proc)  # the first file is done
    for i, sig in enumerate(signals):
        if i:
            time.sleep(0.02)
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
    try:
        _, rest = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"-j {jobs}: still running 60 s after {signals}: it hangs")
    return proc.returncode, (first + rest).decode()


@posix_only
@pytest.mark.parametrize(
    "jobs,signals,group,code",
    [
        ("2", [signal.SIGINT, signal.SIGINT], True, 130),  # Ctrl-C twice within 50 ms
        ("1", [signal.SIGINT], True, 130),
        ("1", [signal.SIGTERM], False, 143),
        ("2", [signal.SIGTERM], False, 143),
        ("1", [signal.SIGHUP], False, 129),  # the terminal went away (issue 21)
        ("2", [signal.SIGHUP], False, 129),
    ],
    ids=["j2-ctrl-c-twice", "j1-ctrl-c", "j1-sigterm", "j2-sigterm", "j1-sighup", "j2-sighup"],
)
def test_an_interrupted_run_stops_and_names_every_file_it_wrote(
    tmp_path, jobs, signals, group, code
):
    original, converted = _tree_of_conversions(tmp_path / "tree", 24)
    returncode, err = _interrupt(tmp_path, jobs, signals, group)
    assert returncode == code, err
    assert "Traceback" not in err and "interrupted" in err
    named = set(re.findall(r"^converted (\S+)", err, re.M))
    written = set()
    for path in sorted((tmp_path / "tree").rglob("*.py")):
        data = path.read_text()
        assert data in (original, converted), f"{path} is neither the original nor converted"
        if data == converted:
            written.add(str(path.relative_to(tmp_path)))
    assert named == written, err
    assert temp_files(tmp_path) == []
    summary = re.search(r"^Interrupted: (\d+) files? converted, .* (\d+) not processed", err, re.M)
    assert summary and int(summary.group(1)) == len(written), err


@posix_only
def test_sigterm_to_the_whole_group_leaves_no_temporary_file(tmp_path):
    """Workers die on SIGTERM as usual, but only between writes."""
    original, converted = _tree_of_conversions(tmp_path / "tree", 16)
    returncode, err = _interrupt(tmp_path, "2", [signal.SIGTERM], True)
    assert returncode == 143, err
    assert "Traceback" not in err
    assert temp_files(tmp_path) == []
    for path in (tmp_path / "tree").rglob("*.py"):
        assert path.read_text() in (original, converted)


# --- what is written: line endings, encodings, links (item 13) --------------------------------


def test_cr_only_line_endings_keep_the_last_one(tmp_path):
    source = converting_source().replace("\n", "\r")
    (tmp_path / "mac.py").write_bytes(source.encode())
    proc = cli("convert", "mac.py", cwd=tmp_path)
    assert proc.returncode == 0, err_of(proc)
    out = (tmp_path / "mac.py").read_bytes()
    assert out != source.encode() and out.endswith(b"\r") and b"\n" not in out
    assert convert_source(source).code.endswith("\r")


@pytest.mark.skipif(shutil.which("patch") is None, reason="needs patch")
@pytest.mark.parametrize("encoding", ["latin-1", "utf-8-sig"])
def test_the_diff_is_in_the_files_encoding_and_applies_with_patch(tmp_path, encoding):
    cookie = "# -*- coding: latin-1 -*-\n" if encoding == "latin-1" else ""
    # Non-ASCII text on every line next to an import, where the conversion adds its own.
    lines = [
        line + ("  # r\xe9seau na\xeff" if line.startswith(("import ", "from ")) else "")
        for line in converting_source().split("\n")
    ]
    # A first line the hunk shows: the BOM (or the coding line) is part of the patch's context.
    source = cookie + "import os  # \xe9tape 1\n" + "\n".join(lines)
    (tmp_path / "train.py").write_bytes(source.encode(encoding))
    proc = cli("convert", "--diff", "train.py", cwd=tmp_path)
    assert proc.returncode == 0, err_of(proc)
    assert "r\xe9seau".encode(encoding.replace("-sig", "")) in proc.stdout
    patched = subprocess.run(
        ["patch", "-p0", "--quiet"], cwd=tmp_path, input=proc.stdout, capture_output=True
    )
    assert patched.returncode == 0, patched.stdout + patched.stderr
    assert (tmp_path / "train.py").read_bytes() == convert_source(source).code.encode(encoding)


@posix_only
def test_hard_links_are_said_to_be_broken(tmp_path):
    source = converting_source()
    (tmp_path / "train.py").write_text(source)
    os.link(tmp_path / "train.py", tmp_path / "backup.py")
    proc = cli("convert", "train.py", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 0, err
    assert "converted train.py (it had 2 hard links: this name is a new file now" in err
    assert (tmp_path / "backup.py").read_text() == source
    assert (tmp_path / "train.py").read_text() == convert_source(source).code
    assert os.stat(tmp_path / "train.py").st_nlink == 1
    assert stat.S_ISREG(os.stat(tmp_path / "backup.py").st_mode)
