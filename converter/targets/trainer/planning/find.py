"""Pass 1: find the training sites. A site is a batch loop that calls `backward()`, and the code
that runs it: the function it is in, or, when that function receives its optimizer
(`train(args, model, loader, optimizer, epoch)`), the one place that calls it, the function's
body then moving into the hooks with its parameters bound to the call's arguments."""

from __future__ import annotations

import libcst as cst

from converter.analysis.bindings import assigned_locally, calls_of
from converter.analysis.index import SourceIndex
from converter.analysis.loops import bind_arguments, called_function_statement, result_assignment
from converter.analysis.site import Declined, Origin, StepFunction, TrainingSite
from converter.analysis.torch_api import BACKWARD_CALL, STEP_CALL
from converter.analysis.walk import find

STEPS_NOTHING = "the loop calls backward() but steps no optimizer in its body"


def find_backward_loops(index: SourceIndex) -> tuple[list[cst.For], list[cst.CSTNode]]:
    """The innermost for loops that call `.backward()` and step an optimizer, in source order:
    directly, or through a step function they call (`loss = train(x, y)`); and what stays as it
    is: the `.backward()` calls in no loop, and the loops that step nothing.

    A tutorial shows one backward() on its own (`out.backward()` to look at a gradient), or a
    loop that updates tensors by hand, before it trains with an optimizer: those lessons stay
    as they are while its training loops convert. Only when none is left is there nothing to
    convert."""
    loops: list[cst.For] = []
    alone: list[cst.CSTNode] = []  # backward() calls, then loops that step nothing
    for node in index.nodes(cst.Call):
        # BACKWARD_CALL as plain checks: asked of every call of the script
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "backward":
            loop = next((a for a in index.ancestors(node) if isinstance(a, cst.For)), None)
            if loop is None:
                loop = _loop_calling(index, index.enclosing_function(node))
            if loop is None:
                alone.append(node)
            elif loop not in loops:
                loops.append(loop)
    if alone and not loops:
        raise Declined(index.line(alone[0]), "backward() is not inside a loop")
    stepping = [loop for loop in loops if _steps(index, loop)]
    if loops and not stepping:
        raise Declined(index.line(loops[0]), STEPS_NOTHING)
    unstepped = [loop for loop in loops if loop not in stepping]
    return stepping, alone + unstepped


def _steps(index: SourceIndex, loop: cst.For) -> bool:
    """The loop steps something (`optimizer.step()`), itself or through its step function: a
    loop that updates its tensors by hand (`w -= w.grad * lr`) is a lesson, not a training
    loop the Trainer could run; it stays as it is."""
    if find(loop.body, cst.Call, STEP_CALL):
        return True
    found = step_function_in(index, loop)
    return found is not None and bool(find(found[0].body, cst.Call, STEP_CALL))


def _loop_calling(index: SourceIndex, function: cst.FunctionDef | None) -> cst.For | None:
    """The loop that calls a module-level step function, once, as a statement of its body."""
    if function is None or function not in index.module.body:
        return None
    calls = calls_of(index, function)
    if len(calls) != 1:
        return None
    statement, call = calls[0]
    shape = called_function_statement(statement)
    block = index.parent(statement)
    loop = index.parent(block) if block is not None else None
    if shape is None or shape[0] is not call or not isinstance(loop, cst.For):
        return None
    return loop if statement in loop.body.body else None


def step_function_in(index: SourceIndex, batch_loop: cst.For):
    """(function, its call's statement, call, target) for a step function the loop calls."""
    for statement in batch_loop.body.body:
        shape = called_function_statement(statement)
        if shape is None:
            continue
        call, target = shape
        function = next(
            (
                s
                for s in index.module.body
                if isinstance(s, cst.FunctionDef) and s.name.value == call.func.value
            ),
            None,
        )
        if function is not None and _loop_calling(index, function) is batch_loop:
            backward = find(function.body, cst.Call, BACKWARD_CALL)
            if any(not _in_a_loop(index, b, function) for b in backward):
                return function, statement, call, target
    return None


def _in_a_loop(index: SourceIndex, node, function) -> bool:
    for ancestor in index.ancestors(node):
        if ancestor is function:
            return False
        if isinstance(ancestor, (cst.For, cst.While)):
            return True
    return False


def step_calls(index: SourceIndex, site_or_loop) -> list[tuple[cst.Call, Origin | None]]:
    """Every `x.step(...)` the batch makes, however nested, with where its names are bound
    (None: the loop's own code)."""
    if isinstance(site_or_loop, cst.For):
        loop, step_function = site_or_loop, None
    else:
        loop, step_function = site_or_loop.batch_loop, site_or_loop.step_function
    calls = [(c, None) for c in find(loop.body, cst.Call, STEP_CALL)]
    if step_function is not None:
        inner = find(step_function.function.body, cst.Call, STEP_CALL)
        calls += [(c, step_function.origin) for c in inner]
    if not calls:
        raise Declined(index.line(loop), STEPS_NOTHING)
    return calls


def find_site(index: SourceIndex, batch_loop: cst.For) -> TrainingSite:
    function = index.enclosing_function(batch_loop)
    found = step_function_in(index, batch_loop)
    step_origin = None
    if found is not None:
        step_function, statement, call, target = found
        params = bind_arguments(index, step_function, call)
        step_origin = Origin(index.body_scope(step_function), tuple(params.items()))
    # A function that receives its optimizer (as a parameter or a global) is a training
    # function called from the real site, e.g. `train(args, model, loader, optimizer, epoch)`.
    receivers = [call.func.value for call in find(batch_loop.body, cst.Call, STEP_CALL)]
    if found is not None:
        inner = find(found[0].body, cst.Call, STEP_CALL)
        receivers += [_in_loop_terms(call.func.value, step_origin) for call in inner]
    inline = function is not None and any(
        isinstance(receiver, cst.Name) and not assigned_locally(index, function, receiver.value)
        for receiver in receivers
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
    if found is not None:
        if inline:
            raise Declined(
                index.line(found[1]), "a step function called from an inlined training function"
            )
        step_function, statement, call, target = found
        result = result_assignment(step_function, target) if target is not None else None
        if target is not None and result is None:
            raise Declined(index.line(statement), f"{call.func.value}() returns nothing at its end")
        site.step_function = StepFunction(step_function, statement, step_origin, result)
    return site


def _in_loop_terms(expr: cst.BaseExpression, origin: Origin) -> cst.BaseExpression:
    """A step function's name as the loop calling it names it (its argument)."""
    if isinstance(expr, cst.Name):
        argument = origin.argument(expr.value)
        if argument is not None:
            return argument
    return expr


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
        raise Declined(
            index.line(batch_loop),
            f"the batch loop is nested inside other statements of {name}()",
            inline=function,
        )
    calls = calls_of(index, function)
    if not calls:
        raise Declined(
            index.line(function),
            f"{name}() is never called in this file: convert the script that calls it "
            "(there, it is copied in and converted with the script)",
        )
    if len(calls) != 1:
        raise Declined(
            index.line(function),
            f"{name}() trains from {len(calls)} places: one LightningModule needs one loop",
            inline=function,
        )
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
