"""The adversarial corpus: inputs that once broke the command line (see README.md here).

``build(root)`` lays the corpus out under ``root/tree`` (plus named paths beside it) and returns
what each case must give. Small cases are files in ``files/``; huge, deep, binary and special
ones (named pipes, devices, undecodable names, unreadable folders) are made here, at test time.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

FILES = Path(__file__).resolve().parent / "files"
WORDS = "\nloss.backward()\nopt.step()\n"  # past the pre-filter: the file gets parsed

ERROR, CONVERTED, UNCHANGED = "error", "converted", "unchanged"


@dataclass(frozen=True)
class Case:
    path: str  # relative to the run's folder (may hold surrogate escapes)
    expect: str  # ERROR, CONVERTED or UNCHANGED
    says: str = ""  # for ERROR: text of its one-line message
    at: str = ""  # for ERROR: the exact ":line:column" after the path, when it matters
    named: bool = False  # passed on the command line (not found by walking ``tree``)
    output_only: bool = False  # an error only with --output (a file copied, not converted)
    needs_modes: bool = False  # an error only where file modes bind (see build)


def _deep(expression: str) -> str:
    return f"x = {expression}{WORDS}"


def build(root: Path, training_script: str, modes_bind: bool) -> list[Case]:
    """Write the corpus under ``root``. ``training_script`` is a script the converter rewrites;
    ``modes_bind`` says whether the run will obey file modes (not root, or root without its
    file capabilities), so that an unreadable folder is one."""
    tree = root / "tree"
    tree.mkdir(parents=True)
    cases: list[Case] = []

    def add(name: str, data: str | bytes, expect: str, says: str = "") -> None:
        path = tree / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        cases.append(Case(f"tree/{name}", expect, says))

    for static in sorted(FILES.iterdir()):
        shutil.copy(static, tree / static.name)
    cases.append(Case("tree/coding_undefined.py", ERROR, "cannot decode: the coding line names"))
    cases.append(Case("tree/syntax_error_line2.py", ERROR, "cannot parse: expected ':'", ":2:18"))

    # Nesting that segfaulted LibCST, or took minutes; all refused before LibCST parses.
    add("parens_5000.py", _deep("(" * 5000 + "1" + ")" * 5000), ERROR, "too many nested")
    add("brackets_2000.py", _deep("[" * 2000 + "1" + "]" * 2000), ERROR, "too many nested")
    add("minus_10000.py", _deep("-" * 10000 + "1"), ERROR, "nested too deeply")
    add("sum_20000.py", _deep(" + ".join(["a"] * 20000)), ERROR, "nested too deeply")
    add("sum_2000.py", _deep(" + ".join(["a"] * 2000)), ERROR, "too deeply nested")
    add("and_20000.py", _deep(" and ".join(["a"] * 20000)), ERROR, "too deeply nested")
    add("elif_500.py", "if a: pass\n" + "elif a: pass\n" * 500 + WORDS, ERROR, "too deeply")
    add("strings_10000.py", _deep(" ".join(["'a'"] * 10000)), ERROR, "adjacent string literals")
    add("import_10000.py", "import " + ".".join(["a"] * 10000) + WORDS, ERROR, "too deeply")
    # Size: a 5 MB script with the training words is refused at once; without them it is
    # skipped by the pre-filter, as cheaply as any other file.
    add("huge.py", "x = 1\n" * 900_000 + WORDS, ERROR, "too large to convert")
    add("huge_no_words.py", "x = 1\n" * 900_000, UNCHANGED)
    sparse = tree / "sparse.py"  # 32 MiB of nothing, never read
    with open(sparse, "wb") as handle:
        handle.truncate(32 * 1024 * 1024 + 1)
    cases.append(Case("tree/sparse.py", ERROR, "too large to read"))
    # Encodings and line endings.
    add("utf16_bom.py", b"\xff\xfe" + WORDS.encode("utf-16-le"), ERROR, "UTF-16 text")
    add("utf16_no_bom.py", ("import torch" + WORDS).encode("utf-16-le"), ERROR, "UTF-16 text")
    latin1 = "# -*- coding: latin-1 -*-\nimport os  # r\xe9seau\n" + training_script
    add("latin1.py", latin1.encode("latin-1"), CONVERTED)
    add("cr_only.py", training_script.replace("\n", "\r"), CONVERTED)
    # LibCST drops a form feed that begins a line of code: refused, not silently changed.
    add("form_feed.py", "import os\n\x0cos.sep\n" + training_script, ERROR, "text back exactly")
    if os.name == "posix":
        name = os.fsdecode(b"bad\xff.py")  # not UTF-8: the diff and report carry its bytes
        add(name, training_script, CONVERTED)
        # Named pipes: reading or copying one blocked forever.
        os.mkfifo(tree / "pipe.py")
        cases.append(Case("tree/pipe.py", ERROR, "not a regular file (a named pipe)"))
        os.mkfifo(tree / "data.fifo")
        cases.append(
            Case("tree/data.fifo", ERROR, "not a regular file (a named pipe)", output_only=True)
        )
        os.mkfifo(root / "named_pipe.py")
        cases.append(Case("named_pipe.py", ERROR, "not a regular file", named=True))
        if os.path.exists("/dev/zero"):
            (root / "zero.py").symlink_to("/dev/zero")  # read whole: MemoryError
            cases.append(Case("zero.py", ERROR, "(a character device)", named=True))
        closed = tree / "closed"  # PermissionError traceback while walking
        closed.mkdir()
        (closed / "inside.py").write_text(training_script)
        closed.chmod(0)
        if modes_bind:
            cases.append(Case("tree/closed", ERROR, "cannot read directory", needs_modes=True))
    add("good.py", training_script, CONVERTED)
    add("plain.py", "print('no training here')\n", UNCHANGED)
    return cases


def reopen(root: Path) -> None:
    """Give back the modes the corpus took away, so that it can be deleted."""
    closed = root / "tree" / "closed"
    if closed.exists():
        closed.chmod(0o755)
