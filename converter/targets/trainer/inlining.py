"""A training function called once, inlined where it is called, so that the Trainer sees its
loop where the model and optimizer are created.

Scripts wrap the whole training in a function: `results = train(model, loader, optimizer,
epochs)` with the epoch loop inside, calling `train_step(...)` each epoch (the "engine" layout
of many courses). The Trainer conversion needs the loop where the optimizer is created, since
`configure_optimizers` creates it. When the planner declines because the loop's function receives
what it trains (:attr:`Declined.inline`), that function's body takes the place of its one call:
each parameter becomes the argument the call passes (renamed where the argument is a plain name
the function never rebinds, else assigned first, in order), and its final `return` becomes the
call's assignment. The conversion then runs again, at most :data:`DEPTH` times.

Inlining is exact only where the function's names cannot meet the caller's: a name of its own
that the caller's code might read after a copy binds it (`loss`, which a notebook's later cell
prints) is named apart in that copy (`train_loss`); a default that is not a literal is evaluated
once, where the function was defined (`train_loss_fn = nn.CrossEntropyLoss()`). It is refused,
with the reason, when the function is decorated, nested, a generator, declares `global` or
`nonlocal`, returns before its end, calls itself, is named other than in calls, takes
`*args`/`**kwargs`, or reads a global that the calling function binds as its own local.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from converter.analysis import match as m
from converter.analysis.bindings import calls_of, module_reads
from converter.analysis.index import SourceIndex
from converter.analysis.loops import bind_arguments, called_function_statement, final_return
from converter.analysis.scopes import Scope
from converter.analysis.site import Declined
from converter.analysis.visibility import seen_after, within
from converter.analysis.walk import find
from converter.report import ConversionResult, Entry, Report

_LINE = re.compile(r"\bline (\d+)\b")  # "line N" in a message: a line of the inlined text
#: Calls inlined one inside another at most (`train()` calling `fit()` calling the batch loop).
DEPTH = 3
_LITERAL = (
    m.Integer() | m.Float() | m.SimpleString() | m.Name("True") | m.Name("False") | m.Name("None")
)
_UNARY_LITERAL = m.UnaryOperation(operator=m.Minus(), expression=m.Integer() | m.Float())


@dataclass
class Inlined:
    """The script with one call replaced by the function's body; where each line came from."""

    text: str
    origins: list[int]  # per line of text: the line of the script it comes from
    function: str
    defined: int  # the def's line
    called: list[int]  # the calls' lines

    def line(self, line: int) -> int:
        return self.origins[line - 1] if 0 < line <= len(self.origins) else line

    def line_in_message(self, found: re.Match) -> str:
        return f"line {self.line(int(found.group(1)))}"


def inline(index: SourceIndex, function: cst.FunctionDef) -> Inlined:
    """Each call of ``function`` replaced by its body. Raises ``Declined`` with why it cannot be."""
    name = function.name.value
    line = index.line(function)

    def refuse(why: str, at: int = line) -> Declined:
        return Declined(at, f"{name}() cannot take the place of its calls: {why}")

    own, last = _body_checked(index, function, refuse)
    sites = _call_sites(index, function, last, refuse)
    assigned_elsewhere = _assigned_by_other_calls(sites, set(own.assignments_by_name()))
    replaced: dict[cst.CSTNode, list] = {}
    origin: dict[cst.CSTNode, cst.CSTNode] = {}
    placed: dict[cst.CSTNode, int] = {}
    statements = {s for s, _, _ in sites}
    defaults = _defaults_kept(index, function)
    if defaults:
        replaced[function] = list(defaults.values())
        placed.update(dict.fromkeys(defaults.values(), line))
    fresh: dict[str, str] = {}
    for k, (statement, call, target) in enumerate(sites):
        arguments = bind_arguments(index, function, call)
        for param, value in arguments.items():
            if param in defaults and value is _default(function, param):
                arguments[param] = defaults[param].body[0].targets[0].target
        caller = index.enclosing_function(statement)
        renamed, assigned = _parameters(index, function, own, arguments, refuse)
        local = (set(own.assignments_by_name()) - set(arguments)) | set(assigned)
        clash = _check_names(index, own, caller, statements, call, local, target, refuse)
        clash |= assigned_elsewhere[k] & local
        for n in sorted(clash):
            if not all(isinstance(a.node, (cst.Name, cst.Param)) for a in own.assignments[n]):
                raise refuse(f"it binds `{n}`, which the code that calls it uses too")
            fresh.setdefault(n, index.fresh_name(f"{name}_{n}"))
        names = _CopyNames(renamed, assigned, {n: fresh[n] for n in clash})
        replaced[statement] = _body_at(
            index, function, last, statement, target, arguments, names, origin, placed
        )
    module = index.module.visit(_Place(function, replaced, origin))
    return Inlined(
        text=module.code,
        origins=_origins(index, module, origin, placed),
        function=name,
        defined=line,
        called=[index.line(s) for s, _, _ in sites],
    )


