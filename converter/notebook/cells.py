"""Code cells joined into one script for the converter, and the converted script split back.

Between two cells the script holds a marker statement, ``"__torch2lightning__ cell 5"`` (a bare
string: the converter keeps it where it is, as it keeps any statement it does not move), and each
IPython line becomes a placeholder statement at the line's indentation,
``"__torch2lightning__ ipython 3"`` (a comment before the script's first statement, where a
statement would end the leading imports the converter adds its own after), so that line numbers
stay those of the cells and IPython syntax is never parsed. The converter puts new code where
the code it replaces was, so splitting its output at the markers gives each cell its new code:
the LightningModule in the model class's cell, the Trainer calls in the loop's cell, an import
after the imports. Placeholders are then restored, at their new indentation if the conversion
moved them into a method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from converter.notebook.ipython import ipython_lines

TOKEN = "__torch2lightning__"


class SplitProblem(ValueError):
    """The converted script no longer has each marker and placeholder once, in order."""


@dataclass(frozen=True)
class Span:
    """A cell's place in the joined script."""

    number: int  # the cell's number in the notebook (1-based, every cell counted)
    first: int  # its first line in the script (1-based)
    count: int  # its number of lines
    added_newline: bool  # a newline was added after its last line


@dataclass(frozen=True)
class Masked:
    """One IPython line, replaced by a placeholder at its command's indentation."""

    line: str  # the original line, without its line ending
    indent: str  # the placeholder's indentation (its command's first line's)
    reindent: bool  # a command's first line follows its placeholder when the conversion moves
    # it; the lines continuing a command (after a backslash) come back exactly as they were


@dataclass
class Joined:
    text: str
    token: str
    spans: list[Span] = field(default_factory=list)
    masked: dict[int, Masked] = field(default_factory=dict)

    def locate(self, line: int) -> tuple[int, int] | None:
        """(cell number, line in the cell) of a line of the script; None for a marker line."""
        for span in self.spans:
            if span.first <= line < span.first + max(span.count, 1):
                return span.number, line - span.first + 1
        return None


def _token(texts: list[str]) -> str:
    token = TOKEN
    while any(token in t for t in texts):
        token += "_"
    return token


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def join(cells: list[tuple[int, str]]) -> Joined:
    """One script of ``cells`` ((number, code) pairs, in order)."""
    joined = Joined("", _token([text for _, text in cells]))
    out: list[str] = []
    line = 1
    started = False  # a statement came: IPython lines before the first one are in the header
    for position, (number, text) in enumerate(cells):
        if position:
            out.append(f'"{joined.token} cell {number}"\n')
            line += 1
            started = True
        lines = text.splitlines(keepends=True)
        commands = {}  # line index -> (indentation of its command, first line of it)
        for first, last in ipython_lines(text):
            for i in range(first, last + 1):
                commands[i] = (_indent(lines[first]), i == first)
        for i, source in enumerate(lines):
            if i not in commands:
                started = started or _is_code(source)
                continue
            indent, reindent = commands[i]
            key = len(joined.masked)
            original = source.rstrip("\r\n")
            joined.masked[key] = Masked(original, indent, reindent)
            # Before the script's first statement, a comment: the converter adds its imports
            # after the script's leading imports, and a statement here would end those.
            mark = (
                f'"{joined.token} ipython {key}"' if started else f"# {joined.token} ipython {key}"
            )
            lines[i] = f"{indent}{mark}{source[len(original) :]}"
        body = "".join(lines)
        added = not body.endswith("\n")
        if added:
            body += "\n"
        out.append(body)
        joined.spans.append(Span(number, line, body.count("\n"), added))
        line += body.count("\n")
    joined.text = "".join(out)
    return joined


def _is_code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def has_python(text: str) -> bool:
    """Whether a cell holds any Python statement (not only IPython lines and comments)."""
    lines = text.splitlines()
    masked = {i for first, last in ipython_lines(text) for i in range(first, last + 1)}
    return any(_is_code(line) for i, line in enumerate(lines) if i not in masked)


def split(joined: Joined, converted: str) -> dict[int, str]:
    """Each cell's code in the converted script (cell number -> code), IPython lines restored.

    Raises :class:`SplitProblem` when a marker or a placeholder is missing, repeated or out of
    order (the conversion moved it)."""
    token = re.escape(joined.token)
    marker = re.compile(rf'"{token} cell (\d+)"\r?\n?')
    placeholder = re.compile(
        rf'([ \t]*)(?:"{token} ipython (\d+)"|# {token} ipython (\d+))(\r?\n)?'
    )
    numbers = [span.number for span in joined.spans]
    pieces: dict[int, list[str]] = {numbers[0]: []} if numbers else {}
    current = numbers[0] if numbers else None
    expected = iter(numbers[1:])
    restored: set[int] = set()
    for line in converted.splitlines(keepends=True):
        if joined.token not in line:
            pieces[current].append(line)
            continue
        found = marker.fullmatch(line)
        if found:
            number = int(found.group(1))
            if number != next(expected, None):
                raise SplitProblem(f"the boundary before cell {number} moved")
            current = number
            pieces[current] = []
            continue
        found = placeholder.fullmatch(line)
        key = int(found.group(2) or found.group(3)) if found else None
        if key is None or key in restored or key not in joined.masked:
            raise SplitProblem("an IPython line was moved or repeated")
        restored.add(key)
        pieces[current].append(_restore(joined.masked[key], found.group(1), found.group(4) or ""))
    if next(expected, None) is not None:
        raise SplitProblem("a cell boundary was lost")
    if len(restored) != len(joined.masked):
        lost = min(set(joined.masked) - restored)
        raise SplitProblem(f"the IPython line `{joined.masked[lost].line.strip()}` was lost")
    out = {}
    for span in joined.spans:
        text = "".join(pieces[span.number])
        if span.added_newline and text.endswith("\n"):
            text = text[:-1]
        out[span.number] = text
    return out


def _restore(masked: Masked, indent: str, ending: str) -> str:
    if masked.reindent:
        return indent + masked.line[len(masked.indent) :] + ending
    return masked.line + ending


def same_code(before: str, after: str) -> bool:
    """Equal but for blank lines at either end (the conversion's spacing around a cell's edge)."""
    return before.strip("\r\n") == after.strip("\r\n")


def tidy(code: str) -> str:
    """A converted cell's code without blank lines at either end (Jupyter's cells have none)."""
    lines = code.splitlines(keepends=True)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "".join(lines).rstrip("\r\n")


def runnable(cells: list[tuple[int, str]], python_magics: frozenset[str]) -> str:
    """The code cells as one plain Python script, as IPython would run them in order: IPython
    lines (and ``get_ipython()`` calls) become ``pass``, a cell magic's cell is left out, unless
    its magic runs its body as Python (``python_magics``, e.g. ``time``), which then runs."""
    from converter.notebook.ipython import cell_magic

    out = []
    for number, text in cells:
        magic = cell_magic(text)
        if magic is not None:
            if magic not in python_magics:
                continue
            lines = text.splitlines(keepends=True)
            start = next(i for i, line in enumerate(lines) if line.strip())
            text = "".join(lines[start + 1 :])
        lines = text.splitlines(keepends=True)
        for first, last in ipython_lines(text, runtime=True):
            for i in range(first, last + 1):
                ending = lines[i][len(lines[i].rstrip("\r\n")) :]
                lines[i] = f"{_indent(lines[first])}pass{ending}"
        body = "".join(lines)
        out.append(f"# cell {number}\n" + (body if body.endswith("\n") else body + "\n"))
    return "".join(out)
