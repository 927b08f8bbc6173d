"""Convert one file for the command line: read, pre-filter, convert, diff, write.

:func:`process` never raises for a bad file (only ``KeyboardInterrupt`` gets through): every
problem becomes an :class:`Outcome` with status ``error`` and a one-line message, and the file is
left untouched. It runs in the main process or in a pool worker (outcomes are picklable).
"""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass

from converter import files, notebook, writing
from converter.diffing import unified_diff

CONVERTED = "converted"
UNCHANGED = "unchanged"
ERROR = "error"

NO_TRAINING = "no training loop (a loop needs both a backward() and a .step() call)"
#: A RecursionError in the analysis: what the nesting budget (``converter.parsing``) missed.
TOO_DEEP = (
    "cannot convert: nested too deeply for the converter's analysis (Python's recursion "
    "limit); file left untouched, please report it"
)


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
    #: What writing the output replaced, for the file's line (``-o`` onto an existing path).
    replaced: str = ""


_PARSER_PREFIX = re.compile(r"^(?:parser error: )?(?:error at \d+:\d+: )?")


def syntax_error_message(display: str, err: Exception) -> str:
    """``path:line:col: cannot parse: what`` for a ``libcst.ParserSyntaxError``; the column is
    1-based and counts characters, as Python's own ``SyntaxError`` does."""
    line = getattr(err, "raw_line", 0)
    col = getattr(err, "raw_column", -1) + 1
    what = _PARSER_PREFIX.sub("", getattr(err, "message", str(err))).strip() or "syntax error"
    return f"{display}:{line}:{col}: cannot parse: {what.splitlines()[0]}"


def _error(display: str, message: str, **kw) -> Outcome:
    return Outcome(display, ERROR, message=f"{display}: {message}", **kw)


