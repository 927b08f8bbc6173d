"""``convert_notebook``: a notebook's code cells converted as one script, the notebook written back.

The cells' code is joined (:mod:`converter.notebook.cells`), converted by ``convert_source``, and
split back. A cell whose code changed gets the new code, and its outputs and execution count are
cleared (they belong to the old code); a cell the conversion emptied (its code moved into the
LightningModule, or is done by the Trainer now) stays, empty, so cell numbers keep pointing at the
same cells. Every other cell, markdown and raw cells and the notebook's metadata keep their bytes.
The report's lines point at cells: ``cell`` (1-based, every cell counted) and ``line`` (in the
cell).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from converter.notebook import cells as joining
from converter.notebook.format import Notebook, NotebookProblem, read
from converter.notebook.ipython import cell_magic

#: Cell magics whose body IPython runs as the cell's Python code (``verify`` runs it as such).
PYTHON_CELL_MAGICS = frozenset({"time", "capture"})


@dataclass
class CellChange:
    number: int
    before: str
    after: str

    @property
    def emptied(self) -> bool:
        return not self.after.strip()


@dataclass
class NotebookResult:
    """The notebook's new bytes (the input's when nothing changed) and what happened."""

    data: bytes
    changed: bool
    #: found / changed / declined entries: ``kind``, ``cell``, ``line``, ``message``.
    report: dict
    cells: list[CellChange] = field(default_factory=list)
    #: Why nothing changed, in a line (empty when something did).
    reason: str = ""
    #: The file's JSON layout could not be kept: it is written in Jupyter's.
    relaid: bool = False

    def diff(self, display: str) -> str:
        """A unified diff per changed cell (headers ``NAME cell N``), for people to read."""
        from converter.cli.diffing import unified_diff

        def ended(text: str) -> str:
            return text if not text or text.endswith("\n") else text + "\n"

        parts = []
        for cell in self.cells:
            text = unified_diff(
                ended(cell.before), ended(cell.after), f"{display} cell {cell.number}"
            )
            head, rest = text.split("\n", 1)
            second, rest = rest.split("\n", 1)
            second = second.replace("(converted)", "(converted; outputs cleared)")
            parts.append(f"{head}\n{second}\n{rest}")
        return "".join(parts)


def code_cells(notebook: Notebook) -> list[tuple[int, str]]:
    return [(c.number, c.text) for c in notebook.cells if c.kind == "code"]


def runnable_script(data: bytes) -> str:
    """The notebook's code cells as one plain Python script (IPython lines left out)."""
    return joining.runnable(code_cells(read(data)), PYTHON_CELL_MAGICS)


def convert_notebook(
    data: bytes,
    target: str = "pytorch_lightning",
    filename: str = "<notebook>",
    fallback: str | None = None,
    modules=None,
    package: str | None = None,
    datamodule: bool = False,
    callbacks: bool = False,
) -> NotebookResult:
    """Convert a notebook's bytes (``target``, ``fallback``, ``package``, ``datamodule``,
    ``callbacks`` and ``modules``, the
    notebook's own modules, as for ``convert_source``). Raises
    :class:`NotebookProblem` for a file that is not a notebook this tool takes (not JSON, not
    nbformat 4, a code cell that does not parse)."""
    notebook = read(data)
    unchanged = NotebookResult(data, False, _empty_report(filename))
    if notebook.language != "python":
        unchanged.reason = f"not a Python notebook (its kernel runs {notebook.language})"
        return unchanged
    taken, magic_loops = _cells_to_convert(notebook)
    for number, text in taken:
        _check_syntax(number, text)
    if not taken:
        unchanged.reason = "no code cells"
        return unchanged
    joined = joining.join(taken)
    result = _convert(joined, target, filename, fallback, modules, package, datamodule, callbacks)
    report = _located(result.report.to_dict(), joined)
    unchanged.report = report
    if not result.changed:
        unchanged.reason = _reason(report, magic_loops)
        return unchanged
    try:
        new_code = joining.split(joined, result.code)
    except joining.SplitProblem as err:
        report["changed"].clear()
        report["declined"].append(
            {
                "kind": "internal",
                "cell": None,
                "line": 0,
                "message": f"the conversion does not map back onto the cells ({err}); the "
                "notebook is left as it was. This is a converter bug: please report it",
            }
        )
        unchanged.reason = report["declined"][-1]["message"]
        return unchanged
    by_number = {cell.number: cell for cell in notebook.cells}
    changes = []
    for number, code in new_code.items():
        cell = by_number[number]
        if joining.same_code(cell.text, code):
            continue
        changes.append(CellChange(number, cell.text, joining.tidy(code)))
        cell.set_code(changes[-1].after)
    for change in changes:
        what = "emptied (its code moved or is done by Lightning)" if change.emptied else "changed"
        report["changed"].append(
            {
                "kind": "cell",
                "cell": change.number,
                "line": 1,
                "message": f"code {what}; its outputs and execution count cleared",
            }
        )
    return NotebookResult(notebook.to_bytes(), True, report, changes, relaid=notebook.relaid)


