"""The data code of a conversion: the statements before `fit` that build its loaders and can
run inside `fit` instead (see the package's docstring for why each rule holds)."""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import code, functions_called
from converter.analysis.file_writes import writing_statements
from converter.analysis.index import SourceIndex
from converter.analysis.names import READ, WRITE, name_events
from converter.analysis.randomness import global_random_calls
from converter.analysis.values import is_plain
from converter.analysis.walk import find


class Kept(Exception):
    """The loaders stay in the script: why, and the line (of the converted script's input)."""

    def __init__(self, line: int, why: str, node: cst.CSTNode | None = None) -> None:
        super().__init__(why)
        self.line = line
        self.node = node  # where, when `line` is 0: a node of the converted script


_MUTATING = frozenset(
    "append extend insert remove pop popitem clear update setdefault add discard sort".split()
)


_DRAWING_MODULES = ("numpy.random.", "random.")  # other global generators than torch's


_SPLITS = ("torch.utils.data.random_split", "torch.utils.data.dataset.random_split")


def data_statements(
    index: SourceIndex, scope, before: list[cst.BaseStatement], loaders: set[str], given
) -> list[cst.BaseStatement]:
    """The statements before `fit` that build the loaders: those binding what the loaders read,
    and those that use what they bind (`kwargs.update(cuda_kwargs)`), to a fixed point. A value
    that other code reads too (`device`) is not theirs: it becomes a setting."""
    shared: set[str] = set()
    while True:
        taken = _closure(index, before, loaders, shared)
        bound = {e.node.value for e in name_events(index, taken) if e.kind == WRITE}
        read_elsewhere = {
            n for n in bound - shared if _reads_outside(index, scope, n, taken, given)
        }
        if not read_elsewhere - loaders:
            break
        shared |= read_elsewhere - loaders
    if not taken:
        _nothing_movable(index, before, loaders)
    return taken


def _nothing_movable(index: SourceIndex, before, loaders: set[str]):
    """Why no data code can move: the loaders' bindings draw random numbers, or are elsewhere."""
    for statement in before:
        drawn = draws(index, [statement]) if written(index, statement) & loaders else []
        if drawn:
            raise Kept(
                0,
                f"the statement that builds the loader also draws random numbers "
                f"(`{code(drawn[0].func)}`); it stays where it draws, before the model is created",
                statement,
            )
    unbound = sorted(
        n for n in loaders if not index.scope(before[-1] if before else index.module).lookup(n)
    )
    if unbound:
        raise Kept(0, f"`{unbound[0]}`, which the training loop iterates, is bound nowhere")
    raise Kept(
        0,
        "no statement before `fit` in its block builds its loaders (they are built in another "
        "block, a branch or a function)",
        next((s for s in before if written(index, s) & loaders), None),
    )


def _closure(index: SourceIndex, before, loaders: set[str], shared: set[str]) -> list:
    movable = [s for s in before if _movable(index, s)]
    taken: set[cst.BaseStatement] = set()
    changed = True
    while changed:
        changed = False
        wanted = set(loaders)
        for statement in reversed(movable):  # what is read, back to its bindings
            binds = written(index, statement)
            if statement not in taken and binds & wanted and not binds & shared:
                taken.add(statement)
                changed = True
            if statement in taken:
                wanted |= reads(index, statement)
        # what uses what they bind (not the loaders: a use of theirs is the script's), changing
        # nothing else
        bound = {e.node.value for e in name_events(index, list(taken)) if e.kind == WRITE}
        bound -= loaders
        for statement in movable:
            if statement not in taken and reads(index, statement) & bound:
                others = set(changed_objects(index, [statement])) - bound
                if not written(index, statement) & shared and not others:
                    taken.add(statement)
                    changed = True
    return [s for s in before if s in taken]


def _movable(index: SourceIndex, statement: cst.BaseStatement) -> bool:
    """Data code may move into the DataModule: not an import, a def or a class (the script's
    own), not a setting (`batch_size = 64`: a constructor argument with that default), and
    nothing that draws from a global random generator (it stays where it draws, before the
    model's creation, and what it makes is given to the DataModule)."""
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return False
    if m.matches(statement, m.SimpleStatementLine(body=[m.Import() | m.ImportFrom()])):
        return False
    if simple_assignment(statement):
        value = statement.body[0].value
        if is_plain(index, index.scope(statement), value, set()) and not find(value, cst.Name):
            return False
    return not draws(index, [statement])


