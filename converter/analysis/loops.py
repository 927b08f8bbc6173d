"""Shapes shared by the training and evaluation loops: a loop over a loader, and a function
called once whose parameters bind to the call's arguments."""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import (
    assigned_value,
    bindings,
    code,
    reaching,
    single_binding,
)
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined, Origin, Stage, StageName
from converter.analysis.tensors import is_tensor_name
from converter.analysis.walk import find


def bind_arguments(
    index: SourceIndex, function: cst.FunctionDef, call: cst.Call
) -> dict[str, cst.BaseExpression]:
    """Parameter name -> the argument expression (or the default) of one call."""
    params = function.params
    name = function.name.value
    if not isinstance(params.star_arg, cst.MaybeSentinel) or params.star_kwarg is not None:
        raise Declined(index.line(function), f"{name}() takes *args or **kwargs")
    positional = [p.name.value for p in params.posonly_params + params.params]
    bound: dict[str, cst.BaseExpression] = {}
    for position, arg in enumerate(call.args):
        if arg.star:
            raise Declined(index.line(call), f"{name}() is called with * or ** arguments")
        if arg.keyword is not None:
            bound[arg.keyword.value] = arg.value
        elif position < len(positional):
            bound[positional[position]] = arg.value
        else:
            raise Declined(index.line(call), f"too many arguments in the call of {name}()")
    for param in params.posonly_params + params.params + params.kwonly_params:
        if param.name.value not in bound:
            if param.default is None:
                raise Declined(index.line(call), f"{name}() is called without {param.name.value!r}")
            bound[param.name.value] = param.default
    return bound


_TQDM_MODULES = tuple(
    f"tqdm.{where}" for where in ("", "auto.", "autonotebook.", "notebook.", "std.", "rich.")
)
_PROGRESS_BARS = tuple(module + "tqdm" for module in _TQDM_MODULES)
#: `trange(*args)`, tqdm's `tqdm(range(*args))`
TRANGES = tuple(module + "trange" for module in _TQDM_MODULES)


def without_progress_bar(
    index: SourceIndex, iterable: cst.BaseExpression, scope=None
) -> cst.BaseExpression:
    """`tqdm(loader, ...)` -> `loader`: Lightning draws its own progress bar. Given the loop's
    scope, also a bar held in a variable: `bar = tqdm(loader)`, `for x in bar:`."""
    if isinstance(iterable, cst.Name) and scope is not None:
        held = progress_bar_of(index, scope, iterable.value, at=iterable)
        return held if held is not None else iterable
    if is_progress_bar_call(index, iterable):
        return iterable.args[0].value
    return iterable


def is_progress_bar_call(index: SourceIndex, value) -> bool:
    return (
        isinstance(value, cst.Call)
        and index.resolves_to(value.func, *_PROGRESS_BARS)
        and bool(value.args)
        and value.args[0].keyword is None
        and not value.args[0].star
    )


def progress_bar_of(
    index: SourceIndex, scope, name: str, at: cst.CSTNode | None = None
) -> cst.BaseExpression | None:
    """What `name` shows progress over, when its one binding is `name = tqdm(what, ...)` (or,
    read at `at`, the binding that reaches it: a notebook's training copied twice binds its bar
    twice), or when it is a parameter rebound once, in the function's own body, to a bar over
    itself (`data_loader = tqdm(data_loader, file=sys.stdout)`): then the parameter."""
    statements = bindings(index, scope, name)
    if len(statements) == 2 and isinstance(statements[0], cst.FunctionDef):
        function, statement = statements
        value = assigned_value(statement, name)
        if (
            isinstance(scope.node, cst.FunctionDef | cst.IndentedBlock)
            and statement in function.body.body
            and is_progress_bar_call(index, value)
            and m.matches(value.args[0].value, m.Name(name))
        ):
            return value.args[0].value
        return None
    binding = single_binding(index, scope, name)
    if binding is None and at is not None and statements:
        binding = reaching(index, statements, at)
    value = assigned_value(binding, name)
    return value.args[0].value if is_progress_bar_call(index, value) else None


def breaks_out(index: SourceIndex, loop: cst.For) -> bool:
    """A `break` of `loop` itself (not of a loop inside it) is in its body."""
    for node in find(loop.body, cst.Break):
        owner = next(a for a in index.ancestors(node) if isinstance(a, (cst.For, cst.While)))
        if owner is loop:
            return True
    return False


