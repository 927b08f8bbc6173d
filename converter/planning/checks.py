"""Checks of the planned site that no single pattern owns: control flow that would leave a loop
or function which no longer exists once the code moved into hooks. (Each pattern checks its own
shape in its `check`; see `converter.planning.check_site`.)"""

from __future__ import annotations

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined, Moved, TrainingSite
from converter.analysis.walk import find

_ESCAPING = (cst.Break, cst.Continue, cst.Return, cst.Yield, cst.Global, cst.Nonlocal)
_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


def check_control_flow(site: TrainingSite, index: SourceIndex) -> None:
    """break/continue/return/yield/global/nonlocal whose target is outside the moved statement,
    unless a pattern turns it into Lightning's own control (`site.exits`)."""
    for moved in site.all_moved():
        for node in find(moved.node, _ESCAPING):
            if node in site.exits or not _escapes(index, moved, node):
                continue
            word = type(node).__name__.lower()
            where = "batch loop" if moved in site.train.step else "loop"
            raise Declined(index.line(node), f"`{word}` inside the training {where}'s code")


def _escapes(index: SourceIndex, moved: Moved, node: cst.CSTNode) -> bool:
    loop_control = isinstance(node, (cst.Break, cst.Continue))
    child = node
    for ancestor in index.ancestors(node):
        if isinstance(ancestor, _SCOPES):
            return False  # a closure's own return, a nested function's global
        if loop_control and isinstance(ancestor, (cst.For, cst.While)) and child is ancestor.body:
            return False  # the statement's own loop
        if ancestor is moved.node:
            return True
        child = ancestor
    return True
