"""Line numbers for the report, computed for one top-level statement at a time.

LibCST's PositionProvider generates the code of the whole module and builds a range object for
every node; a conversion asks for a handful of lines. Here a statement's code is generated alone
with a state that only counts lines (and records each node's start as PositionProvider does:
the syntactic start, after leading comments and blank lines), then shifted to where the statement
starts in the file, which Python's own parser (`ast`, written in C) tells cheaply.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import libcst as cst
from libcst._nodes.internal import CodegenState


@dataclass(frozen=False)
class _LineCountingState(CodegenState):
    line: int = 1
    starts: dict = field(default_factory=dict)
    _open: list = field(default_factory=list)

    def add_token(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            self.line += value.count("\n") + value.count("\r") - value.count("\r\n")

    def add_indent_tokens(self) -> None:
        pass

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._open.append(self.line)

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._open.pop()
        self.starts.setdefault(node, start)

    @contextmanager
    def record_syntactic_position(
        self, node: cst.CSTNode, *, start_node=None, end_node=None
    ) -> Iterator[None]:
        start = self.line
        try:
            yield
        finally:
            self.starts[node] = self.starts[start_node] if start_node is not None else start


class Lines:
    def __init__(self, module: cst.Module, source: str | None) -> None:
        self.module = module
        self.source = source
        self._lines: dict[cst.CSTNode, int] = {}
        self._statement_lines: dict[cst.CSTNode, int] | None = None

    def of(self, top: cst.CSTNode, node: cst.CSTNode) -> int:
        """The line `node` starts on; `top` is the top-level statement that holds it."""
        if node not in self._lines:
            self._locate(top)
        return self._lines.get(node, 0)

    def _locate(self, top: cst.CSTNode) -> None:
        state = _LineCountingState(
            default_indent=self.module.default_indent,
            default_newline=self.module.default_newline,
        )
        top._codegen(state)
        shift = self._statement_line(top) - state.starts[top]
        for node, line in state.starts.items():
            self._lines[node] = line + shift

    def _statement_line(self, top: cst.CSTNode) -> int:
        if self._statement_lines is None:
            self._statement_lines = self._with_ast() or self._with_codegen()
        return self._statement_lines[top]

    def _with_ast(self) -> dict[cst.CSTNode, int] | None:
        """Python's parser gives each top-level statement's first line (a `def`'s line, as
        LibCST's syntactic position does, after its decorators)."""
        if self.source is None:
            return None
        try:
            tree = ast.parse(self.source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        found, position = {}, 0
        for statement in self.module.body:
            if position >= len(tree.body):
                return None
            found[statement] = tree.body[position].lineno
            position += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        return found if position == len(tree.body) else None

    def _with_codegen(self) -> dict[cst.CSTNode, int]:
        found, line = {}, 1 + len(self.module.header)
        for statement in self.module.body:
            state = _LineCountingState(
                default_indent=self.module.default_indent,
                default_newline=self.module.default_newline,
            )
            statement._codegen(state)
            found[statement] = line + state.starts[statement] - 1
            line += state.line - 1
        return found
