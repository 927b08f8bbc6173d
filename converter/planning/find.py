"""Pass 1: find the training sites. A site is a batch loop that calls `backward()`, and the code
that runs it: the function it is in, or, when that function receives its optimizer
(`train(args, model, loader, optimizer, epoch)`), the one place that calls it, the function's
body then moving into the hooks with its parameters bound to the call's arguments."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from converter.analysis.bindings import assigned_locally, calls_of
from converter.analysis.index import SourceIndex
from converter.analysis.loops import bind_arguments, called_function_statement, result_assignment
from converter.analysis.site import Declined, Origin, TrainingSite
from converter.analysis.walk import find

STEP_CALL = m.Call(func=m.Attribute(attr=m.Name("step")))


def find_backward_loops(index: SourceIndex) -> list[cst.For]:
    """The innermost for loops that call `.backward()`, in source order."""
    loops: list[cst.For] = []
    for node in index.nodes(cst.Call):
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "backward":
            loop = next((a for a in index.ancestors(node) if isinstance(a, cst.For)), None)
            if loop is None:
                raise Declined(index.line(node), "backward() is not inside a loop")
            if loop not in loops:
                loops.append(loop)
    return loops


def step_calls(index: SourceIndex, batch_loop: cst.For) -> list[cst.Call]:
    """Every `x.step(...)` in the batch loop, however nested."""
    calls = find(batch_loop.body, cst.Call, STEP_CALL)
    if not calls:
        raise Declined(
            index.line(batch_loop), "the loop calls backward() but steps no optimizer in its body"
        )
    return calls


def find_site(index: SourceIndex, batch_loop: cst.For) -> TrainingSite:
    function = index.enclosing_function(batch_loop)
    # A function that receives its optimizer (as a parameter or a global) is a training
    # function called from the real site, e.g. `train(args, model, loader, optimizer, epoch)`.
    inline = function is not None and any(
        isinstance(call.func.value, cst.Name)
        and not assigned_locally(index, function, call.func.value.value)
        for call in step_calls(index, batch_loop)
    )
    result = None
    if inline:
        train_part, loop_origin, result = _inline(index, function, batch_loop)
    else:
        train_part, loop_origin = batch_loop, Origin(index.scope(batch_loop))
    site = TrainingSite(
        batch_loop=batch_loop,
        site_function=index.enclosing_function(train_part),
        origin=Origin(index.scope(train_part)),
        loop_origin=loop_origin,
        train_part=train_part,
        train_result=result,
    )
    if inline:
        site.inlined[function.name.value] = function
    return site


def _inline(index: SourceIndex, function: cst.FunctionDef, batch_loop: cst.For):
    """The call of the training function, the origin its body moves with, and the statement
    assigning what it returns (`loss = train(...)`), if the site uses that."""
    name = function.name.value
    if function not in index.module.body:
        raise Declined(index.line(function), f"{name}() is not a module-level function")
    if function.decorators:
        raise Declined(
            index.line(function.decorators[0]),
            f"{name}() is decorated: its body cannot move into Lightning's hooks without what "
            "the decorator does",
        )
    if batch_loop not in function.body.body:
        raise Declined(index.line(batch_loop), "the batch loop is nested inside other statements")
    calls = calls_of(index, function)
    if len(calls) != 1:
        raise Declined(index.line(function), f"{name}() must be called exactly once")
    call_stmt, call = calls[0]
    shape = called_function_statement(call_stmt)
    if shape is None or shape[0] is not call:
        raise Declined(index.line(call_stmt), f"{name}() is called inside an expression")
    result = None
    if shape[1] is not None:
        result = result_assignment(function, shape[1])
        if result is None:
            raise Declined(index.line(call_stmt), f"{name}() returns nothing at its end")
    params = bind_arguments(index, function, call)
    return call_stmt, Origin(index.body_scope(function), tuple(params.items())), result
