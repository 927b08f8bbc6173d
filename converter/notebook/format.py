"""Read and write ``.ipynb`` files (nbformat 4) byte for byte, with the standard library's json.

Jupyter writes a notebook as ``json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False)``
plus a newline. Reading keeps each object's key order, and :func:`read` finds the layout the file
was written in (indent, escapes, final newline, CRLF, BOM) and checks that dumping the notebook
again in that layout gives the very same bytes. Written in that layout, a notebook whose cells
changed differs only inside those cells: markdown cells, metadata and the outputs of every other
cell keep their bytes. A file whose layout does not round-trip (hand-edited JSON, numbers spelt
another way) is written in Jupyter's own layout, and :attr:`Notebook.relaid` says so.

nbformat (the Jupyter library) is not used here: it reads through a validating schema and writes
only its own layout, and the converter stays on the standard library, LibCST and click.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass

#: How Jupyter (nbformat) writes a notebook.
JUPYTER_INDENT = 1

_INDENT = re.compile(r"\{\n( +|\t+)\"")


class NotebookProblem(ValueError):
    """The file is not a notebook this tool can take: the message says what and what to do.

    ``cell`` (1-based, counting every cell) and ``line`` (within the cell) locate it when they
    can."""

    def __init__(self, message: str, cell: int | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cell = cell
        self.line = line

    def where(self) -> str:
        if self.cell is None:
            return ""
        return f"cell {self.cell}" + (f", line {self.line}" if self.line else "")


@dataclass(frozen=True)
class Layout:
    indent: int | str | None
    ensure_ascii: bool
    sort_keys: bool
    final_newline: bool
    crlf: bool
    bom: bool


JUPYTER = Layout(JUPYTER_INDENT, False, True, True, False, False)


@dataclass
class Cell:
    number: int  # 1-based, counting every cell, as they appear in the notebook
    kind: str  # "code", "markdown", "raw"
    text: str  # with "\n" line endings (see `newline`)
    node: dict  # the cell's JSON object (changed in place when its code changes)
    #: The cell's own line ending when it is not "\n" ("\r\n" from Windows, "\r" from old
    #: Macs), every line alike: ``text`` has "\n" instead, and new code gets it back.
    newline: str = "\n"

    def set_code(self, text: str) -> None:
        """New code: the source in the form the cell had (a list of lines, as Jupyter writes it,
        or one string, with the cell's line endings), and the outputs and execution count of the
        old code cleared."""
        self.text = text
        if self.newline != "\n":
            text = text.replace("\n", self.newline)
        if isinstance(self.node.get("source"), str):
            self.node["source"] = text
        else:
            self.node["source"] = text.splitlines(keepends=True)
        if self.kind == "code":
            self.node["outputs"] = []
            self.node["execution_count"] = None


@dataclass
class Notebook:
    doc: dict
    cells: list[Cell]
    layout: Layout
    #: True when the file's own JSON layout did not round-trip: it is written in Jupyter's.
    relaid: bool = False

    @property
    def language(self) -> str:
        """The kernel's language, lower case ("python" when the notebook does not say)."""
        meta = self.doc.get("metadata")
        if not isinstance(meta, dict):
            return "python"
        for key, field in (("kernelspec", "language"), ("language_info", "name")):
            value = meta.get(key)
            if isinstance(value, dict) and isinstance(value.get(field), str):
                return value[field].lower()
        return "python"

    def to_bytes(self) -> bytes:
        return dump(self.doc, self.layout)


def dump(doc: dict, layout: Layout) -> bytes:
    text = json.dumps(
        doc,
        indent=layout.indent,
        ensure_ascii=layout.ensure_ascii,
        sort_keys=layout.sort_keys,
        separators=(",", ": ") if layout.indent is not None else (", ", ": "),
    )
    if layout.final_newline:
        text += "\n"
    if layout.crlf:
        text = text.replace("\n", "\r\n")
    data = text.encode("utf-8")
    return codecs.BOM_UTF8 + data if layout.bom else data


def read(data: bytes) -> Notebook:
    """Parse a notebook; :class:`NotebookProblem` when it is not one this tool can take."""
    bom = data.startswith(codecs.BOM_UTF8)
    try:
        text = data[len(codecs.BOM_UTF8) if bom else 0 :].decode("utf-8")
    except UnicodeDecodeError as err:
        raise NotebookProblem(
            f"not a notebook: byte {err.start} is not UTF-8 (notebooks are UTF-8 JSON)"
        ) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise NotebookProblem(
            f"not a notebook: the JSON does not parse at line {err.lineno}, column {err.colno} "
            f"({err.msg}); open it in Jupyter or fix the JSON"
        ) from None
    except RecursionError:
        raise NotebookProblem("not a notebook: the JSON is nested too deeply") from None
    except ValueError as err:  # an integer of more digits than Python converts (4,300)
        what = str(err).split(":")[0]
        raise NotebookProblem(
            f"cannot read its JSON: a number in it is too long for Python ({what}); "
            "the file is left as it is"
        ) from None
    _check_version(doc)
    cells = _cells(doc)
    return Notebook(doc, cells, *_layout(doc, text, bom))


def _check_version(doc) -> None:
    if not isinstance(doc, dict):
        raise NotebookProblem("not a notebook: the JSON is not an object")
    version = doc.get("nbformat")
    if not isinstance(version, int) or isinstance(version, bool):
        raise NotebookProblem('not a notebook: no "nbformat" version number')
    if version < 4:
        raise NotebookProblem(
            f"nbformat {version} notebook: only nbformat 4 is read; upgrade it with "
            "`jupyter nbconvert --to notebook --nbformat 4 --inplace FILE` (or open and save it "
            "in Jupyter)"
        )
    if version > 4:
        raise NotebookProblem(f"nbformat {version} notebook: only nbformat 4 is read")


def _cells(doc: dict) -> list[Cell]:
    raw = doc.get("cells")
    if not isinstance(raw, list):
        raise NotebookProblem('not a notebook: no "cells" list (is it a notebook?)')
    cells = []
    for number, node in enumerate(raw, 1):
        if not isinstance(node, dict) or not isinstance(node.get("cell_type"), str):
            raise NotebookProblem("not a notebook cell: no cell_type", cell=number)
        source = node.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise NotebookProblem("its source is not text", cell=number)
        newline = _newline(source)
        if newline != "\n":
            source = source.replace(newline, "\n")
        cells.append(Cell(number, node["cell_type"], source, node, newline))
    return cells


def _newline(text: str) -> str:
    """The line ending of every line of ``text``: "\r\n" or "\r" when all its lines end so
    (the converter's new lines then get it too), else "\n" (mixed endings are kept as they are)."""
    if "\r" not in text:
        return "\n"
    crlf = text.count("\r\n")
    if crlf and crlf == text.count("\r") == text.count("\n"):
        return "\r\n"
    if "\n" not in text:
        return "\r"
    return "\n"


def _layout(doc: dict, text: str, bom: bool) -> tuple[Layout, bool]:
    """The layout ``text`` was written in, and whether it had to fall back to Jupyter's."""
    crlf = "\r\n" in text
    body = text.replace("\r\n", "\n") if crlf else text
    found = _INDENT.match(body)
    indent: int | str | None = None
    if found:
        indent = found.group(1) if found.group(1).startswith("\t") else len(found.group(1))
    layout = Layout(
        indent=indent,
        ensure_ascii=body.isascii(),
        sort_keys=False,  # the keys keep the order they were read in
        final_newline=body.endswith("\n"),
        crlf=crlf,
        bom=bom,
    )
    if dump(doc, layout) == (codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"):
        return layout, False
    return JUPYTER, True
