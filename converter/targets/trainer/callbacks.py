"""`convert --callbacks`: a hand-written patience counter becomes Lightning's `EarlyStopping`,
where the callback does exactly what the counter did.

It runs on the Trainer conversion's output, where the early-stopping pattern has already put the
script's check into `on_validation_epoch_end` with `self.trainer.should_stop = True` for its
`break`:

    if self.val_loss < self.best:          # the metric the hook logs, against the best so far
        self.best = self.val_loss          # (in either order, or as one tuple assignment)
        self.bad_epochs = 0
    else:
        self.bad_epochs += 1
        if self.bad_epochs >= patience:    # or after the if/else; `== 3` with a literal
            self.trainer.should_stop = True

`EarlyStopping(monitor="val_loss", mode="min", patience=patience, check_finite=False)` does the
same: Lightning runs it in `on_validation_end`, right after the hook logged the metric, skips it
in the sanity check and in `validate` as the guard around the counter did; an improvement is
`current < best` (its `min_delta` is 0), which resets its count, and it stops once the count of
epochs without one reaches `patience`, at the end of that epoch. Its best starts at `inf`, so
the script's must too. Two details make it exact rather than nearly so: the metric is logged as
a float64 tensor (Lightning would store a Python float as float32, and two losses equal in float32
but not in float64 would compare otherwise), and `check_finite=False` (by default it also stops
on a NaN, which the counter did not). Its count and best go into checkpoints as the counter's
did (`on_save_checkpoint`).

Anything else in the check (saving the best model, a print when stopping), a counter or best read
elsewhere, or a metric the hook does not log keeps the counter, and the report says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import code
from converter.analysis.index import SourceIndex
from converter.analysis.walk import find
from converter.lightning_code.layout import kwarg, one_argument_per_line
from converter.report import Report
from converter.targets.trainer.converted import (
    TRAINERS,
    line_near,
    method_of,
    trainer_calls,
)
from converter.targets.trainer.rewrite.lightning_module import AFTER_VALIDATION
from converter.templating import expr

_START = {  # the best's first value, for each mode
    "min": ('float("inf")', "float('inf')", "math.inf", "torch.inf"),
    "max": ('float("-inf")', "float('-inf')", '-float("inf")', "-float('inf')", "-math.inf"),
}
_HPARAMS = m.Attribute(value=m.Name("self"), attr=m.Name("hparams"))


class Kept(Exception):
    def __init__(self, why: str, node: cst.CSTNode) -> None:
        super().__init__(why)
        self.node = node


@dataclass
class Counter:
    method: cst.FunctionDef  # on_validation_epoch_end
    statements: list[cst.BaseStatement]  # the check, as it stands in the method (or its guard)
    guard: cst.If | None  # `if self.trainer.state.fn == "fit" ...:` holding only the check
    best: str  # attribute names
    wait: str
    mode: str
    patience: cst.BaseExpression
    monitor: str  # the logged name
    log: cst.Call  # the `self.log(...)` of the metric
    cls: cst.ClassDef


def add_callbacks(source: SourceIndex, converted: cst.Module, report: Report) -> cst.Module:
    index = SourceIndex(converted)
    stops = [s for s in index.nodes(cst.SimpleStatementLine) if _is_stop(s)]
    for stop in stops:
        try:
            counter = _counter(index, stop)
            trainer, callback, patience = _trainer(index, counter)
        except Kept as kept:
            line = _line(source, index, kept.node)
            report.find("callbacks", line, f"the patience counter stays: {kept}")
            continue
        converted = _apply(converted, counter, index, trainer, callback, patience)
        report.change(
            "callbacks",
            _line(source, index, counter.statements[0]),
            f"the patience counter is now EarlyStopping(monitor={counter.monitor!r}, "
            f"mode={counter.mode!r}, patience={code(patience)}): the same epochs",
        )
        return converted  # one counter a script: the Trainer is made once
    return converted


def _is_stop(statement: cst.SimpleStatementLine) -> bool:
    if len(statement.body) != 1 or not isinstance(statement.body[0], cst.Assign):
        return False
    assign = statement.body[0]
    return (
        code(assign.targets[0].target) == "self.trainer.should_stop"
        and code(assign.value) == "True"
    )


def _line(source: SourceIndex, index: SourceIndex, node: cst.CSTNode) -> int:
    """The script's line: its `break`, where it has one (the hook's code is the conversion's)."""
    breaks = [source.line(b) for b in source.nodes(cst.Break)]
    return breaks[0] if len(breaks) == 1 else line_near(source, index, node)


