"""What the in-place rewrites of a Fabric conversion share: who is who, where `fabric` exists,
the loops, the edits, and what each rewrite did (for the report)."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.targets.fabric.edits import FabricEdits
from converter.targets.fabric.loops import Loops
from converter.targets.fabric.reach import Reach
from converter.targets.fabric.roles import Roles, resolve


@dataclass
class Context:
    index: SourceIndex
    roles: Roles
    reach: Reach
    loops: Loops
    fabric: str
    edits: FabricEdits
    uses: list[cst.CSTNode] = field(default_factory=list)  # nodes that now read `fabric`
    counts: dict[str, list[int]] = field(default_factory=dict)  # what changed -> lines
    #: model -> the source position after which it is Fabric's wrapper (`fabric.setup`)
    wrapped_after: dict[str, int] = field(default_factory=dict)
    guarded: set[cst.CSTNode] = field(default_factory=set)  # prints under a rank-zero guard
    saved: list[cst.Call] = field(default_factory=list)  # `torch.save` calls now `fabric.save`

    def name(self) -> cst.Name:
        return cst.Name(self.fabric)

    def attribute(self, attr: str) -> cst.Attribute:
        return cst.Attribute(self.name(), cst.Name(attr))

    def use(self, node: cst.CSTNode, what: str) -> None:
        """`node` now reads `fabric`; `what` counts it for the report."""
        self.uses.append(node)
        self.count(node, what)

    def count(self, node: cst.CSTNode, what: str) -> None:
        self.counts.setdefault(what, []).append(self.index.line(node))

    def is_wrapped_model(self, node: cst.CSTNode) -> bool:
        """`node` reads a model where it is already Fabric's wrapper (`_FabricModule`)."""
        found = resolve(self.index, node) if isinstance(node, cst.Name) else None
        if isinstance(node, cst.Name) and (found is None or found[0] is not self.roles.scope):
            scope = self.index.scope(node)  # a model the setup scope receives: its parameter
            if scope is not None and scope.lookup(node.value) is self.roles.scope:
                found = (self.roles.scope, node.value)
        if found is None or found[0] is not self.roles.scope or found[1] not in self.wrapped_after:
            return False
        own = self.index.enclosing_function(node) is self.roles.function
        return not own or self.index.order(node) > self.wrapped_after[found[1]]

    def is_model(self, node: cst.CSTNode) -> bool:
        """`node` names a model Fabric sets up."""
        found = resolve(self.index, node)
        return (
            found is not None and found[0] is self.roles.scope and bool(self.roles.model(found[1]))
        )


def make_call(func: cst.BaseExpression, args: list[cst.Arg]) -> cst.Call:
    """A call whose arguments are separated by `, ` (the last one keeps what it had)."""
    fixed = []
    for position, arg in enumerate(args):
        last = position == len(args) - 1
        if not last and not isinstance(arg.comma, cst.Comma):
            arg = arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        elif last and isinstance(arg.comma, cst.Comma) and position == 0:
            arg = arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        fixed.append(arg)
    return cst.Call(func=func, args=fixed)
