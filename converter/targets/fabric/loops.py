"""The loops Fabric runs as they are: which DataLoaders they iterate (those get
`fabric.setup_dataloaders`, so Fabric moves their batches and, on several processes, gives each
process its share), which names hold a batch, and which loops evaluate (iterate a set-up loader
without calling backward): their sums are totals only once reduced over the processes."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import assigned_call, bindings
from converter.analysis.index import SourceIndex
from converter.analysis.loops import without_progress_bar
from converter.analysis.torch_api import BACKWARD_CALL
from converter.analysis.walk import find
from converter.targets.fabric.reach import Reach
from converter.targets.fabric.roles import resolve_all

DATALOADER = ("torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader")
_NUMBER = m.Integer() | m.Float() | m.UnaryOperation(expression=m.Integer() | m.Float())


@dataclass
class Loop:
    node: cst.For
    loader: str | None  # the set-up loader it iterates, as the setup scope names it
    iterated: cst.Name | None  # the loader as the loop writes it
    loaders: list[str] = field(default_factory=list)  # all it may iterate (a parameter's calls)
    batch: set[str] = field(default_factory=set)  # names bound to (parts of) the batch
    trains: bool = False  # calls backward()
    sums: list[str] = field(default_factory=list)  # `correct += ...`, `running_loss += ...`
    sharded: bool = False  # each process iterates its share of the data
    iterates: list[str] = field(default_factory=list)  # the loaders it iterates, set up or not


@dataclass
class Loops:
    loaders: list[str]  # the DataLoaders to set up, in the order the script creates them
    loops: list[Loop]
    #: set up without a distributed sampler: also iterated where a sum over them could not be
    #: reduced (a comprehension, code without `fabric`), so every process iterates all of it
    whole: list[str] = field(default_factory=list)
    unsharded: list[str] = field(default_factory=list)  # iterated loaders left as they are
    #: comprehensions (their `for`) over loaders, where Fabric exists, and the loaders they
    #: iterate; once the setups are placed, those that iterate a loader not set up before them
    comprehensions: list[tuple[cst.CompFor, list[str]]] = field(default_factory=list)
    #: loops and comprehensions that iterate a loader before its setup
    early: set[cst.CSTNode] = field(default_factory=set)


def find_loops(index: SourceIndex, reach: Reach, distributed: bool) -> Loops:
    """`distributed`: the script shares out its data itself (DDP by hand), or there is no module
    for Fabric to move: no loader is set up."""
    scope = reach.roles.scope
    found: dict[str, int] = {}  # loader -> where the script binds it
    loops: list[Loop] = []
    comprehensions: list[tuple[cst.CompFor, list[str]]] = []
    left: list[str] = []
    elsewhere: set[str] = set()  # also iterated where a sum cannot be reduced
    usable: dict[str, bool] = {}

    def loader_ok(name: str) -> bool:
        if name not in usable:
            calls = [_created_by(index, s, name) for s in bindings(index, scope, name)]
            usable[name] = bool(calls) and all(c is not None for c in calls)
            if usable[name] and (distributed or any(_has_sampler(c) for c in calls)):
                usable[name] = False
                left.append(name)  # the script shares out or places its data itself
            if usable[name]:
                first = min(
                    index.order(a.node) for a in scope.assignments[name] if a.scope is scope
                )
                found[name] = first
        return usable[name]

    for node in index.nodes((cst.For, cst.CompFor)):
        iterable, target = _unwrap(index, node)
        resolved = resolve_all(index, iterable) if isinstance(iterable, cst.Name) else None
        names = sorted(n for sc, n in resolved if sc is scope) if resolved else []
        if resolved is not None and len(names) != len(resolved):
            names = []  # some call passes a loader of another scope
        names = [n for n in names if loader_ok(n)] if all(map(loader_ok, names)) else []
        if isinstance(node, cst.CompFor) or not reach.has_fabric(node):
            elsewhere.update(names)
            if isinstance(node, cst.CompFor) and names and reach.has_fabric(node):
                comprehensions.append((node, names))
            continue
        trains = bool(find(node.body, cst.Call, BACKWARD_CALL))
        loop = Loop(node, None, None, trains=trains)
        loops.append(loop)
        if names:
            loop.loader, loop.loaders, loop.iterated = names[0], names, iterable
            loop.iterates = names
            loop.batch = {n.value for n in find(target, cst.Name)}
    for loop in loops:
        loop.sharded = bool(loop.loaders) and not set(loop.loaders) & elsewhere
        if loop.sharded:
            loop.sums = _sums(index, loop.node)
    ordered = sorted(found, key=found.get)
    sharded = [n for n in ordered if n not in elsewhere]
    whole = [n for n in ordered if n in elsewhere]
    return Loops(sharded, loops, whole, list(dict.fromkeys(left)), comprehensions)


def _unwrap(index: SourceIndex, loop) -> tuple[cst.BaseExpression, cst.CSTNode]:
    """The loader and the batch target of `for [i, ]batch in [enumerate(][tqdm(]loader...`."""
    iterable, target = without_progress_bar(index, loop.iter), loop.target
    if (
        m.matches(iterable, m.Call(func=m.Name("enumerate")))
        and iterable.args
        and m.matches(target, m.Tuple(elements=[m.Element(m.Name()), m.Element()]))
    ):
        iterable = without_progress_bar(index, iterable.args[0].value)
        target = target.elements[1].value
    return iterable, target


def _created_by(index: SourceIndex, statement, name: str, depth: int = 0) -> cst.Call | None:
    """The `DataLoader(...)` call that `statement` binds `name` to: directly, or through a
    function of the script that returns it (`loader = make_loader()`,
    `train, val = make_loaders()`); None otherwise."""
    call = assigned_call(statement)
    if call is not None and index.resolves_to(call.func, *DATALOADER):
        return call
    found = (call, None) if call is not None else _unpacked_call(statement, name)
    if found is None or depth > 2:
        return None
    call, position = found
    function = _module_function(index, call)
    if function is None:
        return None
    returns = [
        r for r in find(function.body, cst.Return) if index.enclosing_function(r) is function
    ]
    made = []
    for ret in returns:
        value = ret.value
        if position is None:  # `loader = make_loader(...)`: what it returns
            element = value
        elif isinstance(value, cst.Tuple) and len(value.elements) > position:
            element = value.elements[position].value
        else:
            return None
        if isinstance(element, cst.Call):
            made.append(element if index.resolves_to(element.func, *DATALOADER) else None)
        elif isinstance(element, cst.Name):
            inner = bindings(index, index.body_scope(function), element.value)
            made += [_created_by(index, s, element.value, depth + 1) for s in inner] or [None]
        else:
            return None
    return made[0] if made and all(c is not None for c in made) else None


def _unpacked_call(statement, name: str) -> tuple[cst.Call, int] | None:
    """(the call, the position of `name`) in `a, b = f(...)`."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    assign = statement.body[0]
    if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1):
        return None
    target, value = assign.targets[0].target, assign.value
    if not (isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, cst.Call)):
        return None
    for position, element in enumerate(target.elements):
        if m.matches(element.value, m.Name(name)):
            return value, position
    return None


