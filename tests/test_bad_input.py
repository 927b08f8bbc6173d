"""Bad input and hostile conditions, through the command line as users run it.

Syntax errors, encodings, BOMs, CRLF, tabs, unreadable and non-Python paths, and interruptions:
each gives a clear message, leaves the file untouched, and does not stop the other files.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import libcst
import pytest

from converter import convert_source
from tests.support.cli import first_line, without_file_permission_override

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "tests" / "fuzz_seeds"

LOOP_WORDS = "def run(loss, opt):\n    loss.backward()\n    opt.step()\n"
BROKEN = "import torch\n\ndef train(model:\n    loss.backward()\n    opt.step()\n"


def child_env() -> dict[str, str]:
    """The environment for a child: this checkout first on the import path."""
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def cli(*args, cwd: Path, stdin: bytes | None = None, timeout: float = 120, **kw):
    env = child_env()
    return subprocess.run(
        [sys.executable, "-m", "converter", *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=env,
        **kw,
    )


def err_of(proc) -> str:
    return proc.stderr.decode("utf-8", "replace")


def converting_sample() -> tuple[str, str]:
    candidates = (
        sorted((ROOT / "tests" / "golden").glob("*.in.py"))
        + sorted((ROOT / "fixtures").glob("*.py"))
        + sorted(SEEDS.glob("*.py"))
    )
    for path in candidates:
        source = path.read_text(encoding="utf-8")
        try:
            if convert_source(source, filename=path.name).changed:
                return path.name.replace(".in.py", ".py"), source
        except Exception:  # noqa: BLE001 - a sample the converter cannot take yet
            continue
    pytest.skip("convert_source converts none of the sample scripts yet (returns them unchanged)")


def require_parse_errors() -> None:
    try:
        convert_source(BROKEN)
    except libcst.ParserSyntaxError:
        return
    pytest.skip("convert_source does not parse its input yet (no ParserSyntaxError)")


# --- syntax errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [[], ["--check"], ["--diff"], ["-j", "2"]])
def test_syntax_error_is_one_line_and_does_not_stop_the_others(tmp_path, flags):
    require_parse_errors()
    (tmp_path / "bad.py").write_text(BROKEN)
    (tmp_path / "good.py").write_text(LOOP_WORDS)
    (tmp_path / "plain.py").write_text("x = 1\n")
    proc = cli("convert", *flags, "bad.py", "good.py", "plain.py", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 123, err
    assert "Traceback" not in err
    with pytest.raises(SyntaxError) as info:  # the position Python itself reports
        compile(BROKEN, "bad.py", "exec")
    line, col = info.value.lineno, info.value.offset
    assert re.search(rf"^bad\.py:{line}:{col}: cannot parse: \S", err, re.M), err
    assert "unchanged good.py" in err or "convert good.py" in err
    assert "unchanged plain.py" in err
    assert "1 could not be processed" in err
    assert (tmp_path / "bad.py").read_text() == BROKEN


def test_syntax_error_message_format():
    """The message shape, from a real LibCST error (the CLI uses the same function)."""
    from converter.cli.file_runner import syntax_error_message

    with pytest.raises(libcst.ParserSyntaxError) as info:
        libcst.parse_module("x = (1,\ny = 2\n")
    message = syntax_error_message("a.py", info.value)
    assert re.fullmatch(r"a\.py:\d+:\d+: cannot parse: [^\n]+", message), message
    assert "parser error" not in message


# --- encodings, BOM, newlines, tabs ----------------------------------------------------------

LATIN1 = (
    "# -*- coding: latin-1 -*-\r\n"
    "# Entra\xeenement: r\xe9seau na\xeff\r\n"
    "def run(loss, opt):\r\n"
    "\tloss.backward()\r\n"
    "\topt.step()  # \xe9tape\r\n"
).encode("latin-1")
BOM = b"\xef\xbb\xbf" + LOOP_WORDS.encode()
MIXED = b"def run(loss, opt):\r\n\tloss.backward()\n\topt.step()\r\n"


@pytest.mark.parametrize("data", [LATIN1, BOM, MIXED], ids=["latin1-crlf-tabs", "bom", "mixed"])
def test_bytes_survive_every_mode(tmp_path, data):
    src = tmp_path / "src"
    src.mkdir()
    script = src / "train.py"
    script.write_bytes(data)
    mtime = script.stat().st_mtime_ns
    text = data.decode("latin-1" if data is LATIN1 else "utf-8-sig")
    if convert_source(text).changed:
        pytest.skip("this snippet converts; the converted variants are tested below")

    proc = cli("convert", "src", cwd=tmp_path)
    assert proc.returncode == 0, err_of(proc)
    assert script.read_bytes() == data and script.stat().st_mtime_ns == mtime
    proc = cli("convert", "--diff", "src", cwd=tmp_path)
    assert (proc.returncode, proc.stdout) == (0, b"")
    proc = cli("convert", "src", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 0, err_of(proc)
    assert (tmp_path / "out" / "train.py").read_bytes() == data
    proc = cli("convert", "-", cwd=tmp_path, stdin=data)
    assert (proc.returncode, proc.stdout) == (0, data)


def _tabs(source: str) -> str:
    lines = []
    for line in source.split("\n"):
        stripped = line.lstrip(" ")
        lines.append(
            "\t" * ((len(line) - len(stripped)) // 4)
            + " " * ((len(line) - len(stripped)) % 4)
            + stripped
        )
    return "\n".join(lines)


@pytest.mark.parametrize("variant", ["latin1-crlf", "bom", "tabs-crlf"])
def test_converted_files_keep_encoding_bom_and_newlines(tmp_path, variant):
    name, source = converting_sample()
    if variant == "latin1-crlf":
        text = "# -*- coding: latin-1 -*-\n# r\xe9seau na\xeff\n" + source
        encoding, newline = "latin-1", "\r\n"
    elif variant == "bom":
        text, encoding, newline = source, "utf-8-sig", "\n"
    else:
        text, encoding, newline = _tabs(source), "utf-8", "\r\n"
    text = text.replace("\n", newline)
    result = convert_source(text)
    if not result.changed:
        pytest.skip(f"the {variant} variant of {name} does not convert")
    (tmp_path / name).write_bytes(text.encode(encoding))

    proc = cli("convert", name, cwd=tmp_path)
    assert proc.returncode == 0, err_of(proc)
    out = (tmp_path / name).read_bytes()
    assert out == result.code.encode(encoding)  # exactly the library's text, encoded back
    if encoding == "utf-8-sig":
        assert out.startswith(b"\xef\xbb\xbf") and not out[3:].startswith(b"\xef\xbb\xbf")
    if encoding == "latin-1":
        assert "# r\xe9seau na\xeff\r\n".encode("latin-1") in out
    if newline == "\r\n":
        assert b"\n" not in out.replace(b"\r\n", b""), "a bare LF crept in"


def test_undecodable_file_is_reported_and_the_others_go_on(tmp_path):
    (tmp_path / "a_invalid.py").write_bytes(b"x = 1\nloss.backward()  # caf\xe9\n")
    (tmp_path / "b_cookie.py").write_bytes(b"# coding: no-such-codec\nloss.backward()\n")
    (tmp_path / "c_fine.py").write_text(LOOP_WORDS)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    proc = cli("convert", ".", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 123, err
    assert re.search(
        r"^a_invalid\.py: cannot decode: line 2, column \d+: not valid utf-8", err, re.M
    )
    assert re.search(r"^b_cookie\.py: cannot decode: .*no-such-codec", err, re.M), err
    assert "c_fine.py" in err and "2 could not be processed" in err
    assert "Traceback" not in err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


# --- not Python, not readable, not there -----------------------------------------------------


def test_non_python_files(tmp_path):
    (tmp_path / "notes.txt").write_text("loss.backward()\n")
    (tmp_path / "weights.py").write_bytes(b"\x80\x02backward\x00\x00\xff")
    (tmp_path / "train").write_text("#!/usr/bin/env python3\n" + LOOP_WORDS)
    proc = cli("convert", "notes.txt", "weights.py", "train", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 123, err
    assert "notes.txt: not a Python file (no .py suffix and no python #! line)" in err
    assert "weights.py: not a Python file (contains NUL bytes)" in err
    assert re.search(r"^(unchanged|converted) train", err, re.M), err  # a python #! is enough
    proc = cli("convert", "train", cwd=tmp_path)
    assert proc.returncode == 0


def test_missing_and_dangling_paths(tmp_path):
    (tmp_path / "dangling.py").symlink_to(tmp_path / "gone.py")
    (tmp_path / "ok.py").write_text("x = 1\n")
    proc = cli("convert", "missing.py", "dangling.py", "ok.py", cwd=tmp_path)
    err = err_of(proc)
    assert proc.returncode == 123
    assert "missing.py: no such file or directory" in err
    assert "dangling.py: cannot read: No such file or directory" in err
    assert "unchanged ok.py" in err
    assert "Traceback" not in err


def test_unreadable_file_and_folder(tmp_path):
    preexec = without_file_permission_override()  # root obeys modes too, in the child
    locked = tmp_path / "locked.py"
    locked.write_text(LOOP_WORDS)
    locked.chmod(0)
    folder = tmp_path / "closed"
    folder.mkdir()
    (folder / "a.py").write_text(LOOP_WORDS)
    folder.chmod(0)
    try:
        proc = cli("convert", "locked.py", "closed", cwd=tmp_path, preexec_fn=preexec)
    finally:
        folder.chmod(0o755)
    err = err_of(proc)
    assert proc.returncode == 123
    assert "locked.py: cannot read: Permission denied" in err
    assert "closed: cannot read directory: Permission denied" in err


def test_symlinked_file_named_on_the_command_line_is_converted_through_the_link(tmp_path):
    name, source = converting_sample()
    real = tmp_path / "real" / name
    real.parent.mkdir()
    real.write_text(source)
    link = tmp_path / "link.py"
    link.symlink_to(real)
    proc = cli("convert", "link.py", cwd=tmp_path)
    assert proc.returncode == 0, err_of(proc)
    assert link.is_symlink()
    assert real.read_text() == convert_source(source).code


# --- atomic writes ---------------------------------------------------------------------------

_WRITER = """
import sys
from pathlib import Path
from converter.parsing import parse_module
from converter.cli.writing import atomic_write
parse_module("x = 1\\n")  # as in a real run, a parse thread exists beside the writer
target = Path(sys.argv[1])
blobs = [b"A" * 8_000_000, b"B" * 12_000_000]
print("ready", flush=True)
i = 0
while True:
    atomic_write(target, blobs[i % 2])
    i += 1
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_interrupted_writes_leave_old_or_new_content(tmp_path, sig):
    target = tmp_path / "train.py"
    target.write_bytes(b"A" * 8_000_000)
    target.chmod(0o640)
    rng = random.Random(sig)
    env = child_env()
    for _ in range(8):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(target)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.01, 0.3))
        proc.send_signal(sig)
        proc.communicate(timeout=30)
        data = target.read_bytes()
        assert data in (b"A" * 8_000_000, b"B" * 12_000_000), (len(data), data[:1], data[-1:])
        assert stat.S_IMODE(target.stat().st_mode) == 0o640
        leftovers = [p for p in tmp_path.iterdir() if p != target]
        if sig != signal.SIGKILL:
            assert leftovers == []  # signals wait until the write is done (or cleaned up)
        for p in leftovers:  # SIGKILL gives no chance to clean up; they are hidden temp files
            assert p.name.startswith(".train.py.") and p.name.endswith(".t2l-tmp")
            p.unlink()


