"""The file layer of the command line: which files to convert, and how to read them (writing is
in ``converter.cli.writing``).

Nothing here imports LibCST or torch. The promises:

* discovery walks directories for ``.py`` files, skipping the usual folders that hold no user
  code (version control, virtual environments, caches, build output);
* a file's bytes survive the round trip: the encoding comes from ``tokenize.detect_encoding``
  (PEP 263 coding line, BOM), text is decoded without newline translation, and encoded back the
  same way, BOM included, so CRLF endings, tabs and non-UTF-8 text stay exactly as they were;
* only regular files are read or copied (a named pipe or a device could block or never end), and
  an output never overlaps an input.
"""

from __future__ import annotations

import codecs
import fnmatch
import io
import os
import re
import stat
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

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
    try:
        return stat.S_ISREG(os.stat(path / "pyvenv.cfg").st_mode)
    except OSError:  # missing, or a folder we may not search: the walk reports the latter
        return False


def _display_join(top: str, rel: str) -> str:
    return os.path.normpath(os.path.join(top, rel))


def kind_of(mode: int) -> str:
    """What a non-regular file is, for messages."""
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def _walk(
    top: str,
    extra_excludes: Sequence[str],
    found: Discovery,
    want_others: bool,
) -> Iterable[tuple[str, str, bool]]:
    """Yield (display path, path relative to top, is_python) for the regular files under ``top``,
    sorted. Unreadable folders and non-regular files that would be read go to ``found.problems``."""

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
            elif not is_excluded_dir(sub, name, extra_excludes):
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if any(fnmatch.fnmatch(name, pattern) for pattern in extra_excludes):
                continue
            full = base / name
            display = _display_join(dirpath, name)
            is_python = name.endswith((".py", ".ipynb"))  # notebooks are converted too
            if not (is_python or want_others):
                continue
            try:
                mode = os.lstat(full).st_mode
            except OSError as err:
                found.problems.append((display, f"{display}: cannot read: {err.strerror}"))
                continue
            if stat.S_ISLNK(mode):
                if is_python:
                    found.notes.append(f"{display}: symlink, skipped")
                continue
            if not stat.S_ISREG(mode):
                found.problems.append((display, f"{display}: {not_regular(mode)}"))
                continue
            yield display, os.path.relpath(full, top), is_python


def not_regular(mode: int) -> str:
    return f"not a regular file ({kind_of(mode)}); skipped"


def discover(
    paths: Sequence[str], output: Path | None = None, extra_excludes: Sequence[str] = ()
) -> Discovery:
    """Expand PATH arguments into the files to convert (in order, each once).

    With ``output``: a single file input writes to ``output`` (or into it, when it is an existing
    folder); a single folder input is mirrored into ``output``; several inputs each go to
    ``output/<name>``. Non-Python files of mirrored folders are listed in ``others`` so the output
    tree is complete. An output that overlaps an input in any way (the same path, inside an input
    folder, holding an input) is a :class:`UsageProblem`: nothing is read or written.
    """
    found = Discovery()
    seen: set[str] = set()
    if list(paths).count(STDIN) > 1:
        raise UsageProblem("'-' (standard input) can be given only once")
    several = len(paths) > 1
    if output is not None:
        _check_output(paths, output, several)
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
        if output is not None and several:
            name = _base_name(arg)
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
                str(path), extra_excludes, found, want_others=output is not None
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
        found.sources.append(
            Source(path, arg, explicit=True, dest=_file_dest(arg, output, several))
        )
    return found


def _file_dest(arg: str, output: Path | None, several: bool) -> Path | None:
    if output is None:
        return None
    if several or output.is_dir() or str(output).endswith(os.sep):
        return output / _base_name(arg)
    return output


def _check_output(paths: Sequence[str], output: Path, several: bool) -> None:
    """Refuse an output that overlaps an input: the same file or folder, an output inside an
    input folder, or an input inside the output folder. Compared by identity (device and inode of
    the real path and its ancestors), so symlinks, bind mounts and case-insensitive names count."""
    for arg in paths:
        if arg == STDIN or not os.path.lexists(arg):
            continue
        try:
            st = os.stat(arg)
        except OSError:
            continue  # dangling link, unreadable: reported when read, never written through
        if _same(st, output):
            raise UsageProblem(
                f"--output {output} is the input {arg}; leave out --output to convert in place"
            )
        if stat.S_ISDIR(st.st_mode) and _inside(output, st):
            raise UsageProblem(
                f"--output {output} lies inside the input folder {arg}: the output would be "
                f"written among the files it converts; choose a folder outside {arg}"
            )
        dest = _file_dest(arg, output, several)
        if not stat.S_ISDIR(st.st_mode) and dest is not None and _same(st, dest):
            raise UsageProblem(
                f"--output {output} would write {dest} over the input {arg}; "
                "leave out --output to convert in place"
            )
        if _holds(output, arg):
            raise UsageProblem(
                f"the input {arg} lies inside --output {output}: writing there could "
                "overwrite it; choose an output folder that does not hold the input"
            )