def _body_checked(index: SourceIndex, function: cst.FunctionDef, refuse):
    """The function's scope and final `return`, where its body can take a call's place."""
    if function not in index.module.body:
        raise refuse("it is not a module-level function")
    if function.decorators:
        raise refuse("it is decorated")
    if function.asynchronous is not None:
        raise refuse("it is async")
    own = index.body_scope(function)
    if own.globals or own.nonlocals:
        raise refuse("it declares `global` or `nonlocal` names")
    if _own(index, function, (cst.Yield, cst.Await)):
        raise refuse("it is a generator")
    last = final_return(function)
    returns = _own(index, function, cst.Return)
    if any(r is not (last.body[0] if last is not None else None) for r in returns):
        raise refuse("it returns before its end")
    if last is not None and last is not function.body.body[-1]:
        raise refuse("it returns from inside a block")
    return own, last


def _call_sites(index: SourceIndex, function: cst.FunctionDef, last, refuse) -> list[tuple]:
    """(statement, call, target) of each call: `f(...)` or `target = f(...)` statements."""
    name = function.name.value
    calls = calls_of(index, function)
    if not calls:
        raise refuse(
            "it is never called in this file: convert the script that calls it (there, it is "
            "copied in and converted with the script)"
        )
    if len(module_reads(index, name)) != len(calls):
        raise refuse("it is named other than in calls")
    if any(function in index.ancestors(statement) for statement, _ in calls):
        raise refuse("it calls itself")
    sites = []
    for statement, call in calls:
        shape = called_function_statement(statement)
        if shape is None or shape[0] is not call:
            raise refuse("it is called inside an expression", index.line(statement))
        if shape[1] is not None and last is None:
            raise refuse("it returns nothing at its end", index.line(statement))
        sites.append((statement, call, shape[1]))
    return sites


@dataclass
class _CopyNames:
    """How one copy names the function's names."""

    renamed: dict[str, str]  # a parameter -> the caller's name passed to it
    assigned: list[str]  # parameters assigned first, in order
    apart: dict[str, str]  # a name of its own the caller uses too -> the copy's name for it


def _body_at(index, function, last, statement, target, arguments, names, origin, placed):
    """The statements that take the place of one call: the parameters assigned, the body read
    through the call's names, the returned value assigned to the call's target."""
    body = list(function.body.body)
    if body and m.matches(body[0], m.SimpleStatementLine(body=[m.Expr(m.SimpleString())])):
        body = body[1:]  # the docstring
    if last is not None:
        body = body[:-1]
    own = index.body_scope(function)
    nodes = {node: names.renamed[node.value] for node in _reads(index, own, set(names.renamed))}
    for name, new in names.apart.items():
        bound = {a.node for a in own.assignments[name] if isinstance(a.node, cst.Name)}
        nodes.update(dict.fromkeys(_reads(index, own, {name}) | bound, new))
    renamer = _Rename(nodes, origin)
    moved = [s.visit(renamer) for s in body]
    lead = [
        cst.SimpleStatementLine(
            body=[cst.Assign([cst.AssignTarget(cst.Name(names.apart.get(p, p)))], arguments[p])]
        )
        for p in names.assigned
        if not m.matches(arguments[p], m.Name(p))  # `model = model`: nothing to assign
    ]
    tail = []
    if last is not None and last.body[0].value is not None:
        value = last.body[0].value.visit(renamer)
        if target is not None:
            if _names(target) != _names(value) or _names(value) is None:
                assign = cst.Assign([cst.AssignTarget(target)], value)
                tail.append(cst.SimpleStatementLine(body=[assign]))
        elif not isinstance(value, (cst.Name, cst.BaseNumber, cst.BaseString)):
            tail.append(cst.SimpleStatementLine(body=[cst.Expr(value)]))
    new = [*lead, *moved, *tail] or [cst.SimpleStatementLine(body=[cst.Pass()])]
    placed.update({n: index.line(statement) for n in lead})
    placed.update({n: index.line(last) for n in tail})
    first = new[0].with_changes(leading_lines=[*statement.leading_lines, *new[0].leading_lines])
    if new[0] in placed:
        placed[first] = placed[new[0]]
    origin[first] = origin.get(new[0], new[0])
    new[0] = first
    return new