def test_atomic_write_keeps_mode_and_follows_links(tmp_path):
    script = """
import os, sys
from pathlib import Path
from converter.cli.writing import atomic_write
atomic_write(Path(sys.argv[1]), b"new\\n")
atomic_write(Path(sys.argv[2]), b"linked\\n")
atomic_write(Path(sys.argv[3]), b"fresh\\n")
"""
    target = tmp_path / "exe.py"
    target.write_text("old\n")
    target.chmod(0o751)
    real = tmp_path / "real.py"
    real.write_text("old\n")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    proc = subprocess.run(
        [sys.executable, "-c", script, target, link, tmp_path / "fresh.py"],
        env=child_env(),
        capture_output=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert link.is_symlink() and real.read_bytes() == b"linked\n"
    assert (tmp_path / "fresh.py").read_bytes() == b"fresh\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "exe.py",
        "fresh.py",
        "link.py",
        "real.py",
    ]


def test_ctrl_c_during_a_run_leaves_each_file_old_or_fully_converted(tmp_path):
    name, source = converting_sample()
    tree = tmp_path / "tree"
    for i in range(60):
        (tree / f"d{i % 6}").mkdir(parents=True, exist_ok=True)
        (tree / f"d{i % 6}" / f"t{i}.py").write_text(source + f"# {i}\n")
    for jobs in ("1", "2"):
        env = child_env()
        proc = subprocess.Popen(
            [sys.executable, "-m", "converter", "convert", "-j", jobs, "tree"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        # Wait for the first file to be done, then press Ctrl-C (the whole process group).
        first = first_line(proc)
        os.killpg(proc.pid, signal.SIGINT)
        _, rest = proc.communicate(timeout=120)
        err = (first + rest).decode()
        assert proc.returncode in (130, 0), err
        assert "Traceback" not in err
        if proc.returncode == 130:
            assert "interrupted" in err
        converted = 0
        for path in sorted(tree.rglob("*")):
            if path.is_dir():
                continue
            assert path.suffix == ".py", f"left behind: {path}"
            n = int(path.stem[1:])
            data = path.read_text()
            assert data in (source + f"# {n}\n", convert_source(source + f"# {n}\n").code), (
                f"-j {jobs}: {path} is neither the original nor its conversion\n{err}"
            )
            converted += data != source + f"# {n}\n"
        assert converted >= 1, f"-j {jobs}: nothing converted before the interrupt\n{err}"
        for path in tree.rglob("*.py"):  # back to the originals for the next round
            path.write_text(source + f"# {path.stem[1:]}\n")


# --- odd but valid ---------------------------------------------------------------------------


def test_empty_and_whitespace_only_files(tmp_path):
    for name, data in {"empty.py": b"", "blank.py": b"\n\n", "cr.py": b"\r\n"}.items():
        (tmp_path / name).write_bytes(data)
    proc = cli("convert", "--json", "--check", ".", cwd=tmp_path)
    assert proc.returncode == 0, err_of(proc)
    doc = json.loads(proc.stdout)
    assert {f["file"]: f["status"] for f in doc["files"]} == dict.fromkeys(
        ["blank.py", "cr.py", "empty.py"], "unchanged"
    )
