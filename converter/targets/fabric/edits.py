"""The Fabric rewrite's edits, keyed by the original nodes they touch, applied in one transform.

Unlike the Trainer rewrite, which moves code into hooks, a Fabric conversion keeps the script's
statements where they are: it changes expressions in place (`loss.backward()` ->
`fabric.backward(loss)`), removes a few statements (device moves, DDP boilerplate) and inserts a
few (`fabric.setup(...)`). An expression edit is a function of the node as rewritten so far, so
edits nest (`print(x.to(device))` -> `fabric.print(x)`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.index import SourceIndex
from converter.analysis.walk import find
from converter.lightning_code.transform import EditingTransformer

Change = Callable[[cst.CSTNode], cst.CSTNode]


@dataclass
class FabricEdits:
    change: dict[cst.CSTNode, list[Change]] = field(default_factory=dict)
    remove: set[cst.CSTNode] = field(default_factory=set)
    before: dict[cst.CSTNode, list[cst.BaseStatement]] = field(default_factory=dict)
    after: dict[cst.CSTNode, list[cst.BaseStatement]] = field(default_factory=dict)

    def on(self, node: cst.CSTNode, change: Change) -> None:
        self.change.setdefault(node, []).append(change)

    def insert_after(self, node: cst.CSTNode, statements: list[cst.BaseStatement]) -> None:
        self.after.setdefault(node, []).extend(statements)

    def insert_before(self, node: cst.CSTNode, statements: list[cst.BaseStatement]) -> None:
        self.before.setdefault(node, []).extend(statements)


class ApplyFabricEdits(EditingTransformer):
    def __init__(self, index: SourceIndex, edits: FabricEdits) -> None:
        super().__init__(index, [*edits.change, *edits.remove, *edits.before, *edits.after])
        self.edits = edits
        self._out: dict[cst.CSTNode, list] = {}  # each original statement -> what replaces it

    def on_leave(self, original, updated):
        edits = self.edits
        for change in edits.change.get(original, ()):
            updated = change(updated)
        if isinstance(updated, (cst.IndentedBlock, cst.Module)):
            return self._block(original, updated)
        if isinstance(updated, cst.SimpleStatementLine) and _is_self_assignment(updated):
            edits.remove.add(original)  # `x = x.to(device)` once the move went
        if isinstance(original, cst.If) and self._emptied(original):
            edits.remove.add(original)  # `if use_cuda: model.cuda()` once the move went
        if not isinstance(original, cst.BaseStatement):
            return updated
        middle = [] if original in edits.remove else [updated]
        statements = [*edits.before.get(original, []), *middle, *edits.after.get(original, [])]
        self._out[original] = statements
        if len(statements) == 1 and statements[0] is updated:
            return updated
        return cst.FlattenSentinel(statements) if statements else cst.RemovalSentinel.REMOVE

    def _emptied(self, branch: cst.If) -> bool:
        """An `if` without `else` whose statements all went, and whose test calls nothing."""
        body = branch.body
        return (
            branch.orelse is None
            and isinstance(body, cst.IndentedBlock)
            and all(self._out.get(s) == [] for s in body.body)
            and not find(branch.test, cst.Call)
        )

    def _block(self, original, updated):
        """The block's statements again, a removed statement's comments kept above the next one,
        and `pass` where nothing is left."""
        body, pending = [], []
        for statement in original.body:
            out = self._out.get(statement, [statement])
            if not out:
                if statement in self.edits.remove and any(
                    line.comment is not None for line in statement.leading_lines
                ):
                    pending += statement.leading_lines
                continue
            if pending:
                first = out[0]
                out = [first.with_changes(leading_lines=[*pending, *first.leading_lines]), *out[1:]]
                pending = []
            body += out
        if not body and isinstance(updated, cst.IndentedBlock):
            body = [cst.SimpleStatementLine([cst.Pass()])]
        return updated.with_changes(body=body)


def _is_self_assignment(line: cst.SimpleStatementLine) -> bool:
    """`x = x` or `x, y = x, y`: what a batch move leaves when its `.to(device)` is dropped."""
    if len(line.body) != 1 or not isinstance(line.body[0], cst.Assign):
        return False
    assign = line.body[0]
    if len(assign.targets) != 1:
        return False
    target, value = assign.targets[0].target, assign.value
    names = m.Name() | m.Tuple(elements=[m.ZeroOrMore(m.Element(m.Name()))])
    if not (m.matches(target, names) and m.matches(value, names)):
        return False
    return _names(target) == _names(value)


def _names(node: cst.BaseExpression) -> list[str]:
    if isinstance(node, cst.Name):
        return [node.value]
    return [e.value.value for e in node.elements]
