"""IPython syntax in a code cell: which lines are not Python and must never be parsed as Python.

IPython reads these at the start of a statement (not inside brackets, strings or a continued
line):

* line magics ``%matplotlib inline``, ``%time f(x)``, and their assignment form ``t = %time f()``;
* shell commands ``!pip install torch``, ``files = !ls``;
* help ``obj?``, ``obj??``, ``?obj``;
* a cell magic: a cell whose first line starts with ``%%`` is IPython's to run, all of it.

A line ending with a backslash continues the command on the next line. ``get_ipython()`` calls are
Python and parse as such.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE_MAGIC = re.compile(r"[ \t]*(?:[%!?]|[\w.]+(?:[ \t]*,[ \t]*[\w.]+)*[ \t]*=[ \t]*[%!])")
_CELL_MAGIC = re.compile(r"%%(\w+)")
_GET_IPYTHON = re.compile(r"[ \t]*get_ipython\(\)")


def cell_magic(text: str) -> str | None:
    """The cell magic's name (``time`` for ``%%time``) when the cell is one, else None."""
    for line in text.splitlines():
        if line.strip():
            found = _CELL_MAGIC.match(line)
            return found.group(1) if found else None
    return None


@dataclass
class _Scan:
    """Where a line starts: inside a string (its delimiter), inside brackets, after a backslash."""

    quote: str | None = None
    depth: int = 0
    backslash: bool = False

    def at_statement_start(self) -> bool:
        return self.quote is None and self.depth == 0 and not self.backslash

    def advance(self, line: str) -> str:
        """Move past ``line``; return its code with strings and the comment left out."""
        code = []
        i, n = 0, len(line)
        self.backslash = False
        comment = False
        while i < n:
            c = line[i]
            if self.quote is not None:
                if c == "\\":
                    i += 2
                elif line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                else:
                    i += 1
                continue
            if c == "#":
                comment = True
                break
            if c in "'\"":
                self.quote = line[i : i + 3] if line[i : i + 3] in ("'''", '"""') else c
                i += len(self.quote)
                code.append(" ")
                continue
            if c in "([{":
                self.depth += 1
            elif c in ")]}":
                self.depth = max(0, self.depth - 1)
            code.append(c)
            i += 1
        rest = line.rstrip("\r\n")
        if self.quote in ("'", '"') and not rest.endswith("\\"):
            self.quote = None  # an unclosed one-line string: Python reports it, not this scan
        if self.quote is None and not comment and rest.endswith("\\"):
            self.backslash = True
        return "".join(code)


def _is_help(code: str) -> bool:
    code = code.strip()
    return code.startswith("?") or code.endswith("?")


def ipython_lines(text: str, runtime: bool = False) -> list[tuple[int, int]]:
    """The IPython commands of a cell that is not a cell magic, as ``(first, last)`` line indices
    (0-based, a command continued by backslashes spans several lines). With ``runtime``, lines
    calling ``get_ipython()`` count too (a plain Python run has no IPython to call)."""
    lines = text.splitlines(keepends=True)
    found: list[tuple[int, int]] = []
    scan = _Scan()
    i = 0
    while i < len(lines):
        line = lines[i]
        if scan.at_statement_start():
            probe = _Scan()
            code = probe.advance(line)
            if _LINE_MAGIC.match(line) or _is_help(code) or (runtime and _GET_IPYTHON.match(line)):
                last = i
                while lines[last].rstrip("\r\n").endswith("\\") and last + 1 < len(lines):
                    last += 1
                found.append((i, last))
                i = last + 1
                continue
        scan.advance(line)
        i += 1
    return found