def _caused_by(err: BaseException, kind: type) -> bool:
    """Whether ``err`` is ``kind`` or was raised while handling one (LibCST's metadata turns a
    RecursionError deep in a tree into other errors)."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, kind):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


def process(source: files.Source, options: Options, stdin_data: bytes | None = None) -> Outcome:
    display = source.display
    path = source.path
    read_stat = None
    try:
        if path is None:
            data = stdin_data
        else:
            data, read_stat = files.read_regular_stat(path)
    except OSError as err:
        return _error(display, f"cannot read: {err.strerror or err}")
    except files.ReadProblem as err:
        return _error(display, str(err))
    except MemoryError:
        return _error(display, "cannot read: out of memory")
    assert data is not None
    if notebook.is_notebook(path):
        from converter.notebook import command

        return command.process(source, options, data, read_stat)
    if path is not None and source.explicit and not files.looks_like_python_name(path, data):
        return _error(display, "not a Python file (no .py suffix and no python #! line)")
    reason = files.binary_reason(data)
    if reason:
        return _error(display, reason)
    try:
        text, encoding = files.decode_source(data)
    except files.DecodeProblem as err:
        return _error(display, f"cannot decode: {err}")

    # The script's own modules (beside it) may hold its training functions: see converter.siblings.
    modules = files.own_modules(path) if path is not None else None
    lightning = files.lightning_import(text)
    skipped = Outcome(
        display, UNCHANGED, message=unchanged_reason(NO_TRAINING, lightning, True), skipped=True
    )
    skipped.encoding = encoding
    own_loop = files.might_contain_training(text)
    if not own_loop and not (path is not None and files.imports_training(text, path, modules)):
        return _deliver(source, options, skipped, data, data, read_stat)

    try:
        result = _convert(text, options.target, display, options.fallback, modules)
    except _ParseFailed as err:
        return Outcome(display, ERROR, message=err.message)
    except MemoryError:
        return _error(display, "cannot convert: out of memory (file left untouched)")
    except Exception as err:  # a converter bug must not stop the other files
        if _caused_by(err, KeyboardInterrupt):  # Ctrl-C, masked by a clean-up's own error
            raise KeyboardInterrupt from err
        if _caused_by(err, RecursionError):
            return _error(display, TOO_DEEP)
        return _error(
            display,
            f"internal error: {type(err).__name__}: {err} (file left untouched; please report)",
            traceback=traceback.format_exc(),
        )

    report = result.report.to_dict()
    if not own_loop and not result.changed and no_loop(report):
        # its modules' loops are not its
        return _deliver(source, options, skipped, data, data, read_stat)
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
        outcome.message = unchanged_reason(outcome.message, lightning, no_loop(report))
        return _deliver(source, options, outcome, data, data, read_stat)

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
        # The diff shows the file's bytes: a BOM is part of its first line for ``patch``.
        bom = "\ufeff" if encoding == "utf-8-sig" else ""
        outcome.diff = unified_diff(bom + text, bom + result.code, display)
    return _deliver(source, options, outcome, data, new_data, read_stat)


#: Outcomes whose file this process has written, in order. A write and its entry here happen
#: with signals deferred, so after a Ctrl-C the command line can name every file written even when
#: the interrupt came before ``process`` returned.
written: list[Outcome] = []


def _deliver(
    source: files.Source,
    options: Options,
    outcome: Outcome,
    old: bytes,
    new: bytes,
    read_stat: os.stat_result | None = None,
) -> Outcome:
    """Write (or hand back) the result as the options say. A file rewritten in place must still
    be the file that was read (``read_stat``, ``old``): see ``writing.replace_if_unchanged``."""
    try:
        if options.write == "inplace" and source.path is not None:
            if new != old:
                assert read_stat is not None
                links = read_stat.st_nlink
                if links > 1:
                    outcome.message = (
                        f"it had {links} hard links: this name is a new file now, "
                        "the other names keep the original"
                    )
                with writing.signals_deferred():
                    writing.replace_if_unchanged(source.path, new, old, read_stat)
                    written.append(outcome)
        elif options.write == "output" and source.dest is not None:
            dest = source.dest
            dest.parent.mkdir(parents=True, exist_ok=True)
            mode = writing.output_mode(read_stat.st_mode if read_stat is not None else None)
            outcome.output = str(dest)
            with writing.signals_deferred():
                outcome.replaced = writing.write_output(dest, new, mode)
                written.append(outcome)
        elif options.write == "stdout":
            outcome.data = new
    except writing.NotWritten as err:
        return Outcome(outcome.display, ERROR, message=f"{outcome.display}: {err}")
    except OSError as err:
        target = source.dest if options.write == "output" else source.path
        return Outcome(
            outcome.display,
            ERROR,
            message=f"{outcome.display}: cannot write {target}: {err.strerror or err}",
        )
    return outcome


def unchanged_reason(reason: str, lightning: str | None, no_training: bool) -> str:
    """Why a file stays as it is, for a file that uses Lightning already (``lightning``: where it
    imports it): a converted file, converted again, is said to be one."""
    if lightning is None:
        return reason
    if no_training:
        return f"it uses Lightning already ({lightning}): nothing to convert"
    return f"{reason} (it uses Lightning already: {lightning})"


def no_loop(report: dict) -> bool:
    """A report (as `Report.to_dict()` gives it) that found no training loop at all."""
    return all(
        e["kind"] == "file" and "no training loop" in e["message"] for e in report["declined"]
    )


class _ParseFailed(Exception):
    """The file is not taken on: a syntax error, or over a budget. ``message`` is the line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _convert(text: str, target: str, display: str, fallback: str | None = None, modules=None):
    # Imported here: a run over files the pre-filter skips never loads LibCST.
    import libcst

    from converter import convert_source
    from converter.parsing import SourceRejected

    try:
        return convert_source(
            text, target=target, filename=display, fallback=fallback, modules=modules
        )
    except libcst.ParserSyntaxError as err:
        raise _ParseFailed(syntax_error_message(display, err)) from None
    except SourceRejected as err:
        where = f"{display}:{err.line}:{err.column}" if err.line else display
        raise _ParseFailed(f"{where}: {err.message}") from None


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