def restore(result: ConversionResult, inlined: Inlined, source: str) -> ConversionResult:
    """The conversion of the inlined text as the script's: its lines, and what was inlined."""
    report = Report(filename=result.report.filename)
    for kind in ("found", "changed", "declined"):
        entries = getattr(result.report, kind)
        getattr(report, kind).extend(
            Entry(e.kind, inlined.line(e.line), _LINE.sub(inlined.line_in_message, e.message))
            for e in entries
        )
    if not result.changed:
        return ConversionResult(source, source, report)
    report.changed[:0] = [
        Entry(
            "inlined",
            line,
            f"{inlined.function}() (line {inlined.defined}) takes the place of its call: it "
            "receives what it trains, and the Trainer needs the loop where the model and "
            "optimizer are created",
        )
        for line in inlined.called
    ]
    return ConversionResult(source, result.code, report)


def _names(expr) -> tuple[str, ...] | None:
    """`a` or `a, b` as its names, else None."""
    if isinstance(expr, cst.Name):
        return (expr.value,)
    if isinstance(expr, cst.Tuple) and all(isinstance(e.value, cst.Name) for e in expr.elements):
        return tuple(e.value.value for e in expr.elements)
    return None


def _assigned_by_other_calls(sites, local: set[str]) -> list[set[str]]:
    """Per call, the function's names that another call assigns (its target) and this one does
    not: the copy would change them under the caller between the calls, so it names them apart
    (`loss, acc = step(...)` at every call is fine)."""
    targets = [
        {n.value for n in find(t, cst.Name)} if t is not None else set() for _, _, t in sites
    ]
    apart = []
    for k, own in enumerate(targets):
        others = set().union(*(t for j, t in enumerate(targets) if j != k))
        apart.append((others & local) - own)
    return apart


def _own(index: SourceIndex, function: cst.FunctionDef, kind) -> list:
    """The nodes of ``kind`` in the function's own body (not in the functions it defines)."""
    return [
        n
        for n in find(function.body, kind)
        if index.enclosing_function(n) is function and not _in_lambda(index, n, function)
    ]


def _in_lambda(index: SourceIndex, node, function) -> bool:
    for ancestor in index.ancestors(node):
        if ancestor is function:
            return False
        if isinstance(ancestor, cst.Lambda):
            return True
    return False


def _defaults_kept(index: SourceIndex, function: cst.FunctionDef) -> dict:
    """{param: `train_loss_fn = nn.CrossEntropyLoss()`} for each default that is not a literal:
    Python evaluates it once, where the function is defined, so it stays there, named."""
    kept = {}
    params = function.params
    for param in params.posonly_params + params.params + params.kwonly_params:
        if param.default is None or m.matches(param.default, _LITERAL | _UNARY_LITERAL):
            continue
        name = index.fresh_name(f"{function.name.value}_{param.name.value}")
        assign = cst.Assign([cst.AssignTarget(cst.Name(name))], param.default)
        kept[param.name.value] = cst.SimpleStatementLine(body=[assign])
    if kept:
        first = next(iter(kept))
        kept[first] = kept[first].with_changes(leading_lines=function.leading_lines)
    return kept


def _default(function: cst.FunctionDef, name: str):
    params = function.params
    return next(
        p.default
        for p in params.posonly_params + params.params + params.kwonly_params
        if p.name.value == name
    )