def _chosen_by_outer_loop(index: SourceIndex, loop: cst.For, iterable) -> cst.For | None:
    """The loop around ``loop`` whose variable picks what it iterates (`loaders[phase]`)."""
    read = {n.value for n in find(iterable, cst.Name)}
    for ancestor in index.ancestors(loop):
        if isinstance(ancestor, cst.For) and read & {
            n.value for n in find(ancestor.target, cst.Name)
        }:
            return ancestor
    return None


def stage_of_loop(index: SourceIndex, name: StageName, loop: cst.For, origin: Origin) -> Stage:
    """The loader, batch target and index of `for [i, ]batch in [enumerate(]loader[)]`, with or
    without a tqdm progress bar around either."""
    iterable, target = without_progress_bar(index, loop.iter, origin.scope), loop.target
    index_name = index_start = None
    if m.matches(iterable, m.Call(func=m.Name("enumerate"))):
        if not m.matches(target, m.Tuple(elements=[m.Element(m.Name()), m.Element()])):
            raise Declined(index.line(loop), "enumerate() over the loader without unpacking")
        index_name = target.elements[0].value.value
        target = target.elements[1].value
        args = iterable.args
        if not 1 <= len(args) <= 2 or any(a.star for a in args):
            raise Declined(index.line(loop), "unusual enumerate() call")
        iterable = without_progress_bar(index, args[0].value, origin.scope)
        index_start = args[1].value if len(args) == 2 else None
        if m.matches(index_start, m.Integer("0")):
            index_start = None  # enumerate(loader, 0) counts like batch_idx
    if loop.orelse is not None and (name is not StageName.TRAIN or breaks_out(index, loop)):
        # a training loop's `else:` without a `break` runs after every epoch's batches: it
        # joins the epoch's wrap-up (see converter/targets/trainer/planning/stages.py)
        raise Declined(index.line(loop), f"the {name.value} loop has an else: block")
    items = iterable if iterates_items(index, iterable, origin) else None
    if items is not None:
        stem = origin.site_name(iterable) if isinstance(iterable, cst.Name) else name.value
        loader = index.fresh_name(f"{stem}_loader")
    else:
        loader = origin.site_name(iterable)
    if loader is None:
        phase = _chosen_by_outer_loop(index, loop, iterable)
        if phase is not None:
            raise Declined(
                index.line(loop),
                f"the {name.value} loop iterates over `{code(iterable)}`, chosen by the loop "
                f"over `{code(phase.target)}` around it (line {index.line(phase)}): one code "
                "path for training and evaluation, which the Trainer splits into training_step "
                "and validation_step",
            )
        raise Declined(
            index.line(loop), f"the {name.value} loop does not iterate over a loader variable"
        )
    return Stage(
        name=name,
        loop=loop,
        loop_origin=origin,
        loader=cst.Name(loader),
        batch_target=target,
        index_name=index_name,
        index_start=index_start,
        items=items,
    )


_ITEM_CALLS = frozenset("list tuple range zip sorted reversed dict set".split())
_ITEM_METHODS = frozenset("items keys values".split())


def iterates_items(index: SourceIndex, iterable, origin: Origin) -> bool:
    """A loop over plain items rather than a DataLoader: a list (of sentences, of pairs), a
    dict, a range of offsets, a zip of those, a name bound to one of them. (A name bound to
    anything else, a function's parameter say, is taken for a DataLoader; and items drawn from
    a loader, `zip(loader_a, loader_b)`, are not plain: made into a list once, they would miss
    each epoch's reshuffle.)"""
    if isinstance(iterable, cst.Name):
        if origin.argument(iterable.value) is not None:
            return False
        scope = origin.scope.lookup(iterable.value) if origin.scope else None
        if scope is None:
            return False
        value = assigned_value(single_binding(index, scope, iterable.value), iterable.value)
        return value is not None and _is_items(index, value, origin)
    return _is_items(index, iterable, origin)


