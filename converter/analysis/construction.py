"""What the module's construction can take over from the site: objects it can build itself, and
whether the model's creation can move down past the statements that bind its arguments.

`Net.load_from_checkpoint(path)` builds the module from its saved hyper-parameters alone: an
object the hooks use (a loss function) is only there if `__init__` builds it, and a setting is
only saved as the module was constructed with it. A stateless torch.nn module made from
literals (`nn.CrossEntropyLoss(label_smoothing=0.1)`, `nn.Softmax(dim=1)`) draws no random
numbers and holds no state of its own, so `__init__` can make its own, identical one.

Moving `model = Net(...)` after the statements that bind what it is given is only the same
program when nothing in between reads the model, rebinds what its construction reads, or could
depend on the order (random numbers drawn, output printed): only plain assignments of plain
data or of such stateless modules may be passed.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis.bindings import assigned_value, single_binding
from converter.analysis.index import SourceIndex
from converter.analysis.names import names_read, names_written
from converter.analysis.values import is_plain
from converter.analysis.walk import find

_STATELESS = frozenset(
    """Identity Flatten Unflatten ReLU ReLU6 LeakyReLU PReLU ELU SELU CELU GELU SiLU Mish
    Sigmoid Tanh Softplus Softsign Softmax LogSoftmax Softmax2d""".split()
) - {"PReLU"}  # PReLU has a weight
_LITERAL_NAMES = ("True", "False", "None")


def rebuildable(index: SourceIndex, scope, name: str) -> cst.Call | None:
    """`name = nn.MSELoss()`, bound once in `scope`: a stateless torch.nn module made from
    literals, whose class the module-level code can name (the call, else None)."""
    value = assigned_value(single_binding(index, scope, name), name)
    if not isinstance(value, cst.Call) or not _stateless_class(index, value.func):
        return None
    root = value.func
    while isinstance(root, cst.Attribute):
        root = root.value
    if not isinstance(root, cst.Name):
        return None
    owner = index.scope(root)
    if owner is None or owner.lookup(root.value) is not index.body_scope(None):
        return None  # imported inside a function: __init__ could not name it
    for arg in value.args:
        if arg.star or not is_plain(index, scope, arg.value, set()):
            return None
        if any(n.value not in _LITERAL_NAMES for n in find(arg.value, cst.Name)):
            return None
    return value


def _stateless_class(index: SourceIndex, func: cst.BaseExpression) -> bool:
    for qualified in index.qualified_names(func):
        package, _, cls = qualified.rpartition(".")
        if not package.startswith("torch.nn") or package.startswith("torch.nn.functional"):
            continue
        if cls.endswith("Loss") or cls in _STATELESS:
            return True
    return False


def can_move_after(
    index: SourceIndex,
    scope,
    statement: cst.BaseStatement,
    target: cst.BaseStatement,
    leaving: set[cst.BaseStatement],
    reads: set[str],
) -> bool:
    """Whether `statement` (which reads `reads`, besides its own names) can move down its
    block to just after `target`, past the statements in between (those in `leaving` go away)."""
    block = index.parent(statement)
    body = list(getattr(block, "body", []))
    if statement not in body or target not in body or body.index(target) < body.index(statement):
        return False
    own = names_read(index, [statement]) | reads
    bound = set(names_written(index, [statement]))
    for passed in body[body.index(statement) + 1 : body.index(target) + 1]:
        if passed in leaving:
            continue
        if not _inert(index, scope, passed):
            return False
        if names_written(index, [passed]) & (own | bound) or names_read(index, [passed]) & bound:
            return False
    return True


def _inert(index: SourceIndex, scope, statement: cst.BaseStatement) -> bool:
    """A plain assignment of plain data, of a name or option, or of a stateless module."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if not isinstance(small, (cst.Assign, cst.AnnAssign)) or small.value is None:
        return False
    value = small.value
    if is_plain(index, scope, value, set()) or _names_only(value):
        return True
    return (
        isinstance(value, cst.Call)
        and _stateless_class(index, value.func)
        and all(not a.star and _plainish(index, scope, a.value) for a in value.args)
    )


def _names_only(value: cst.BaseExpression) -> bool:
    """`x`, `args.lr`: reading a value draws nothing."""
    while isinstance(value, cst.Attribute):
        value = value.value
    return isinstance(value, cst.Name)


def _plainish(index: SourceIndex, scope, value: cst.BaseExpression) -> bool:
    return is_plain(index, scope, value, set()) or _names_only(value)
