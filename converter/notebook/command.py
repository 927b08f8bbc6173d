"""One notebook for the command line: what :func:`converter.batch.process` does for a ``.py``
file, for an ``.ipynb`` one (the same outcomes, pre-filter, writing and one-line errors)."""

from __future__ import annotations

import traceback

from converter import batch, files
from converter.notebook.conversion import convert_notebook, runnable_script
from converter.notebook.format import NotebookProblem


def process(source: files.Source, options: batch.Options, data: bytes) -> batch.Outcome:
    display = source.display
    text = data.decode("utf-8", "replace")
    # The notebook's own modules (beside it) may hold its training functions, as for a script.
    modules = files.own_modules(source.path) if source.path is not None else None
    own_loop = files.might_contain_training(text)
    skipped = batch.Outcome(
        display, batch.UNCHANGED, message=batch.NO_TRAINING, skipped=True, encoding="utf-8"
    )
    if not own_loop and not _imports_training(data, source.path, modules):
        return batch._deliver(source, options, skipped, data, data)
    try:
        result = convert_notebook(data, options.target, display, options.fallback, modules)
    except NotebookProblem as problem:
        place = problem.where()
        return batch.Outcome(
            display,
            batch.ERROR,
            message=f"{display}: {place + ': ' if place else ''}{problem.message}",
        )
    except MemoryError:
        return batch._error(display, "cannot convert: out of memory (file left untouched)")
    except Exception as err:  # a converter bug must not stop the other files
        if batch._caused_by(err, KeyboardInterrupt):  # Ctrl-C, masked by a clean-up's own error
            raise KeyboardInterrupt from err
        if batch._caused_by(err, RecursionError):
            return batch._error(display, "cannot parse: nested too deeply")
        return batch._error(
            display,
            f"internal error: {type(err).__name__}: {err} (file left untouched; please report)",
            traceback=traceback.format_exc(),
        )
    report = result.report
    if not own_loop and not result.changed and batch.no_loop(report):
        return batch._deliver(source, options, skipped, data, data)  # its modules' loops only
    outcome = batch.Outcome(
        display,
        batch.CONVERTED if result.changed else batch.UNCHANGED,
        report=report,
        declined=len(report["declined"]),
        changes=len(report["changed"]),
        encoding="utf-8",
    )
    if not result.changed:
        outcome.message = result.reason
        return batch._deliver(source, options, outcome, data, data)
    outcome.message = _cells_line(result)
    if options.diff:
        outcome.diff = result.diff(display)
    return batch._deliver(source, options, outcome, data, result.data)


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
