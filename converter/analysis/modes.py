"""The train/eval mode that code leaves the models in, followed statement by statement.

A model's mode is "train", "eval", or `Unknown` (it depends on a condition, or on code the
analysis cannot follow). Calls of the script's own functions are followed into their bodies,
with their parameters bound to the call's arguments; a loop is assumed to run its body at least
once (the loops that matter here iterate over loaders and epochs). Two different outcomes of
the same condition make the mode `Unknown`, and an `Unknown` is the statement that made it so:
two runs of the same code that end on the same such statement end in the same mode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.loops import bind_arguments
from converter.analysis.site import Declined
from converter.analysis.walk import find

TRAIN, EVAL = "train", "eval"


@dataclass(frozen=True, eq=False)
class Unknown:
    """The mode after `statement`, which the analysis cannot tell."""

    statement: cst.CSTNode


Mode = str | Unknown
Modes = dict[str, Mode]  # model variable -> its mode
Resolve = Callable[[cst.Name], str | None]  # a name as code reads it -> the site variable


class ModeFlow:
    """Follows `model.train()` / `model.eval()` through the statements of a script, for the
    models named `model_vars` at the site."""

    def __init__(self, index: SourceIndex, model_vars: set[str]) -> None:
        self.index = index
        self.model_vars = model_vars
        self.functions = {
            s.name.value: s for s in index.module.body if isinstance(s, cst.FunctionDef)
        }
        self._active: set[str] = set()
        self._switching: dict[int, bool] = {}

    def run(self, statements: Iterable[cst.CSTNode], modes: Modes, resolve: Resolve) -> Modes:
        """The modes after `statements`, which start in `modes`."""
        modes = dict(modes)
        for statement in statements:
            modes = self._statement(statement, modes, resolve)
        return modes

    def repeat(self, body: Callable[[Modes], Modes], modes: Modes, node: cst.CSTNode) -> Modes:
        """The modes after a loop whose body (`body`) runs at least once, from `modes`."""
        once = body(modes)
        twice = body(once)
        return {v: once[v] if same(once[v], twice[v]) else Unknown(node) for v in twice}

    def _may_switch(self, node: cst.CSTNode) -> bool:
        """Whether `node` has a `.train(...)`/`.eval()` call or calls a function of the script
        (the quick test that keeps nested loops from being followed twice over for nothing)."""
        key = id(node)
        if key not in self._switching:
            self._switching[key] = any(
                (isinstance(c.func, cst.Attribute) and c.func.attr.value in (TRAIN, EVAL))
                or (isinstance(c.func, cst.Name) and c.func.value in self.functions)
                for c in find(node, cst.Call)
            )
        return self._switching[key]

    # -- one statement ---------------------------------------------------------------------

    def _statement(self, node: cst.CSTNode, modes: Modes, resolve: Resolve) -> Modes:
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)) or not self._may_switch(node):
            return modes
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                modes = self._expression(small, modes, resolve)
            return modes
        if isinstance(node, cst.With):
            return self.run(node.body.body, modes, resolve)
        if isinstance(node, cst.For):
            after = self.repeat(lambda s: self.run(node.body.body, s, resolve), modes, node)
            return self._optional(node.orelse, after, resolve, node)
        if isinstance(node, cst.If):
            taken = self.run(node.body.body, modes, resolve)
            other = self._optional(node.orelse, modes, resolve, node, conditional=False)
            return _join([taken, other], node)
        if isinstance(node, cst.While):
            after = self.repeat(lambda s: self.run(node.body.body, s, resolve), modes, node)
            return _join([modes, after], node)
        if isinstance(node, cst.BaseCompoundStatement):  # try, match: any part may run
            outcomes = [modes] + [
                self.run(block.body, modes, resolve)
                for block in find(node, cst.IndentedBlock)
                if self._blocks_of(node, block)
            ]
            return _join(outcomes, node)
        return modes

    def _optional(self, orelse, modes: Modes, resolve, node, conditional=True) -> Modes:
        if orelse is None:
            return modes
        if isinstance(orelse, cst.If):  # elif
            return self._statement(orelse, modes, resolve)
        after = self.run(orelse.body.body, modes, resolve)
        return _join([modes, after], node) if conditional else after

    def _blocks_of(self, node, block) -> bool:
        """A block of `node` itself, not of a statement nested in it."""
        for ancestor in self.index.ancestors(block):
            if isinstance(ancestor, cst.BaseCompoundStatement):
                return ancestor is node
        return False

    def _expression(self, node: cst.CSTNode, modes: Modes, resolve: Resolve) -> Modes:
        statement = self.index.enclosing_statement(node) or node
        whole = (
            node.value if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call) else None
        )
        for call in find(node, cst.Call):
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value in (TRAIN, EVAL):
                target = self._switched(func.value, resolve)
                if target is None:
                    continue
                mode = _mode_of(call)
                if call is whole and target[1] and mode is not None:
                    modes[target[0]] = mode
                else:  # a part of the model, or inside an expression: not followed
                    modes[target[0]] = Unknown(statement)
            elif isinstance(func, cst.Name) and func.value in self.functions:
                modes = self._call(self.functions[func.value], call, modes, resolve, statement)
        return modes

    def _switched(self, receiver: cst.BaseExpression, resolve: Resolve):
        """(model variable, whether it is the whole model) for `receiver.train()`."""
        whole = isinstance(receiver, cst.Name)
        while isinstance(receiver, (cst.Attribute, cst.Subscript)):
            receiver = receiver.value
        if not isinstance(receiver, cst.Name):
            return None
        name = resolve(receiver)
        return (name, whole) if name in self.model_vars else None

    def _call(self, function, call, modes: Modes, resolve: Resolve, statement) -> Modes:
        name = function.name.value
        if name in self._active:  # recursion: not followed
            return self._unknown_if_switching(function, modes, statement)
        try:
            bound = bind_arguments(self.index, function, call)
        except Declined:
            return self._unknown_if_switching(function, modes, statement)
        params = {p: _argument_name(value, resolve) for p, value in bound.items()}

        def inner(n: cst.Name) -> str | None:
            if n.value in params:
                return params[n.value]
            scope = self.index.scope(n)
            owner = scope.lookup(n.value) if scope is not None else None
            return resolve(n) if owner is None or owner is self.index.body_scope(None) else None

        body = function.body.body
        returns = find(function.body, cst.Return)
        if returns and not (
            len(returns) == 1
            and isinstance(body[-1], cst.SimpleStatementLine)
            and returns[0] in body[-1].body
        ):  # it may leave early: what it switches before that is uncertain
            return self._unknown_if_switching(function, modes, statement)
        self._active.add(name)
        try:
            return self.run(body, modes, inner)
        finally:
            self._active.discard(name)

    def _unknown_if_switching(self, function, modes: Modes, statement) -> Modes:
        calls = find(function.body, cst.Call)
        if any(
            isinstance(c.func, cst.Attribute) and c.func.attr.value in (TRAIN, EVAL) for c in calls
        ):
            return {v: Unknown(statement) for v in modes}
        return modes


def _argument_name(value: cst.BaseExpression, resolve: Resolve) -> str | None:
    return resolve(value) if isinstance(value, cst.Name) else None


def _mode_of(call: cst.Call) -> Mode | None:
    """`.eval()`, `.train()`, `.train(False)`, `.train(mode=True)`; None for anything else."""
    if call.func.attr.value == EVAL:
        return EVAL if not call.args else None
    if not call.args:
        return TRAIN
    (arg,) = call.args if len(call.args) == 1 else (None,)
    if arg is None or (arg.keyword is not None and arg.keyword.value != "mode"):
        return None
    if isinstance(arg.value, cst.Name) and arg.value.value in ("True", "False"):
        return TRAIN if arg.value.value == "True" else EVAL
    return None


def same(a: Mode, b: Mode) -> bool:
    """The same mode: the same known one, or unknown because of the same statement."""
    if isinstance(a, Unknown) and isinstance(b, Unknown):
        return a.statement is b.statement
    return a == b


def _join(outcomes: list[Modes], node: cst.CSTNode) -> Modes:
    """The modes after one of several outcomes: each model's own where all agree."""
    first = outcomes[0]
    return {
        v: first[v] if all(same(first[v], o[v]) for o in outcomes[1:]) else Unknown(node)
        for v in first
    }