def draws(index: SourceIndex, statements) -> list[cst.Call]:
    """The calls of `statements` (and of the script's functions and classes they call) that
    draw from a global random generator (torch's, numpy's, Python's) or reseed one."""
    called = [f.body for f in functions_called(index, statements)]
    nodes = [*statements, *called, *_own_classes_built(index, statements)]
    drawn = global_random_calls(index, nodes)
    for node in nodes:
        for call in find(node, cst.Call):
            names = index.qualified_names(call.func)
            if any(n.startswith(_DRAWING_MODULES) for n in names) or (
                index.resolves_to(call.func, *_SPLITS)
                and not any(a.keyword and a.keyword.value == "generator" for a in call.args)
            ):
                drawn.append(call)
    return drawn


def _reads_outside(index: SourceIndex, scope, name: str, data, given) -> cst.Name | None:
    """A read of the block's `name` by code other than `data` and the loaders given (the first)."""
    for every in index.scopes():
        if every.lookup(name) is not scope:
            continue
        for access in every.accesses[name]:
            node = access.node
            if id(node) in given:
                continue
            statement = index.enclosing_statement(node)
            if any(d is statement or d in index.ancestors(statement) for d in data):
                continue
            return node
    return None


def reads(index: SourceIndex, statement: cst.CSTNode) -> set[str]:
    return {e.node.value for e in name_events(index, [statement]) if e.kind == READ}


def check_reads(index: SourceIndex, scope, data, given, line) -> None:
    """Only `fit`/`test` read what the data code binds."""
    for name in sorted({e.node.value for e in name_events(index, data) if e.kind == WRITE}):
        node = _reads_outside(index, scope, name, data, given)
        if node is not None:
            raise Kept(
                line(node),
                f"`{name}`, which the data code binds, is also read on line {line(node)}; a "
                "DataModule builds it only inside `fit`",
            )


def check_effects(index: SourceIndex, data, line) -> None:
    """The data code runs inside `fit` now: it must not print or write files."""
    called = [f.body for f in functions_called(index, data)]
    for node in [*data, *called, *_own_classes_built(index, data)]:
        for call in find(node, cst.Call):
            if index.resolves_to(call.func, "builtins.print"):
                raise Kept(
                    line(call),
                    f"the data code prints (line {line(call)}); in a DataModule it would print "
                    "inside `fit`, after what the script prints in between",
                )
        writes = writing_statements(index, node)
        if writes:
            raise Kept(line(writes[0]), f"the data code writes a file (line {line(writes[0])})")


def _own_classes_built(index: SourceIndex, data) -> list[cst.CSTNode]:
    """The bodies of the script's classes the data code creates (a Dataset's `__init__`)."""
    classes = {s.name.value: s for s in index.module.body if isinstance(s, cst.ClassDef)}
    called = {c.func.value for d in data for c in find(d, cst.Call) if isinstance(c.func, cst.Name)}
    return [classes[n].body for n in sorted(called & set(classes))]


def changed_objects(index: SourceIndex, statements) -> dict[str, cst.CSTNode]:
    """The variables whose objects `statements` change in place, and where: an item or
    attribute assigned or deleted (`vocab[w] = i`), or a method called for its effect alone
    (`vocab.update(...)`, `items.append(...)`) or one that changes a dict, list or set
    (`vocab.setdefault(w, len(vocab))`). Another method may change its object too, unseen
    here: verify compares what the script leaves behind."""
    found: dict[str, cst.CSTNode] = {}
    for event in name_events(index, statements):
        if event.kind != READ or event.node.value in found:
            continue
        node, parent = event.node, index.parent(event.node)
        while isinstance(parent, (cst.Attribute, cst.Subscript)) and parent.value is node:
            node, parent = parent, index.parent(parent)
            if isinstance(parent, (cst.AssignTarget, cst.Del)) or (
                isinstance(parent, cst.AugAssign) and parent.target is node
            ):
                found[event.node.value] = node
                break
            if isinstance(parent, cst.Call) and (
                isinstance(index.parent(parent), cst.Expr)
                or (isinstance(node, cst.Attribute) and node.attr.value in _MUTATING)
            ):
                found[event.node.value] = parent
                break
    return found


def written(index: SourceIndex, statement) -> set[str]:
    return {e.node.value for e in name_events(index, [statement]) if e.kind == WRITE}


def simple_assignment(statement) -> bool:
    return m.matches(
        statement, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(m.Name())])])
    )