def _module_function(index: SourceIndex, call: cst.Call) -> cst.FunctionDef | None:
    if not isinstance(call.func, cst.Name):
        return None
    return next(
        (
            f
            for f in index.module.body
            if isinstance(f, cst.FunctionDef) and f.name.value == call.func.value
        ),
        None,
    )


def _has_sampler(call: cst.Call) -> bool:
    """A loader with a sampler of its own: Fabric would replace it by a DistributedSampler."""
    return any(
        a.keyword is not None and a.keyword.value in ("sampler", "batch_sampler") for a in call.args
    )


def _sums(index: SourceIndex, loop: cst.For) -> list[str]:
    """`name += ...` in the loop, for a name set to a number before it and nowhere in it."""
    scope = index.scope(loop)
    found = []
    for aug in find(loop.body, cst.AugAssign):
        if not (isinstance(aug.operator, cst.AddAssign) and isinstance(aug.target, cst.Name)):
            continue
        name = aug.target.value
        if name in found or index.scope(aug) is not scope:
            continue
        statements = bindings(index, scope, name)
        inside = [s for s in statements if _within(index, s, loop)]
        before = [s for s in statements if index.order(s) < index.order(loop)]
        if any(not isinstance(s.body[0], cst.AugAssign) for s in inside if _simple(s)):
            continue
        if any(not _simple(s) for s in inside):
            continue
        if not before or not all(_initialised(s, name) for s in before):
            continue
        # set anew for each evaluation: a total carried over from an earlier pass would be
        # counted again by every process
        if all(index.enclosing_loop(s) is index.enclosing_loop(loop) for s in before):
            found.append(name)
    return found


def _simple(statement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1


def _initialised(statement, name: str) -> bool:
    """`name = 0` / `name = 0.0` (also in `a = b = 0` and `a, b = 0, 0`)."""
    if not _simple(statement) or not isinstance(statement.body[0], cst.Assign):
        return False
    assign = statement.body[0]
    for target in assign.targets:
        if m.matches(target.target, m.Name(name)):
            return m.matches(assign.value, _NUMBER)
        if isinstance(target.target, cst.Tuple) and isinstance(assign.value, cst.Tuple):
            pairs = zip(target.target.elements, assign.value.elements)
            if len(target.target.elements) == len(assign.value.elements):
                for element, value in pairs:
                    if m.matches(element.value, m.Name(name)):
                        return m.matches(value.value, _NUMBER)
    return False


def _within(index: SourceIndex, node: cst.CSTNode, outer: cst.CSTNode) -> bool:
    return any(a is outer for a in index.ancestors(node))
