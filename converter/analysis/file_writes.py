"""Statements that write a file (`torch.save(...)`, `plt.savefig(...)`, `with open(p, "w")`).

Under several processes each such statement would run once per process; both targets put it on
process 0 (the Trainer's `rank_zero` pattern, Fabric's training rewrite). A write that names its
process (its rank, the environment torchrun sets) is each process's own file and is not listed.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.walk import find

WRITERS = (
    "torch.save",
    "torchvision.utils.save_image",
    "numpy.save",
    "numpy.savez",
    "numpy.savez_compressed",
    "numpy.savetxt",
    "matplotlib.pyplot.savefig",
    "pickle.dump",
    "json.dump",
)


_WRITING_METHODS = ("savefig",)  # `fig.savefig(path)`


_WRITE_MODES = set("wax")


def writing_statements(index: SourceIndex, root: cst.CSTNode) -> list[cst.BaseStatement]:
    """Statements under `root` that only write a file: `torch.save(...)` and the like as a
    statement of their own, `with open(path, "w") as f:`."""
    found = []
    for call in find(root, cst.Call):
        statement = index.enclosing_statement(call)
        if statement is None:
            continue
        if _per_process(index, call):
            continue
        if _writes(index, call) and _is_the_statement(statement, call):
            found.append(statement)
        elif _opens_for_writing(index, call) and isinstance(statement, cst.With):
            if all(_opens_for_writing(index, item.item) for item in statement.items):
                found.append(statement)
    return list(dict.fromkeys(found))


def _per_process(index: SourceIndex, call: cst.Call) -> bool:
    """A write that names the process it runs in (`f"rank{os.environ['LOCAL_RANK']}.txt"`,
    `dist.get_rank()`): each process writes its own file, as it meant to."""
    for node in find(call, (cst.Name, cst.Attribute)):
        name = node.value if isinstance(node, cst.Name) else node.attr.value
        if "rank" in name.lower() or index.resolves_to(node, "os.environ", "os.getenv"):
            return True
    return False


def _writes(index: SourceIndex, call: cst.Call) -> bool:
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in _WRITING_METHODS:
        return True
    return index.resolves_to(func, *WRITERS)


def _is_the_statement(statement, call: cst.Call) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and statement.body[0].value is call
    )


def _opens_for_writing(index: SourceIndex, call) -> bool:
    if not (isinstance(call, cst.Call) and index.resolves_to(call.func, "builtins.open")):
        return False
    modes = [a.value for a in call.args if a.keyword is not None and a.keyword.value == "mode"]
    positional = [a.value for a in call.args if a.keyword is None]
    modes += positional[1:2]
    return any(
        isinstance(mode, cst.SimpleString)
        and isinstance(mode.evaluated_value, str)
        and _WRITE_MODES & set(mode.evaluated_value)
        for mode in modes
    )
