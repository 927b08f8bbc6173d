"""The file layer of the command line: which files to convert, how to read and write them.

Nothing here imports LibCST or torch. Three promises:

* discovery walks directories for ``.py`` files, skipping the usual folders that hold no user
  code (version control, virtual environments, caches, build output);
* a file's bytes survive the round trip: the encoding comes from ``tokenize.detect_encoding``
  (PEP 263 coding line, BOM), text is decoded without newline translation, and encoded back the
  same way, BOM included, so CRLF endings, tabs and non-UTF-8 text stay exactly as they were;
* writes are atomic: a temporary file next to the target, then ``os.replace``, keeping the file's
  mode, so an interrupted run leaves every file either as it was or fully written.
"""

from __future__ import annotations

import contextlib
import fnmatch
import io
import os
import re
import stat
import tempfile
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Folder names never entered while walking a directory (a folder named on the command line is
#: always entered). A folder holding ``pyvenv.cfg`` (a virtual environment by any name) is also
#: skipped.
EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        ".venv",
        "venv",
        ".direnv",
        "__pycache__",
        "__pypackages__",
        "build",
        "dist",
        "_build",
        "buck-out",
        ".eggs",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
        "node_modules",
        "site-packages",
    }
)

#: Suffixes accepted for a file named on the command line (a directory walk takes ``.py`` only).
PYTHON_SUFFIXES = (".py", ".pyw")

STDIN = "-"

_SHEBANG = re.compile(rb"^#![^\n]*\bpython[\d.]*\b")
# A training loop calls backward() on a loss and step() on an optimizer: a file that lacks either
# word cannot hold one. Checked on the text before any parse (a regular expression search costs
# a fraction of a millisecond; the converter's parse and analysis cost tens to hundreds).
_BACKWARD = re.compile(r"\bbackward\b")
_STEP_CALL = re.compile(r"\bstep\s*\(")


class UsageProblem(ValueError):
    """The paths and options do not fit together (reported as a usage error, exit 2)."""


@dataclass(frozen=True)
class Source:
    """One Python file to convert. ``path`` is None for standard input."""

    path: Path | None
    display: str
    explicit: bool = False  # named on the command line (not found by a walk)
    dest: Path | None = None  # where the result goes with --output


@dataclass
class Discovery:
    sources: list[Source] = field(default_factory=list)
    #: Non-Python files to copy as they are with --output (source, destination).
    others: list[tuple[Path, Path]] = field(default_factory=list)
    #: Paths that cannot be processed (missing, unreadable folders): (path, full message).
    problems: list[tuple[str, str]] = field(default_factory=list)
    #: Things worth saying that are not failures (a folder without Python files...).
    warnings: list[str] = field(default_factory=list)
    #: Things said with -v only (skipped symlinks...).
    notes: list[str] = field(default_factory=list)


def is_excluded_dir(path: Path, name: str, extra: Sequence[str] = ()) -> bool:
    if name in EXCLUDED_DIRS or name.endswith(".egg-info"):
        return True
    if any(fnmatch.fnmatch(name, pattern) for pattern in extra):
        return True
    return (path / "pyvenv.cfg").is_file()


def _display_join(top: str, rel: str) -> str:
    return os.path.normpath(os.path.join(top, rel))


def _walk(
    top: str,
    extra_excludes: Sequence[str],
    skip_real: str | None,
    found: Discovery,
    want_others: bool,
) -> Iterable[tuple[str, str, bool]]:
    """Yield (display path, path relative to top, is_python) for files under ``top``, sorted."""

    def onerror(err: OSError) -> None:
        where = str(err.filename)
        found.problems.append((where, f"{where}: cannot read directory: {err.strerror}"))

    for dirpath, dirnames, filenames in os.walk(top, onerror=onerror):
        base = Path(dirpath)
        kept = []
        for name in sorted(dirnames):
            sub = base / name
            if sub.is_symlink():
                found.notes.append(f"{_display_join(dirpath, name)}: symlinked folder, skipped")
            elif is_excluded_dir(sub, name, extra_excludes):
                continue
            elif skip_real is not None and os.path.realpath(sub) == skip_real:
                continue  # the --output folder inside the input tree
            else:
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if any(fnmatch.fnmatch(name, pattern) for pattern in extra_excludes):
                continue
            full = base / name
            rel = os.path.relpath(full, top)
            is_python = name.endswith((".py", ".ipynb"))  # notebooks are converted too
            if full.is_symlink():
                if is_python:
                    found.notes.append(f"{_display_join(dirpath, name)}: symlink, skipped")
                continue
            if is_python or want_others:
                yield _display_join(dirpath, name), rel, is_python


