"""Convert one file for the command line: read, pre-filter, convert, diff, write.

:func:`process` never raises for a bad file (only ``KeyboardInterrupt`` gets through): every
problem becomes an :class:`Outcome` with status ``error`` and a one-line message, and the file is
left untouched. It runs in the main process or in a pool worker (outcomes are picklable).
"""

from __future__ import annotations

import os
import re
import stat
import traceback
from dataclasses import dataclass

from converter import files
from converter.diffing import unified_diff

CONVERTED = "converted"
UNCHANGED = "unchanged"
ERROR = "error"

NO_TRAINING = "no training loop (a loop needs both a backward() and a .step() call)"


@dataclass(frozen=True)
class Options:
    target: str = "pytorch_lightning"
    #: "inplace": rewrite the file; "output": write to Source.dest; "stdout": hand the bytes back
    #: (for standard input); "none": write nothing (--check, --diff).
    write: str = "inplace"
    diff: bool = False
    #: Where the Trainer conversion declines, convert to this instead ("fabric"), or None.
    fallback: str | None = None


@dataclass
class Outcome:
    display: str
    status: str
    #: Why a file is unchanged, or the error line (``path:line:col: cannot parse: ...``).
    message: str = ""
    #: True when the pre-filter skipped the file before any parse.
    skipped: bool = False
    report: dict | None = None
    diff: str = ""
    output: str | None = None
    #: The resulting bytes, only for standard input written to standard output.
    data: bytes | None = None
    traceback: str = ""
    declined: int = 0
    changes: int = 0
    encoding: str | None = None


_PARSER_PREFIX = re.compile(r"^(?:parser error: )?(?:error at \d+:\d+: )?")


def syntax_error_message(display: str, err: Exception) -> str:
    """``path:line:col: cannot parse: what`` for a ``libcst.ParserSyntaxError``."""
    line = getattr(err, "raw_line", 0)
    col = getattr(err, "editor_column", 0)
    what = _PARSER_PREFIX.sub("", getattr(err, "message", str(err))).strip() or "syntax error"
    return f"{display}:{line}:{col}: cannot parse: {what.splitlines()[0]}"


def _error(display: str, message: str, **kw) -> Outcome:
    return Outcome(display, ERROR, message=f"{display}: {message}", **kw)


def process(source: files.Source, options: Options, stdin_data: bytes | None = None) -> Outcome:
    display = source.display
    path = source.path
    try:
        data = stdin_data if path is None else path.read_bytes()
    except OSError as err:
        return _error(display, f"cannot read: {err.strerror or err}")
    assert data is not None
    if path is not None and source.explicit and not files.looks_like_python_name(path, data):
        return _error(display, "not a Python file (no .py suffix and no python #! line)")
    if b"\0" in data:
        return _error(display, "not a Python file (contains NUL bytes)")
    try:
        text, encoding = files.decode_source(data)
    except files.DecodeProblem as err:
        return _error(display, f"cannot decode: {err}")

    if not files.might_contain_training(text):
        outcome = Outcome(display, UNCHANGED, message=NO_TRAINING, skipped=True, encoding=encoding)
        return _deliver(source, options, outcome, data, data)

    try:
        result = _convert(text, options.target, display, options.fallback)
    except _ParseFailed as err:
        return Outcome(display, ERROR, message=syntax_error_message(display, err.error))
    except RecursionError:
        return _error(display, "cannot parse: nested too deeply")
    except Exception as err:  # a converter bug must not stop the other files
        return _error(
            display,
            f"internal error: {type(err).__name__}: {err} (file left untouched; please report)",
            traceback=traceback.format_exc(),
        )

    report = result.report.to_dict()
    outcome = Outcome(
        display,
        CONVERTED if result.changed else UNCHANGED,
        report=report,
        declined=len(report["declined"]),
        changes=len(report["changed"]),
        encoding=encoding,
    )
    if not result.changed:
        first = report["declined"][0] if report["declined"] else None
        if first is None:
            outcome.message = "nothing to convert"
        else:
            more = len(report["declined"]) - 1
            outcome.message = f"line {first['line']}: {first['message']}" + (
                f" (and {more} more)" if more else ""
            )
        return _deliver(source, options, outcome, data, data)

    # Never write code that does not parse, nor code the file's encoding cannot hold.
    problem = _unparsable(result.code)
    if problem:
        return _error(
            display,
            f"internal error: the converted code does not parse ({problem}); "
            "file left untouched, please report",
        )
    try:
        new_data = files.encode_source(result.code, encoding)
    except UnicodeEncodeError as err:
        return _error(display, f"the converted code cannot be written as {encoding}: {err}")
    if options.diff:
        outcome.diff = unified_diff(text, result.code, display)
    return _deliver(source, options, outcome, data, new_data)


def _deliver(
    source: files.Source, options: Options, outcome: Outcome, old: bytes, new: bytes
) -> Outcome:
    """Write (or hand back) the result as the options say."""
    try:
        if options.write == "inplace" and source.path is not None:
            if new != old:
                files.atomic_write(source.path, new)
        elif options.write == "output" and source.dest is not None:
            dest = source.dest
            dest.parent.mkdir(parents=True, exist_ok=True)
            mode = stat.S_IMODE(os.stat(source.path).st_mode) if source.path else None
            files.atomic_write(dest, new, mode=mode)
            outcome.output = str(dest)
        elif options.write == "stdout":
            outcome.data = new
    except OSError as err:
        target = source.dest if options.write == "output" else source.path
        return Outcome(
            outcome.display,
            ERROR,
            message=f"{outcome.display}: cannot write {target}: {err.strerror or err}",
        )
    return outcome


class _ParseFailed(Exception):
    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _convert(text: str, target: str, display: str, fallback: str | None = None):
    import libcst

    from converter import convert_source

    try:
        return convert_source(text, target=target, filename=display, fallback=fallback)
    except libcst.ParserSyntaxError as err:
        raise _ParseFailed(err) from None


def _unparsable(code: str) -> str:
    import libcst

    try:
        libcst.parse_module(code)
    except libcst.ParserSyntaxError as err:
        return syntax_error_message("converted", err)
    return ""


def process_in_worker(args: tuple[files.Source, Options]) -> Outcome:
    """Pool entry point."""
    return process(*args)