def _counter(index: SourceIndex, stop: cst.SimpleStatementLine) -> Counter:
    method = index.enclosing_function(stop)
    if method is None or method.name.value != "on_validation_epoch_end":
        raise Kept("it does not stop after the validation's results", stop)
    cls = next(a for a in index.ancestors(method) if isinstance(a, cst.ClassDef))
    inner = index.parent(index.parent(stop))
    alone = isinstance(inner, cst.If) and inner.orelse is None and len(inner.body.body) == 1
    if not alone:
        raise Kept(
            "the check does more than stop (a print, a save); EarlyStopping only stops", stop
        )
    holder = index.parent(inner)
    outer, statements, increment = _outer(index, inner, holder)
    wait, patience = _patience(inner.test, stop)
    best, value, mode = _comparison(outer.test, stop)
    if code(increment).strip() != f"self.{wait} += 1":
        raise Kept("the count of epochs without improvement does not go up by one", increment)
    _check_improvement(outer, best, wait, value)
    block = index.parent(statements[0])
    guard = index.parent(block)
    if guard is not method and not (
        isinstance(guard, cst.If) and code(guard.test) == AFTER_VALIDATION
    ):
        raise Kept("the check runs only under a condition of its own", outer)
    if guard is method or [*block.body] != statements:  # the guard stays for what else it holds
        guard = None
    _check_start(index, cls, best, wait, mode, stop)
    _check_nothing_else_reads(index, cls, (best, wait), statements)
    log = _log_of(index, method, value, statements[0])
    return Counter(method, statements, guard, best, wait, mode, patience, log[0], log[1], cls)


def _outer(index: SourceIndex, inner: cst.If, holder):
    """The `if <improved>: ... else: ...` around or before the stop's condition, the statements
    of the check, and the count's increment."""
    else_clause = index.parent(holder)
    if isinstance(else_clause, cst.Else):  # inside the else, after the increment
        outer = index.parent(else_clause)
        body = list(holder.body)
        if len(body) != 2 or body[1] is not inner:
            raise Kept("the branch without improvement does more than count and stop", inner)
        return outer, [outer], body[0]
    body = list(getattr(holder, "body", []))
    at = body.index(inner)
    outer = body[at - 1] if at else None
    if not isinstance(outer, cst.If) or not isinstance(outer.orelse, cst.Else):
        raise Kept("no `if <improved>: ... else: ...` comes right before the stop", inner)
    increments = list(outer.orelse.body.body)
    if len(increments) != 1:
        raise Kept("the branch without improvement does more than count", outer)
    return outer, [outer, inner], increments[0]


def _patience(test: cst.BaseExpression, stop) -> tuple[str, cst.BaseExpression]:
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        left, (target,) = test.left, test.comparisons
        if m.matches(left, m.Attribute(value=m.Name("self"), attr=m.Name())):
            limit = target.comparator
            if isinstance(target.operator, cst.GreaterThanEqual):
                return left.attr.value, limit
            literal = isinstance(limit, cst.Integer) and int(limit.value) >= 1
            if isinstance(target.operator, cst.Equal) and literal:
                return left.attr.value, limit
    raise Kept("the stop's condition is not `count >= patience` (or `== n`)", stop)


def _comparison(test: cst.BaseExpression, stop):
    """(the best's attribute, the metric, the mode) of `metric < self.best` and its mirrors."""
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        left, (target,) = test.left, test.comparisons
        less = isinstance(target.operator, cst.LessThan)
        more = isinstance(target.operator, cst.GreaterThan)
        right = target.comparator
        if (less or more) and m.matches(right, m.Attribute(value=m.Name("self"))):
            return right.attr.value, left, "min" if less else "max"
        if (less or more) and m.matches(left, m.Attribute(value=m.Name("self"))):
            return left.attr.value, right, "max" if less else "min"
    raise Kept("the improvement is not a strict `<` or `>` against the best so far", stop)


