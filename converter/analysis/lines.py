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


_parsed: tuple[str | None, ast.Module | None] = (None, None)


def remember_tree(source: str, tree: ast.Module) -> None:
    """Python's tree of `source`, parsed already (by the guarded parse): not parsed again here."""
    global _parsed
    _parsed = (source, tree)


class Lines:
    """Each statement's first line from Python's own parser (`ast`, written in C), matched to the
    LibCST statements block by block; any other node's line from the code of the innermost
    statement around it, generated alone and shifted there."""

    def __init__(self, module: cst.Module, source: str | None, parents: dict) -> None:
        self.module = module
        self.source = source
        self.parents = parents
        self._lines: dict[cst.CSTNode, int] = {}
        self._located: set[cst.CSTNode] = set()
        self._statement_lines: dict[cst.CSTNode, int] | None = None

    def of(self, node: cst.CSTNode) -> int:
        """The line `node` starts on (0 for a node outside the module)."""
        if node in self._lines:
            return self._lines[node]
        statements = self._statements()
        holder = node
        while holder is not None and holder not in statements:
            holder = self.parents.get(holder)
        if holder is None:
            return 0
        if holder is node:
            return statements[node]
        if holder not in self._located:
            self._located.add(holder)
            self._locate(holder, statements[holder])
        return self._lines.get(node, 0)

    def _locate(self, statement: cst.CSTNode, line: int) -> None:
        state = _LineCountingState(
            default_indent=self.module.default_indent,
            default_newline=self.module.default_newline,
        )
        statement._codegen(state)
        shift = line - state.starts[statement]
        for node, start in state.starts.items():
            self._lines.setdefault(node, start + shift)

    def _statements(self) -> dict[cst.CSTNode, int]:
        if self._statement_lines is None:
            self._statement_lines = self._with_ast() or self._with_codegen()
        return self._statement_lines

    def _with_ast(self) -> dict[cst.CSTNode, int] | None:
        """Python's parser gives each statement's first line (a `def`'s line, as LibCST's
        syntactic position does, after its decorators)."""
        if self.source is None:
            return None
        tree = _parsed[1] if _parsed[0] is self.source else None
        try:
            tree = tree or ast.parse(self.source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        found: dict[cst.CSTNode, int] = {}
        return found if _pair(self.module.body, tree.body, found) else None

    def _with_codegen(self) -> dict[cst.CSTNode, int]:
        """Top-level statements only (each generated once), when `ast` cannot parse the text."""
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


def _pair(statements, nodes: list, found: dict) -> bool:
    """Match a LibCST block to its `ast` statements (a line `a = 1; b = 2` is one LibCST
    statement and two `ast` ones); False where they do not line up."""
    position = 0
    for statement in statements:
        if position >= len(nodes):
            return False
        node = nodes[position]
        found[statement] = node.lineno
        if isinstance(statement, cst.SimpleStatementLine):
            position += len(statement.body)
            continue
        position += 1
        for ours, theirs in _blocks(statement, node):
            if not _pair(ours, theirs, found):
                return False
    return position == len(nodes)


def _blocks(statement, node):
    """(LibCST statements, `ast` statements) of each block a compound statement holds."""
    pairs = []

    def add(block, theirs):
        if isinstance(block, cst.IndentedBlock):
            pairs.append((block.body, theirs))

    add(getattr(statement, "body", None), getattr(node, "body", []))
    orelse = getattr(statement, "orelse", None)
    if isinstance(orelse, cst.If):  # elif
        pairs.append(([orelse], node.orelse))
    elif orelse is not None:
        add(orelse.body, node.orelse)
    for handler, theirs in zip(getattr(statement, "handlers", ()), getattr(node, "handlers", ())):
        add(handler.body, theirs.body)
    final = getattr(statement, "finalbody", None)
    if final is not None:
        add(final.body, node.finalbody)
    for case, theirs in zip(getattr(statement, "cases", ()), getattr(node, "cases", ())):
        add(case.body, theirs.body)
    return pairs