def _same(st: os.stat_result, path: Path | str) -> bool:
    try:
        return os.path.samestat(st, os.stat(path))
    except OSError:
        return False


def _inside(path: Path | str, folder: os.stat_result) -> bool:
    """Whether ``path`` (existing or not) is ``folder`` or lies somewhere under it."""
    current = os.path.realpath(path)
    while True:
        if _same(folder, current):
            return True
        parent = os.path.dirname(current)
        if parent == current:
            return False
        current = parent


def _holds(folder: Path, path: str) -> bool:
    """Whether the existing folder ``folder`` holds ``path`` (strictly below it)."""
    try:
        st = os.stat(folder)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode):
        return False
    return _inside(os.path.dirname(os.path.realpath(path)), st)


def report_overlap(report: Path, found: Discovery) -> str:
    """Why ``--report PATH`` may not be written, or '': its folder does not exist or may not be
    written, or it is an input or an output of the run (by path, or by identity: a hard link or
    a symlink to one). Checked before anything is converted."""
    real = os.path.realpath(report)
    try:
        st: os.stat_result | None = os.stat(report)
    except OSError:
        st = None
    if st is None or stat.S_ISREG(st.st_mode):  # written beside, then renamed (a device: into)
        problem = _folder_problem(report)
        if problem:
            return problem

    def same(path: Path | str) -> bool:
        return os.path.realpath(path) == real or (st is not None and _same(st, path))

    for source in found.sources:
        if source.path is not None and same(source.path):
            return f"--report {report} is the input {source.display}; choose another file"
        if source.dest is not None and same(source.dest):
            return f"--report {report} is where {source.display} would be written"
    for src, dest in found.others:
        if same(src):
            return f"--report {report} is the input {src}; choose another file"
        if same(dest):
            return f"--report {report} is where {src} would be copied"
    return ""


def _folder_problem(report: Path) -> str:
    folder = Path(os.path.dirname(report) or ".")
    try:
        folder_mode = os.stat(folder).st_mode
    except FileNotFoundError:
        return f"--report {report}: the folder {folder} does not exist; create it first"
    except OSError as err:
        return f"--report {report}: cannot reach the folder {folder}: {err.strerror or err}"
    if not stat.S_ISDIR(folder_mode):
        return f"--report {report}: {folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"--report {report}: the folder {folder} may not be written"
    return ""


def _base_name(arg: str) -> str:
    return Path(os.path.abspath(arg)).name or "root"


# --- reading -------------------------------------------------------------------------------

#: Files larger than this are not read at all (the pre-filter needs the whole text; a bigger
#: file, or a sparse one, would only cost memory). Files the pre-filter lets through have a much
#: smaller budget: ``converter.parsing.MAX_SOURCE_CHARS``.
READ_LIMIT = 32 * 1024 * 1024


class ReadProblem(ValueError):
    """A path that is not read: not a regular file, or over :data:`READ_LIMIT`."""


class DecodeProblem(ValueError):
    """The bytes are not text in the encoding the file declares (or UTF-8 by default)."""


def read_regular(path: Path, limit: int = READ_LIMIT) -> bytes:
    """The bytes of a regular file. Never opens a FIFO or a device (that could block or never end).

    Raises ``OSError`` when the file cannot be read, :class:`ReadProblem` when it is not a regular
    file or is larger than ``limit``.
    """
    return read_regular_stat(path, limit)[0]


def read_regular_stat(path: Path, limit: int = READ_LIMIT) -> tuple[bytes, os.stat_result]:
    """:func:`read_regular`, and the file's ``fstat`` taken before reading it: what a write in
    place checks the file against (``converter.cli.writing.replace_if_unchanged``)."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise ReadProblem(not_regular(mode))
    # O_NONBLOCK: should the path become a FIFO between the two calls, opening does not block.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ReadProblem(not_regular(st.st_mode))
        if st.st_size > limit:
            raise ReadProblem(_too_large(limit))
        return read_at_most(handle, limit), st


def read_at_most(handle: BinaryIO, limit: int = READ_LIMIT) -> bytes:
    """All of ``handle``, or :class:`ReadProblem` when that is more than ``limit`` bytes."""
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise ReadProblem(_too_large(limit))
    return data


def _too_large(limit: int) -> str:
    return f"too large to read: over {limit // (1024 * 1024)} MiB (the limit per file)"


def looks_like_python_name(path: Path, data: bytes) -> bool:
    """A named file is Python when it has a Python suffix or a ``#!...python`` first line."""
    return path.suffix in PYTHON_SUFFIXES or bool(_SHEBANG.match(data))