def _check_improvement(outer: cst.If, best: str, wait: str, value) -> None:
    """The improvement's branch sets the best to the metric and the count to 0, and no more."""
    found = {}
    for statement in outer.body.body:
        for small in getattr(statement, "body", [None]):
            if not isinstance(small, cst.Assign) or len(small.targets) != 1:
                raise Kept("the improvement's branch does more than keep the best", statement)
            target, assigned = small.targets[0].target, small.value
            if isinstance(target, cst.Tuple) and isinstance(assigned, cst.Tuple):
                pairs = zip(target.elements, assigned.elements)
                found.update({code(t.value): code(v.value) for t, v in pairs})
            else:
                found[code(target)] = code(assigned)
    if found != {f"self.{best}": code(value), f"self.{wait}": "0"}:
        raise Kept("the improvement's branch does more than keep the best", outer)


def _check_start(index: SourceIndex, cls: cst.ClassDef, best, wait, mode, node) -> None:
    init = method_of(cls, "__init__")
    starts = {}
    for statement in init.body.body if init is not None else []:
        for small in getattr(statement, "body", []):
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                starts[code(small.targets[0].target)] = code(small.value)
    if starts.get(f"self.{wait}") != "0" or starts.get(f"self.{best}") not in _START[mode]:
        raise Kept(
            f"the best does not start at {'inf' if mode == 'min' else '-inf'}, or the count at 0",
            node,
        )


def _log_of(index: SourceIndex, method, value, before) -> tuple[str, cst.Call]:
    """The hook's `self.log("name", <the metric>)` before the check."""
    for call in find(method.body, cst.Call):
        if code(call.func) != "self.log" or len(call.args) < 2:
            continue
        name, logged = call.args[0].value, call.args[1].value
        if isinstance(name, cst.SimpleString) and code(logged) == code(value):
            if index.order(call) < index.order(before):
                return name.evaluated_value, call
    raise Kept(f"the hook does not log `{code(value)}`, which EarlyStopping would monitor", before)


def _check_nothing_else_reads(index: SourceIndex, cls, names, statements) -> None:
    """The count and the best are the check's own: read nowhere else in the script."""
    allowed = {"__init__", "on_save_checkpoint", "on_load_checkpoint"}
    inside = set()
    for statement in statements:
        inside |= {id(n) for n in find(statement, cst.Attribute)}
    for attribute in index.nodes(cst.Attribute):
        if attribute.attr.value not in names or id(attribute) in inside:
            continue
        function = index.enclosing_function(attribute)
        in_class = function is not None and any(a is cls for a in index.ancestors(function))
        if not (in_class and function.name.value in allowed):
            raise Kept(f"`{attribute.attr.value}` is read elsewhere too", attribute)


def _trainer(index: SourceIndex, counter: Counter) -> tuple[cst.Call, str, cst.BaseExpression]:
    """The Trainer the script makes, the callback's class as it names it, and the patience as
    the script can read it there."""
    made = [c for c in index.nodes(cst.Call) if index.resolves_to(c.func, *TRAINERS)]
    if len(made) != 1:
        raise Kept("the script makes more than one Trainer", counter.statements[0])
    (trainer,) = made
    if any(a.keyword is not None and a.keyword.value == "callbacks" for a in trainer.args):
        raise Kept("the Trainer has callbacks of its own already", counter.statements[0])
    alias = code(trainer.func).rpartition(".")[0]
    lightning = any(q.startswith("lightning.") for q in index.qualified_names(trainer.func))
    callback = (
        f"{alias}.pytorch.callbacks.EarlyStopping"
        if lightning
        else f"{alias}.callbacks.EarlyStopping"
    )
    patience = counter.patience
    scope = index.scope(trainer)
    if m.matches(
        patience, m.Attribute(value=m.Attribute(value=m.Name("self"), attr=m.Name("hparams")))
    ):
        module = code(trainer_calls(index, "fit")[0].args[0].value)
        patience = expr(f"{module}.hparams.{patience.attr.value}")
    elif isinstance(patience, cst.Name):
        if scope is None or scope.lookup(patience.value) is None:
            raise Kept(f"`{patience.value}` is not seen where the Trainer is made", patience)
    elif not isinstance(patience, cst.Integer):
        raise Kept(f"the patience `{code(patience)}` is not a number or a setting", patience)
    if scope is None or scope.lookup("torch") is None:
        raise Kept("the script does not import torch, which logs the metric as float64", trainer)
    return trainer, callback, patience


