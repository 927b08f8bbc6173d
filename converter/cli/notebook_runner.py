"""One notebook for the command line: what :func:`converter.cli.file_runner.process` does for a
``.py``
file, for an ``.ipynb`` one (the same outcomes, pre-filter, writing and one-line errors)."""

from __future__ import annotations

import traceback

from converter import files
from converter.cli import outcomes
from converter.notebook.conversion import code_cells, convert_notebook, runnable_script
from converter.notebook.format import NotebookProblem, read


def process(
    source: files.Source, options: outcomes.Options, data: bytes, read_stat=None
) -> outcomes.Outcome:
    display = source.display
    try:
        cells = code_cells(read(data))  # a file that is not a notebook is an error, words or not
    except NotebookProblem as problem:
        return _problem(display, problem)
    text = "\n".join(code for _, code in cells)
    lightning = _lightning_import(cells)
    # The notebook's own modules (beside it) may hold its training functions, as for a script.
    modules = files.own_modules(source.path) if source.path is not None else None
    own_loop = files.might_contain_training(text)
    reason = outcomes.unchanged_reason(outcomes.NO_TRAINING, lightning, True)
    skipped = outcomes.Outcome(display, outcomes.UNCHANGED, message=reason, skipped=True)
    skipped.encoding = "utf-8"
    if not own_loop and not _imports_training(data, source.path, modules):
        return outcomes.deliver(source, options, skipped, data, data, read_stat)
    try:
        result = convert_notebook(
            data,
            options.target,
            display,
            options.fallback,
            modules,
            options.package,
            options.datamodule,
            options.callbacks,
        )
    except NotebookProblem as problem:
        return _problem(display, problem)
    except MemoryError:
        return outcomes.error(display, "cannot convert: out of memory (file left untouched)")
    except Exception as err:  # a converter bug must not stop the other files
        if outcomes.caused_by(err, KeyboardInterrupt):  # Ctrl-C, masked by a clean-up's own error
            raise KeyboardInterrupt from err
        if outcomes.caused_by(err, RecursionError):
            return outcomes.error(display, outcomes.TOO_DEEP)
        return outcomes.error(
            display,
            f"internal error: {type(err).__name__}: {err} (file left untouched; please report)",
            traceback=traceback.format_exc(),
        )
    report = result.report
    if not own_loop and not result.changed and outcomes.no_loop(report):
        # its modules' loops only
        return outcomes.deliver(source, options, skipped, data, data, read_stat)
    outcome = outcomes.Outcome(
        display,
        outcomes.CONVERTED if result.changed else outcomes.UNCHANGED,
        report=report,
        declined=len(report["declined"]),
        changes=len(report["changed"]),
        encoding="utf-8",
    )
    if not result.changed:
        outcome.message = outcomes.unchanged_reason(
            result.reason, lightning, outcomes.no_loop(report)
        )
        return outcomes.deliver(source, options, outcome, data, data, read_stat)
    outcome.message = _cells_line(result)
    if options.diff:
        outcome.diff = result.diff(display)
    return outcomes.deliver(source, options, outcome, data, result.data, read_stat)


def _problem(display: str, problem: NotebookProblem) -> outcomes.Outcome:
    place = problem.where()
    message = f"{display}: {place + ': ' if place else ''}{problem.message}"
    return outcomes.Outcome(display, outcomes.ERROR, message=message)


def _lightning_import(cells: list[tuple[int, str]]) -> str | None:
    """Where a code cell imports Lightning (``cell 2, line 1: `import ...```), or None."""
    for number, code in cells:
        found = files.lightning_import(code)
        if found is not None:
            return f"cell {number}, {found}"
    return None


def _imports_training(data: bytes, path, modules) -> bool:
    """`files.imports_training` on the code cells (the import lines are inside JSON strings)."""
    if path is None:
        return False
    try:
        code = runnable_script(data)
    except NotebookProblem:
        return False  # nothing to convert: the file is skipped, as one without a loop
    return files.imports_training(code, path, modules)


def _cells_line(result) -> str:
    numbers = [str(c.number) for c in result.cells]
    line = f"cell{'s' if len(numbers) > 1 else ''} {', '.join(numbers)} changed, outputs cleared"
    if result.relaid:
        line += "; its JSON layout did not round-trip and is written as Jupyter writes it"
    return line
