"""An argument substituted into an f-string's braces (`f"{what}: ..."` with `what` bound to
`f"epoch {epoch}"`) must not reuse the f-string's quote: before Python 3.12 the string would end
there. Its string literals are written with the other quote instead."""

from __future__ import annotations

import libcst as cst

from converter.analysis.index import SourceIndex

_PREFIX = "rRbBuUfF"


def enclosing_quote(index: SourceIndex, node: cst.CSTNode) -> str | None:
    """The quote of the f-string whose braces hold `node`, if any."""
    parent = index.parent(node)
    while parent is not None:
        if isinstance(parent, cst.FormattedString):
            return parent.start.lstrip(_PREFIX)
        if isinstance(parent, cst.BaseStatement):
            return None
        parent = index.parent(parent)
    return None


def requoted(value: cst.BaseExpression, quote: str) -> cst.BaseExpression | None:
    """`value` with no string quoted by `quote` (a one-character quote only: a triple-quoted
    f-string ends at three); None where a string cannot change quotes (it holds the other quote
    or a backslash, which f-string braces do not allow either)."""
    if len(quote) != 1:
        return value
    other = "'" if quote == '"' else '"'
    failed = False

    class Requote(cst.CSTTransformer):
        def leave_SimpleString(self, original, updated):
            nonlocal failed
            prefix = updated.value[: len(updated.value) - len(updated.value.lstrip(_PREFIX))]
            body = updated.value[len(prefix) :]
            if not body.startswith(quote) or body.startswith(quote * 3):
                return updated
            inner = body[1:-1]
            if other in inner or "\\" in inner:
                failed = True
                return updated
            return updated.with_changes(value=f"{prefix}{other}{inner}{other}")

        def leave_FormattedString(self, original, updated):
            nonlocal failed
            start = updated.start.lstrip(_PREFIX)
            if start != quote:
                return updated
            text = cst.Module([]).code_for_node(updated)
            if other in text or "\\" in text:
                failed = True
                return updated
            prefix = updated.start[: -len(start)]
            return updated.with_changes(start=prefix + other, end=other)

    result = value.visit(Requote())
    return None if failed else result