def _apply(
    converted: cst.Module, counter: Counter, index: SourceIndex, trainer, callback, patience
):
    made = (
        f'{callback}(monitor="{counter.monitor}", mode="{counter.mode}", '
        f"patience={code(patience)}, check_finite=False)"
    )
    edits: dict[int, object] = {}
    for statement in [counter.guard] if counter.guard is not None else counter.statements:
        edits[id(statement)] = cst.RemovalSentinel.REMOVE
    value = counter.log.args[1].value
    as_float64 = expr(f"torch.as_tensor({code(value)}, dtype=torch.float64)")
    edits[id(counter.log.args[1])] = counter.log.args[1].with_changes(value=as_float64)
    names = {f"self.{counter.best}", f"self.{counter.wait}"}
    init = method_of(counter.cls, "__init__")
    for statement in init.body.body:
        if any(
            code(t.target) in names
            for s in getattr(statement, "body", [])
            for t in getattr(s, "targets", [])
        ):
            edits[id(statement)] = cst.RemovalSentinel.REMOVE
    _checkpoint_edits(counter, edits)
    _script_start_edits(index, counter, edits)
    option = kwarg("callbacks", cst.List([cst.Element(expr(made))]))
    _with_option(index, trainer, option, edits)
    return converted.visit(_Edit(edits))


def _script_start_edits(index: SourceIndex, counter: Counter, edits: dict) -> None:
    """The script's own `best, bad_epochs = float("inf"), 0`, which nothing reads any more."""
    names = {counter.best, counter.wait}
    reads = [
        n
        for n in index.nodes(cst.Name)
        if n.value in names
        and not _attribute_name(index, n)
        and not any(isinstance(a, cst.AssignTarget) for a in index.ancestors(n))
    ]
    for statement in index.nodes(cst.SimpleStatementLine):
        small = statement.body[0] if len(statement.body) == 1 else None
        if not isinstance(small, cst.Assign) or len(small.targets) != 1:
            continue
        target = small.targets[0].target
        bound = [e.value for e in target.elements] if isinstance(target, cst.Tuple) else [target]
        if not all(isinstance(b, cst.Name) and b.value in names for b in bound):
            continue
        if not reads:
            edits[id(statement)] = cst.RemovalSentinel.REMOVE


def _attribute_name(index: SourceIndex, name: cst.Name) -> bool:
    parent = index.parent(name)
    return isinstance(parent, cst.Attribute) and parent.attr is name


def _checkpoint_edits(counter: Counter, edits: dict) -> None:
    """The count and the best leave the loop's state in checkpoints: EarlyStopping keeps them."""
    keys = {f'"{counter.best}"', f'"{counter.wait}"'}
    save = method_of(counter.cls, "on_save_checkpoint")
    load = method_of(counter.cls, "on_load_checkpoint")
    if save is None or load is None:
        return
    state = [d for d in find(save.body, cst.Dict)]
    kept = [e for d in state for e in d.elements if code(e.key) not in keys]
    restored = [s for s in load.body.body if not any(f"[{k}]" in code(s) for k in keys)]
    if not kept:
        edits[id(save)] = cst.RemovalSentinel.REMOVE
        edits[id(load)] = cst.RemovalSentinel.REMOVE
        return
    for d in state:
        elements = [e for e in d.elements if code(e.key) not in keys]
        elements[-1] = elements[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        edits[id(d)] = d.with_changes(elements=elements)
    edits[id(load.body)] = load.body.with_changes(body=restored)


def _with_option(index: SourceIndex, call: cst.Call, option: cst.Arg, edits: dict) -> None:
    """The Trainer's statement with one more option, laid out as the conversion lays it out."""
    statement = index.enclosing_statement(call)
    if not m.matches(statement, m.SimpleStatementLine(body=[m.Assign(value=m.Call())])):
        raise Kept("the Trainer is not made by a plain assignment", call)
    args = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in call.args] + [option]
    made = call.with_changes(args=args, whitespace_before_args=cst.SimpleWhitespace(""))
    assign = statement.body[0].with_changes(value=made)
    line = statement.with_changes(body=[assign])
    edits[id(statement)] = one_argument_per_line(line)


class _Edit(cst.CSTTransformer):
    """Node-keyed edits, applied in one pass (none holds another)."""

    def __init__(self, edits: dict) -> None:
        self.edits = edits

    def on_leave(self, original, updated):
        return self.edits.get(id(original), updated)