_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def binary_reason(data: bytes) -> str:
    """Why bytes cannot be Python source text ('' when they may be): UTF-16 or UTF-32 text
    (Python reads source only in ASCII-compatible encodings), or NUL bytes."""
    why = "(Python reads source only in UTF-8 or another ASCII-compatible encoding)"
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            return f"{name} text is not supported {why}: save the file as UTF-8"
    if b"\0" not in data:
        return ""
    head = data[:512]
    half = len(head) // 2
    if half >= 2 and max(head[1::2].count(0), head[0::2].count(0)) > 0.9 * half:
        # ASCII text in UTF-16: every other byte is a NUL.
        return f"UTF-16 text without a byte order mark is not supported {why}: save it as UTF-8"
    return "not a Python file (contains NUL bytes)"


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
    except (ValueError, LookupError, TypeError) as err:
        # A codec that exists but decodes nothing (``undefined``), or not text to text.
        raise DecodeProblem(
            f"the coding line names {encoding}, which cannot decode: {err}"
        ) from None
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


_LIGHTNING_IMPORT = re.compile(
    r"^[ \t]*(?:import|from)[ \t]+(?:pytorch_lightning|lightning|lightning_fabric)\b[^\r\n]*",
    re.M,
)


def lightning_import(text: str) -> str | None:
    """Where the text imports Lightning (``line 3: `import pytorch_lightning as pl```), or None:
    a file converted already (no parse; a line inside a string counts too, which only changes
    the words of an unchanged file's line)."""
    found = _LIGHTNING_IMPORT.search(text)
    if found is None:
        return None
    line = len(_LINE_END.findall(text, 0, found.start())) + 1
    return f"line {line}: `{found.group(0).strip()}`"


_LINE_END = re.compile(r"\r\n|\r|\n")


#: `from a.b import c, d as e` / `import a.b as c, d` at the start of a line (in a string too:
#: a false match only costs a parse).
_IMPORT_LINE = re.compile(
    r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import[ \t(]+([\w ,\t]+)|import[ \t]+([\w .,\t]+))",
    re.M,
)


def own_modules(script: Path):
    """The modules `python script` imports from the script's own folder (it is first on
    `sys.path`): a dotted name -> (the path relative to that folder, the text, whether it is a
    package's `__init__.py`), or None for anything else (installed, absent, unreadable). Each
    name is looked up once."""
    script = script.absolute()
    folder = script.parent
    found: dict[str, tuple[str, str, bool] | None] = {}

    def read(dotted: str) -> tuple[str, str, bool] | None:
        if dotted not in found:
            found[dotted] = _own_module(folder, script, dotted)
        return found[dotted]

    return read


def _own_module(folder: Path, script: Path, dotted: str) -> tuple[str, str, bool] | None:
    parts = dotted.split(".")
    if not all(part.isidentifier() for part in parts):
        return None
    for path, package in (
        (folder.joinpath(*parts[:-1], parts[-1] + ".py"), False),
        (folder.joinpath(*parts, "__init__.py"), True),
    ):
        try:
            if path == script or not path.is_file():
                continue
            text, _ = decode_source(read_regular(path))
        except (OSError, ReadProblem, DecodeProblem):
            continue
        return path.relative_to(folder).as_posix(), text, package
    return None


def imports_training(text: str, script: Path, modules=None) -> bool:
    """Cheap pre-filter for a script without a loop of its own (no parse): whether a module of
    its own that it imports, or any module of such a package, might hold one. ``modules``: the
    script's `own_modules` reader, so that the conversion reads no module a second time."""
    modules = modules or own_modules(script)
    seen: set[str] = set()
    for found in _IMPORT_LINE.finditer(text):
        parent, names, plain = found.groups()
        if parent:
            dotted = [parent] + [f"{parent}.{n.split()[0]}" for n in names.split(",") if n.strip()]
        else:
            dotted = [piece.split()[0] for piece in plain.split(",") if piece.strip()]
        for name in dotted:
            module = None if name in seen else modules(name)
            seen.add(name)
            if module is None:
                continue
            display, source, package = module
            if might_contain_training(source):
                return True
            if package and any(
                _might_train(path) for path in (script.parent / display).parent.glob("*.py")
            ):
                return True
    return False


def _might_train(path: Path) -> bool:
    try:
        return might_contain_training(decode_source(read_regular(path))[0])
    except (OSError, ReadProblem, DecodeProblem):
        return False
