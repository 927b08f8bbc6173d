"""Convert one file for the command line: read, pre-filter, convert, diff, write.

:func:`process` never raises for a bad file (only ``KeyboardInterrupt`` gets through): every
problem becomes an :class:`Outcome` with status ``error`` and a one-line message, and the file is
left untouched. It runs in the main process or in a pool worker (outcomes are picklable).
"""

from __future__ import annotations

import functools
import gc
import re
import warnings

from converter import files, notebook
from converter.cli.diffing import unified_diff
from converter.cli.outcomes import (
    CONVERTED,
    ERROR,
    NO_TRAINING,
    TOO_DEEP,
    UNCHANGED,
    Options,
    Outcome,
    caused_by,
    deliver,
    error,
    no_loop,
    unchanged_reason,
)

_PARSER_PREFIX = re.compile(r"^(?:parser error: )?(?:error at \d+:\d+: )?")


def syntax_error_message(display: str, err: Exception) -> str:
    """``path:line:col: cannot parse: what`` for a ``libcst.ParserSyntaxError``; the column is
    1-based and counts characters, as Python's own ``SyntaxError`` does."""
    line = getattr(err, "raw_line", 0)
    col = getattr(err, "raw_column", -1) + 1
    what = _PARSER_PREFIX.sub("", getattr(err, "message", str(err))).strip() or "syntax error"
    return f"{display}:{line}:{col}: cannot parse: {what.splitlines()[0]}"


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
        return error(display, f"cannot read: {err.strerror or err}")
    except files.ReadProblem as err:
        return error(display, str(err))
    except MemoryError:
        return error(display, "cannot read: out of memory")
    assert data is not None
    if notebook.is_notebook(path):
        from converter.cli import notebook_runner

        return notebook_runner.process(source, options, data, read_stat)
    if path is not None and source.explicit and not files.looks_like_python_name(path, data):
        return error(display, "not a Python file (no .py suffix and no python #! line)")
    reason = files.binary_reason(data)
    if reason:
        return error(display, reason)
    try:
        text, encoding = files.decode_source(data)
    except files.DecodeProblem as err:
        return error(display, f"cannot decode: {err}")

    # The script's own modules (beside it) may hold its training functions: see converter.siblings.
    modules = files.own_modules(path) if path is not None else None
    lightning = files.lightning_import(text)
    skipped = Outcome(
        display, UNCHANGED, message=unchanged_reason(NO_TRAINING, lightning, True), skipped=True
    )
    skipped.encoding = encoding
    own_loop = files.might_contain_training(text)
    if not own_loop and not (path is not None and files.imports_training(text, path, modules)):
        return deliver(source, options, skipped, data, data, read_stat)

    try:
        result = _convert(text, options, display, modules)
    except _ParseFailed as err:
        return Outcome(display, ERROR, message=err.message)
    except MemoryError:
        return error(display, "cannot convert: out of memory (file left untouched)")
    except Exception as err:  # a converter bug must not stop the other files
        if caused_by(err, KeyboardInterrupt):  # Ctrl-C, masked by a clean-up's own error
            raise KeyboardInterrupt from err
        if caused_by(err, RecursionError):
            return error(display, TOO_DEEP)
        return error(
            display,
            f"internal error: {type(err).__name__}: {err} (file left untouched; please report)",
            traceback=_traceback(),
        )

    report = result.report.to_dict()
    if not own_loop and not result.changed and no_loop(report):
        # its modules' loops are not its
        return deliver(source, options, skipped, data, data, read_stat)
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
        return deliver(source, options, outcome, data, data, read_stat)

    # Never write code that does not parse, nor code the file's encoding cannot hold.
    problem = _unparsable(result.code)
    if problem:
        return error(
            display,
            f"internal error: the converted code does not parse ({problem}); "
            "file left untouched, please report",
        )
    try:
        new_data = files.encode_source(result.code, encoding)
    except UnicodeEncodeError as err:
        return error(display, f"the converted code cannot be written as {encoding}: {err}")
    if options.diff:
        # The diff shows the file's bytes: a BOM is part of its first line for ``patch``.
        bom = "\ufeff" if encoding == "utf-8-sig" else ""
        outcome.diff = unified_diff(bom + text, bom + result.code, display)
    return deliver(source, options, outcome, data, new_data, read_stat)


class _ParseFailed(Exception):
    """The file is not taken on: a syntax error, or over a budget. ``message`` is the line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _convert(text: str, options: Options, display: str, modules=None):
    libcst, convert_source, SourceRejected = load_converter()
    try:
        return convert_source(
            text,
            target=options.target,
            filename=display,
            fallback=options.fallback,
            modules=modules,
            package=options.package,
            datamodule=options.datamodule,
            callbacks=options.callbacks,
        )
    except libcst.ParserSyntaxError as err:
        raise _ParseFailed(syntax_error_message(display, err)) from None
    except SourceRejected as err:
        where = f"{display}:{err.line}:{err.column}" if err.line else display
        raise _ParseFailed(f"{where}: {err.message}") from None


@functools.cache
def load_converter():
    """LibCST and the converter, loaded when the first file needs them: a run over files the
    pre-filter skips never loads LibCST.

    The collector is off while they load, and what loading made (tens of thousands of objects)
    then goes to its permanent generation: a conversion makes many short-lived nodes, and every
    full collection would walk all of those again (a sixth of a one-file run, and a few percent
    more while loading). Once per process: a later freeze would keep the garbage of the files
    before it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        import libcst

        from converter import convert_source
        from converter.parsing import SourceRejected

        gc.freeze()  # (not after a failed import: a retry would freeze again)
    finally:
        if enabled:
            gc.enable()
    return libcst, convert_source, SourceRejected


def _unparsable(code: str) -> str:
    """Why CPython would not run `code` ("" when it compiles). CPython's compiler, as the output
    check inside `convert_source` uses it: a tenth of a LibCST parse, and stricter."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning, DeprecationWarning: the script's own
            compile(code, "converted", "exec", dont_inherit=True)
    except SyntaxError as err:
        return f"converted:{err.lineno}:{err.offset}: cannot parse: {err.msg}"
    except (ValueError, RecursionError, MemoryError) as err:
        return f"converted: cannot compile: {err}"
    return ""


def process_in_worker(args: tuple[files.Source, Options]) -> Outcome:
    """Pool entry point."""
    return process(*args)


def _traceback() -> str:
    import traceback  # here: only an internal error needs it (start-up time)

    return traceback.format_exc()
