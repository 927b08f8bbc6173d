"""The Trainer conversion's output as the passes over it read it (`--datamodule`,
`--callbacks`): its Trainer, its `fit`, the methods of its classes, and the line of the script
converted that a node of the output stands for."""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import assigned_value
from converter.analysis.index import SourceIndex

TRAINERS = ("pytorch_lightning.Trainer", "lightning.Trainer", "lightning.pytorch.Trainer")


def trainer_made(index: SourceIndex, call: cst.Call) -> cst.Call | None:
    """For `trainer.<method>(...)`, the `<package>.Trainer(...)` call that bound `trainer`."""
    if not m.matches(call.func, m.Attribute(value=m.Name(), attr=m.Name())):
        return None
    name = call.func.value.value
    scope = index.scope(call)
    owner = scope.lookup(name) if scope is not None else None
    for assignment in owner.assignments[name] if owner is not None else []:
        value = assigned_value(index.enclosing_statement(assignment.node), name)
        if isinstance(value, cst.Call) and index.resolves_to(value.func, *TRAINERS):
            return value
    return None


def trainer_calls(index: SourceIndex, method: str) -> list[cst.Call]:
    """Every `trainer.<method>(...)` of a Lightning Trainer (`fit`, `test`)."""
    return [
        c
        for c in index.nodes(cst.Call)
        if m.matches(c.func, m.Attribute(attr=m.Name(method))) and trainer_made(index, c)
    ]


def method_of(cls: cst.ClassDef, name: str) -> cst.FunctionDef | None:
    return next(
        (f for f in cls.body.body if isinstance(f, cst.FunctionDef) and f.name.value == name),
        None,
    )


def line_near(source: SourceIndex, index: SourceIndex, node: cst.CSTNode) -> int:
    """The line, in the script converted, of the closest statement at or before `node` that
    the conversion kept (a generated `trainer.fit(...)` has none of its own)."""
    statement = node if isinstance(node, cst.BaseStatement) else index.enclosing_statement(node)
    while statement is not None:
        if source.line(statement):
            return source.line(statement)
        parent = index.parent(statement)
        body = list(getattr(parent, "body", []))
        earlier = body[: body.index(statement)] if statement in body else []
        known = [source.line(s) for s in earlier if source.line(s)]
        if known:
            return known[-1]
        statement = index.enclosing_statement(parent) if parent is not None else None
    return 1