def _parameters(index, function, own: Scope, arguments: dict, refuse):
    """{param: the caller's name it becomes} and [params assigned first], in order."""
    renamed: dict[str, str] = {}
    assigned: list[str] = []
    for param, value in arguments.items():
        rebinds = len(own.assignments[param]) > 1  # the Param itself, then the body's
        if isinstance(value, cst.Name) and not rebinds:
            if value.value != param:
                if value.value in own.assignments_by_name():
                    raise refuse(f"`{param}` is passed `{value.value}`, a name it binds itself")
                renamed[param] = value.value
            continue
        read = {n.value for n in find(value, cst.Name)}
        if read & set(assigned):
            raise refuse(f"the argument of `{param}` reads a parameter assigned before it")
        assigned.append(param)
    return renamed, assigned


def _check_names(index, own, caller, statements, call, local, target, refuse) -> set[str]:
    """The function's names that the caller's code would see once the copy binds them (the copy
    names them apart); refused where a name passed in meets one, or the function reads a global
    that the calling function binds as its own."""
    caller_scope = index.body_scope(caller)
    module = index.body_scope(None)
    mine = {n.value for n in find(target, cst.Name)} if target is not None else set()
    args = {n.value for a in call.args for n in find(a.value, cst.Name)}
    passed = sorted(local & mine & args)
    if passed:
        names = ", ".join(f"`{n}`" for n in passed)
        raise refuse(f"it binds {names}, which its call passes and assigns")
    clash = {n for n in local - mine if seen_after(index, own, caller, statements, n)}
    if caller is not None:
        free = {
            n
            for scope in index.scopes()
            if within(scope, own)
            for n in scope.accesses_by_name()
            if scope.lookup(n) is module
        }
        shadowed = sorted(free & set(caller_scope.assignments_by_name()))
        if shadowed:
            names = ", ".join(f"`{n}`" for n in shadowed)
            raise refuse(f"it reads the global {names}, which {caller.name.value}() binds")
    return clash


def _reads(index: SourceIndex, own: Scope, params: set[str]) -> set[cst.Name]:
    """The Name nodes, in the function and what it defines, that read its parameters."""
    found = set()
    for scope in index.scopes():
        if not within(scope, own):
            continue
        for name in params:
            for access in scope.accesses[name]:
                if scope.lookup(name) is own:
                    found.add(access.node)
    return found


class _Rename(cst.CSTTransformer):
    """The function's names as the copy has them (parameters as the caller's names, its own
    names apart where the caller uses them too); each rebuilt statement remembers its original."""

    def __init__(self, names: dict[cst.Name, str], origin: dict) -> None:
        super().__init__()
        self.names = names
        self.origin = origin

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        if original in self.names:
            return updated.with_changes(value=self.names[original])
        return updated

    def on_leave(self, original, updated):
        result = super().on_leave(original, updated)
        if isinstance(original, cst.BaseStatement):
            self.origin[result] = original
        return result


class _Place(cst.CSTTransformer):
    """The def removed, its body in place of each call statement; each statement's original."""

    def __init__(self, function, replaced: dict, origin: dict) -> None:
        super().__init__()
        self.function, self.replaced = function, replaced
        self.origin = origin  # LibCST rebuilds every node it visits: each statement's original

    def on_leave(self, original, updated):
        if original is self.function and original not in self.replaced:
            return cst.RemovalSentinel.REMOVE
        if original in self.replaced:
            return cst.FlattenSentinel(self.replaced[original])
        result = super().on_leave(original, updated)
        if isinstance(original, cst.BaseStatement):
            self.origin[result] = original
        return result


def _origins(index: SourceIndex, module: cst.Module, origin: dict, placed: dict) -> list[int]:
    """Per line of the new module, the script's line it comes from."""
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    lines = module.code.count("\n") + 1
    origins = [0] * lines
    old = None
    for node, where in positions.items():
        if not isinstance(node, cst.BaseStatement):
            continue
        if node in placed:
            for k in range(where.start.line, where.end.line + 1):
                origins[k - 1] = placed[node]
            continue
        source = origin.get(node, node)
        start = index.line(source)
        if start <= 0:
            continue
        if old is None:
            old = MetadataWrapper(index.module, unsafe_skip_copy=True).resolve(PositionProvider)
        if source not in old:
            continue
        was = old[source]
        if was.end.line - was.start.line != where.end.line - where.start.line:
            continue
        for k in range(where.start.line, where.end.line + 1):
            origins[k - 1] = was.start.line + (k - where.start.line)
    previous = 1
    for i, value in enumerate(origins):
        if value:
            previous = value
        else:
            origins[i] = previous
    return origins