def _empty_report(filename: str) -> dict:
    return {"file": filename, "found": [], "changed": [], "declined": []}


def _cells_to_convert(notebook: Notebook):
    """The code cells the conversion sees (those holding Python statements; cell magics are
    IPython's to run, whole), and the cell magics holding a training loop's words."""
    from converter.files import might_contain_training

    taken, magic_loops = [], []
    for number, text in code_cells(notebook):
        if cell_magic(text) is not None:
            if might_contain_training(text):
                magic_loops.append(number)
        elif joining.has_python(text):
            taken.append((number, text))
    return taken, magic_loops


def _check_syntax(number: int, text: str) -> None:
    masked = joining.join([(number, text)]).text
    flags = ast.PyCF_ONLY_AST | getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0)
    try:
        compile(masked, f"cell {number}", "exec", flags=flags, dont_inherit=True)
    except SyntaxError as err:
        what = (err.msg or "invalid syntax").splitlines()[0]
        raise NotebookProblem(
            f"cannot parse: {what} (fix the cell, or make it a raw cell to leave it out)",
            cell=number,
            line=err.lineno or 1,
        ) from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise NotebookProblem(f"cannot parse: {err}", cell=number) from None


def _convert(
    joined: joining.Joined,
    target: str,
    filename: str,
    fallback: str | None,
    modules,
    package,
    datamodule: bool,
    callbacks: bool,
):
    import libcst

    from converter import convert_source
    from converter.parsing import SourceRejected

    try:
        return convert_source(
            joined.text,
            target=target,
            filename=filename,
            fallback=fallback,
            modules=modules,
            package=package,
            datamodule=datamodule,
            callbacks=callbacks,
        )
    except libcst.ParserSyntaxError as err:
        where = joined.locate(getattr(err, "raw_line", 0) or 0)
        message = f"cannot parse: {getattr(err, 'message', str(err)).splitlines()[0]}"
    except SourceRejected as err:  # over the size or nesting budget
        where = joined.locate(err.line) if err.line else None
        message = err.message
    cell, line = where if where else (None, None)
    raise NotebookProblem(message, cell=cell, line=line)


def _located(report: dict, joined: joining.Joined) -> dict:
    """The report with each entry's script line turned into its cell and line in the cell."""
    out = dict(report)
    for title in ("found", "changed", "declined"):
        entries = []
        for entry in report[title]:
            # A file-wide entry (no training loop at all) belongs to no cell.
            where = joined.locate(entry["line"]) if entry["kind"] != "file" else None
            cell, line = where if where else (None, 0)
            message = _LINE.sub(lambda m: _cell_line(joined, m), entry["message"])
            entries.append({"kind": entry["kind"], "cell": cell, "line": line, "message": message})
        out[title] = entries
    return out


#: "line N" of the joined code; not "engine.py (line N)", a line of a module copied from.
_LINE = re.compile(r"(?<!\.py \()\bline (\d+)\b")


def _cell_line(joined: joining.Joined, found: re.Match) -> str:
    """A script line a message mentions, as the cell and line it is."""
    where = joined.locate(int(found.group(1)))
    return f"cell {where[0]}, line {where[1]}" if where else found.group(0)


def _reason(report: dict, magic_loops: list[int]) -> str:
    declined = report["declined"]
    if magic_loops and (not declined or declined[0]["kind"] == "file"):
        return (
            f"cell {magic_loops[0]}: its training loop is in a cell magic (kept as IPython "
            "runs it, never converted); take the loop out of the magic's cell to convert it"
        )
    if not declined:
        return "nothing to convert"
    first = declined[0]
    place = f"{where(first)}: " if first["cell"] else ""
    more = len(declined) - 1
    return place + first["message"] + (f" (and {more} more)" if more else "")


def where(entry: dict) -> str:
    """``cell 3, line 2`` for a notebook report entry."""
    if entry.get("cell") is None:
        return ""
    return f"cell {entry['cell']}, line {entry['line']}"
