"""The base of the rewrites' one transform: it visits only the way to the nodes it edits."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from converter.analysis.index import SourceIndex


class EditingTransformer(cst.CSTTransformer):
    """Descends only into the nodes that hold an edit (the edited nodes and their ancestors).

    LibCST rebuilds every node a transform visits, even one that nothing changes; a script's
    conversion edits a few statements, so visiting the whole tree was most of a conversion's
    cost. A subtree without an edit is handed back as it is (``on_leave`` still sees its root).
    """

    def __init__(self, index: SourceIndex, edited: Iterable[cst.CSTNode]) -> None:
        self._paths = index.paths_to(edited)

    def on_visit(self, node: cst.CSTNode) -> bool:
        return node in self._paths