def discover(
    paths: Sequence[str], output: Path | None = None, extra_excludes: Sequence[str] = ()
) -> Discovery:
    """Expand PATH arguments into the files to convert (in order, each once).

    With ``output``: a single file input writes to ``output`` (or into it, when it is an existing
    folder); a single folder input is mirrored into ``output``; several inputs each go to
    ``output/<name>``. Non-Python files of mirrored folders are listed in ``others`` so the output
    tree is complete.
    """
    found = Discovery()
    seen: set[str] = set()
    if list(paths).count(STDIN) > 1:
        raise UsageProblem("'-' (standard input) can be given only once")
    out_real = os.path.realpath(output) if output is not None else None
    several = len(paths) > 1
    dest_names: dict[str, str] = {}

    for arg in paths:
        if arg == STDIN:
            dest = output if (output is not None and not several) else None
            if output is not None and several:
                raise UsageProblem("'-' with --output needs to be the only input")
            if dest is not None and dest.is_dir():
                raise UsageProblem(f"--output {output}: a folder; '-' needs an output file")
            found.sources.append(Source(None, "<stdin>", explicit=True, dest=dest))
            continue
        path = Path(arg)
        if not os.path.lexists(path):
            found.problems.append((arg, f"{arg}: no such file or directory"))
            continue
        real = os.path.realpath(path)
        if output is not None:
            if real == out_real:
                raise UsageProblem(
                    f"--output {output} is the input {arg}; leave out --output to convert in place"
                )
            if path.is_dir() and out_real is not None and _is_within(real, out_real):
                raise UsageProblem(f"--output {output} lies inside the input {arg}")
            name = _base_name(arg)
            if several:
                if name in dest_names:
                    raise UsageProblem(
                        f"{arg} and {dest_names[name]} would both be written to "
                        f"{output / name}; convert them separately"
                    )
                dest_names[name] = arg
        if path.is_dir():
            if output is None:
                root_dest = None
            elif several:
                root_dest = output / _base_name(arg)
            else:
                if output.exists() and not output.is_dir():
                    raise UsageProblem(
                        f"--output {output} is a file; a folder input needs a folder"
                    )
                root_dest = output
            count = 0
            for display, rel, is_python in _walk(
                str(path), extra_excludes, out_real, found, want_others=output is not None
            ):
                dest = root_dest / rel if root_dest is not None else None
                if not is_python:
                    if dest is not None:
                        found.others.append((Path(display), dest))
                    continue
                key = os.path.realpath(display)
                if key in seen:
                    continue
                seen.add(key)
                count += 1
                found.sources.append(Source(Path(display), display, explicit=False, dest=dest))
            if count == 0:
                found.warnings.append(f"{arg}: no Python files found")
            continue
        # A file (or something else that exists: a FIFO, a dangling symlink...).
        if real in seen:
            continue
        seen.add(real)
        if output is None:
            dest = None
        elif several or output.is_dir() or str(output).endswith(os.sep):
            dest = output / _base_name(arg)
        else:
            dest = output
        found.sources.append(Source(path, arg, explicit=True, dest=dest))
    return found


def _base_name(arg: str) -> str:
    return Path(os.path.abspath(arg)).name or "root"


def _is_within(child: str, parent: str) -> bool:
    try:
        return os.path.commonpath([child, parent]) == parent
    except ValueError:
        return False


# --- reading -------------------------------------------------------------------------------


class DecodeProblem(ValueError):
    """The bytes are not text in the encoding the file declares (or UTF-8 by default)."""


def looks_like_python_name(path: Path, data: bytes) -> bool:
    """A named file is Python when it has a Python suffix or a ``#!...python`` first line."""
    return path.suffix in PYTHON_SUFFIXES or bool(_SHEBANG.match(data))


def decode_source(data: bytes) -> tuple[str, str]:
    """Decode a Python file's bytes as Python does: (text, encoding).

    The encoding is the PEP 263 coding line's, ``utf-8-sig`` for a BOM, ``utf-8`` otherwise. No
    newline translation happens, so ``encode_source(text, encoding) == data``.
    """
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as err:  # unknown codec, BOM contradicting the coding line...
        raise DecodeProblem(str(err)) from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        hint = " (if the file is not UTF-8, say so in a coding line)" if "utf" in encoding else ""
        raise DecodeProblem(
            f"line {line}, column {col}: not valid {encoding}: {err.reason}{hint}"
        ) from None
    except LookupError as err:
        raise DecodeProblem(str(err)) from None
    if encoding not in ("utf-8", "utf-8-sig") and text.encode(encoding) != data:
        # A codec that does not map back byte for byte: writing would change untouched text.
        raise DecodeProblem(f"{encoding} does not round-trip this file's bytes exactly")
    return text, encoding


def encode_source(text: str, encoding: str) -> bytes:
    """The inverse of :func:`decode_source` (``utf-8-sig`` writes the BOM back)."""
    return text.encode(encoding)


def might_contain_training(text: str) -> bool:
    """Cheap pre-filter: False when the text cannot hold a training loop (no parse needed).

    True needs both a ``backward`` and a ``step(`` call in the text (comments and strings count:
    a false True only costs a parse).
    """
    return _BACKWARD.search(text) is not None and _STEP_CALL.search(text) is not None


# --- writing -------------------------------------------------------------------------------

_umask: int | None = None


def _default_mode() -> int:
    global _umask
    if _umask is None:
        _umask = os.umask(0)
        os.umask(_umask)
    return 0o666 & ~_umask


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path``'s content with ``data`` in one step.

    The bytes go to a temporary file in the same folder, are flushed to disk, get the mode of the
    file being replaced (or ``mode``), then ``os.replace`` swaps it in. Whatever interrupts this,
    ``path`` holds either its old content or ``data``, and no temporary file is left behind.
    A symlink is followed: the file it points to is replaced, the link stays.
    """
    target = Path(os.path.realpath(path))
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    if mode is None:
        mode = stat.S_IMODE(st.st_mode) if st is not None else _default_mode()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".t2l-tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if st is not None and hasattr(os, "chown") and st.st_uid != os.geteuid():
            with contextlib.suppress(OSError):
                os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def copy_file(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` atomically, with its mode (creating ``dest``'s folders)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(dest, src.read_bytes(), mode=stat.S_IMODE(os.stat(src).st_mode))