def _is_items(index: SourceIndex, value, origin: Origin) -> bool:
    if isinstance(value, (cst.List, cst.Tuple, cst.Dict, cst.Set)):
        return True
    if isinstance(value, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
        return _holds_items(index, value.for_in.iter, origin)
    if not isinstance(value, cst.Call):
        return False
    func = value.func
    if isinstance(func, cst.Name):
        if func.value not in _ITEM_CALLS or not index.resolves_to(func, f"builtins.{func.value}"):
            return False
        return func.value == "range" or all(
            _holds_items(index, arg.value, origin) for arg in value.args
        )
    return isinstance(func, cst.Attribute) and func.attr.value in _ITEM_METHODS


def _holds_items(index: SourceIndex, value, origin: Origin) -> bool:
    """What a zip(), list() or comprehension takes its elements from: items again, or a name
    bound to items or to a tensor (`zip(names, labels)`, `list(X)`; not `zip(loader_a,
    loader_b)`)."""
    if isinstance(value, cst.Name):
        scope = origin.scope.lookup(value.value) if origin.scope else None
        if scope is not None and is_tensor_name(index, scope, value.value):
            return True
        return iterates_items(index, value, origin)
    return _is_items(index, value, origin)


def is_eval_loop(
    index: SourceIndex, node: cst.CSTNode, model_vars: set[str], origin: Origin
) -> bool:
    """A for loop over a loader that calls the model and never backward()."""
    if not isinstance(node, cst.For):
        return False
    iterable = without_progress_bar(index, node.iter, origin.scope)
    if m.matches(iterable, m.Call(func=m.Name("enumerate"))) and iterable.args:
        iterable = without_progress_bar(index, iterable.args[0].value, origin.scope)
    if not isinstance(iterable, cst.Name):
        return False
    backward = any(
        m.matches(c.func, m.Attribute(attr=m.Name("backward"))) for c in find(node.body, cst.Call)
    )
    return calls_model(node.body, model_vars, origin) and not backward


def calls_model(node: cst.CSTNode, model_vars: set[str], origin: Origin) -> bool:
    """Whether `node` calls the model or one of its methods (`model(x)`, `model.decode(z)`)."""
    for call in find(node, cst.Call):
        func = call.func
        while isinstance(func, cst.Attribute):
            func = func.value
        if isinstance(func, cst.Name) and origin.site_name(func) in model_vars:
            if not m.matches(
                call.func, m.Attribute(attr=m.Name("state_dict") | m.Name("parameters"))
            ):
                return True
    return False


def called_function_statement(
    statement,
) -> tuple[cst.Call, cst.BaseAssignTargetExpression | None] | None:
    """`f(...)` or `result = f(...)` / `a, b = f(...)` as a whole statement: (call, target)."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Expr) and m.matches(small.value, m.Call(func=m.Name())):
        return small.value, None
    names = m.Name() | m.Tuple(elements=[m.ZeroOrMore(m.Element(m.Name()))])
    if m.matches(small, m.Assign(targets=[m.AssignTarget(names)], value=m.Call(func=m.Name()))):
        return small.value, small.targets[0].target
    return None


def final_return(function: cst.FunctionDef) -> cst.SimpleStatementLine | None:
    """The `return` the function ends with: its last statement, or the last of a `with` block
    it ends with (`with torch.no_grad(): ...; return mae, mse`)."""
    last = function.body.body[-1] if function.body.body else None
    if isinstance(last, cst.With) and last.body.body:
        last = last.body.body[-1]
    if m.matches(last, m.SimpleStatementLine(body=[m.Return(value=m.DoNotCare())])):
        return last
    return None


def result_assignment(function: cst.FunctionDef, target) -> cst.SimpleStatementLine | None:
    """`target = <what the function returns>`, from its final `return` (None if it has none)."""
    last = final_return(function)
    if target is None or last is None:
        return None
    value = last.body[0].value
    if value is None:
        return None
    return cst.SimpleStatementLine(body=[cst.Assign([cst.AssignTarget(target)], value)])


def is_mode_switch(statement, model_vars: set[str], mode: str) -> bool:
    """`model.train()` / `model.eval()` as a whole statement, for any of `model_vars`."""
    return any(
        m.matches(
            statement,
            m.SimpleStatementLine(
                body=[m.Expr(m.Call(func=m.Attribute(value=m.Name(v), attr=m.Name(mode)), args=[]))]
            ),
        )
        for v in model_vars
    )
