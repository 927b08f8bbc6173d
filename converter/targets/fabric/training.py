"""The training side of a Fabric conversion, in place:

- `loss.backward()` -> `fabric.backward(loss)` (the GradScaler's and autocast's side is in
  amp.py);
- `print(...)` -> `fabric.print(...)`: printed once, by the first process;
- `torch.save(model.state_dict(), path)` -> `fabric.save(path, model.state_dict())`: written once,
  with the same keys, where every process gets there; any other file the script writes (an
  image, a log) under `if fabric.is_global_zero:`;
- `model[0]`, `len(model)`, `for layer in model` -> the same of `model.module`; so is
  `return model` of a model the function received and set up.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.file_writes import writing_statements
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined
from converter.analysis.torch_api import BACKWARD_CALL
from converter.analysis.walk import find
from converter.targets.fabric.context import Context, make_call
from converter.targets.fabric.reach import references
from converter.templating import fill


def backward(ctx: Context, unscaled: set[cst.Call]) -> None:
    """`loss.backward()` -> `fabric.backward(loss)`; `scaler.scale(loss).backward()` ->
    `fabric.backward(loss)` where Fabric's precision takes the scaler's place (`unscaled`), and
    `fabric.backward(scaler.scale(loss))` where the script keeps its own."""
    index = ctx.index
    for call in index.nodes(cst.Call):
        if not m.matches(call, BACKWARD_CALL):
            continue
        if not ctx.reach.has_fabric(call):
            if ctx.reach.never_called(call):
                continue  # a function of the script nothing calls: it stays as it is
            raise Declined(index.line(call), ctx.reach.why_not(call))
        scaled = call.func.value in unscaled

        def change(updated, scaled=scaled):
            loss = updated.func.value.args[0].value if scaled else updated.func.value
            return make_call(ctx.attribute("backward"), [cst.Arg(loss), *updated.args])

        ctx.edits.on(call, change)
        ctx.use(call, "backward")


def prints(ctx: Context) -> None:
    index = ctx.index
    for call in index.nodes(cst.Call):
        if (
            m.matches(call.func, m.Name("print"))
            and index.resolves_to(call.func, "builtins.print")
            and ctx.reach.has_fabric(call)
        ):
            ctx.edits.on(call, lambda u: u.with_changes(func=ctx.attribute("print")))
            ctx.use(call, "print")
            _print_the_model_itself(ctx, call)


def prints_after_launch(ctx: Context, rank_zero: str) -> bool:
    """A function that creates Fabric launches the processes: the code of its callers after
    the call (and the loops around it) runs in every process, with that process's own values
    (what the training returned), and where `fabric` does not exist a print there would print
    once per process. It prints on the first process only, as fabric.print does: under
    `if rank_zero_only.rank == 0:` (Fabric's `rank_zero_only` knows the rank once launched).
    True when any print was guarded."""
    index, function = ctx.index, ctx.roles.function
    if function is None or not isinstance(index.parent(function), cst.Module):
        return False  # Fabric at module level, or in a nested function
    guarded, seen, pending = False, {function}, [function]
    while pending:
        for call in references(index, pending.pop()):
            caller = index.enclosing_function(call) if call is not None else None
            if call is None or caller in seen and caller is not None:
                continue
            for node in _runs_after(index, call):
                for printed in find(node, cst.Call):
                    if _guard(ctx, printed, caller, rank_zero):
                        guarded = True
            if caller is not None and isinstance(index.parent(caller), cst.Module):
                seen.add(caller)
                pending.append(caller)
    return guarded


def _runs_after(index, call: cst.Call) -> list[cst.CSTNode]:
    """What runs after `call` in its function: the statements after it, in its block and the
    blocks around, and the whole of every loop around it (its next rounds)."""
    found, current = [], index.enclosing_statement(call)
    while current is not None and not isinstance(current, (cst.FunctionDef, cst.Module)):
        parent = index.parent(current)
        body = getattr(parent, "body", None)
        if isinstance(body, (list, tuple)) and current in body:
            found += list(body[list(body).index(current) + 1 :])
        if isinstance(current, (cst.For, cst.While)):
            found.append(current)
        current = parent
    return found


def _guard(ctx: Context, call: cst.Call, caller, rank_zero: str) -> bool:
    """`print(...)`, a statement of the caller itself, under a rank-zero guard."""
    index = ctx.index
    if not (
        m.matches(call.func, m.Name("print"))
        and index.resolves_to(call.func, "builtins.print")
        and index.enclosing_function(call) is caller
        and not ctx.reach.has_fabric(call)
    ):
        return False
    statement = index.enclosing_statement(call)
    if not m.matches(statement, m.SimpleStatementLine(body=[m.Expr(value=m.Call())])):
        return False
    if statement.body[0].value is not call or statement in ctx.guarded:
        return False
    ctx.guarded.add(statement)

    def change(updated):
        test = cst.parse_expression(f"{rank_zero}.rank == 0")
        inner = updated.with_changes(leading_lines=[])
        return cst.If(
            test=test,
            body=cst.IndentedBlock([inner]),
            leading_lines=updated.leading_lines,
        )

    ctx.edits.on(statement, change)
    ctx.count(call, "print once")
    return True


def _print_the_model_itself(ctx: Context, call: cst.Call) -> None:
    """`print(model)` once the model is set up would print Fabric's wrapper (`_FabricModule(`):
    it prints `model.module`, the script's own module, as before."""
    shown = [a.value for a in call.args if a.keyword is None and not a.star]
    shown += [e.expression for a in call.args for e in find(a, cst.FormattedStringExpression)]
    for node in shown:
        if ctx.is_wrapped_model(node):
            ctx.edits.on(node, lambda u: cst.Attribute(u, cst.Name("module")))


#: Builtins that take a container apart: Fabric's wrapper passes attributes on to the model, not
#: `len()` or iteration.
_TAKE_APART = ("len", "iter", "list", "tuple", "enumerate", "reversed", "zip")


def containers(ctx: Context) -> None:
    """`model[0]`, `len(model)`, `for layer in model` of an `nn.Sequential` once it is set up:
    Fabric's `_FabricModule` has no `__getitem__`, `__len__` or `__iter__`, so they read
    `model.module`, the script's own module (whose layers and parameters Fabric trains). A
    function that sets up a model it received returns that module too: the caller gets back
    the very module it handed in, as before."""
    index = ctx.index
    parts = [s.value for s in index.nodes(cst.Subscript)]
    parts += [f.iter for f in index.nodes(cst.For)] + [f.iter for f in index.nodes(cst.CompFor)]
    received = {model.name for model in ctx.roles.models if not model.bindings}
    parts += [  # a model the function received and set up goes back as the caller's module
        r.value
        for r in index.nodes(cst.Return)
        if m.matches(r.value, m.Name())
        and r.value.value in received
        and index.enclosing_function(r) is ctx.roles.function
    ]
    for call in index.nodes(cst.Call):
        if m.matches(call.func, m.Name()) and call.func.value in _TAKE_APART:
            if index.resolves_to(call.func, f"builtins.{call.func.value}"):
                parts += [a.value for a in call.args if a.keyword is None and not a.star]
    for node in parts:
        if ctx.is_wrapped_model(node):
            ctx.edits.on(node, lambda u: cst.Attribute(u, cst.Name("module")))
            ctx.count(node, "unwrapped model")


def saves(ctx: Context) -> None:
    """`torch.save(model.state_dict(), path)` -> `fabric.save(path, model.state_dict())`, where
    every process gets there (Fabric's save waits for all of them): the first process writes
    the same keys. A model saved whole is saved unwrapped (`model.module`)."""
    index = ctx.index
    for call in index.nodes(cst.Call):
        if not index.resolves_to(call.func, "torch.save") or not ctx.reach.has_fabric(call):
            continue
        if len(call.args) < 2 or any(a.keyword or a.star for a in call.args[:2]):
            continue
        saved = call.args[0].value
        if ctx.is_model(saved):
            ctx.edits.on(saved, lambda u: cst.Attribute(u, cst.Name("module")))
            ctx.count(call, "save model")
            continue
        if not (_is_state_dict(ctx, saved) or isinstance(saved, cst.Dict)):
            continue
        if len(call.args) != 2 or not _everyone_gets_here(ctx, call):
            continue

        def change(updated):
            state, path = updated.args[0].value, updated.args[1].value
            return make_call(ctx.attribute("save"), [cst.Arg(path), cst.Arg(state)])

        ctx.edits.on(call, change)
        ctx.use(call, "save")
        ctx.saved.append(call)


def files_once(ctx: Context) -> None:
    """A file the script writes itself where Fabric runs (`save_image(...)`, a `torch.save`
    that stays one, `with open(path, "w")`) is written by the first process only, under
    `if fabric.is_global_zero:`: every process runs the whole script, each would write it."""
    index = ctx.index
    guarded: list[cst.BaseStatement] = []
    for statement in writing_statements(index, index.module):
        if not ctx.reach.has_fabric(statement) or any(
            call in ctx.saved for call in find(statement, cst.Call)
        ):
            continue
        if any(a in guarded for a in index.ancestors(statement)):
            continue
        guarded.append(statement)

        def change(updated):
            lines = updated.leading_lines
            body = [updated.with_changes(leading_lines=[])]
            (guard,) = fill("fabric_rank_zero", fabric=ctx.name(), body=body)
            return guard.with_changes(leading_lines=lines)

        ctx.edits.on(statement, change)
        ctx.use(statement, "file")


def _is_state_dict(ctx: Context, node) -> bool:
    return (
        isinstance(node, cst.Call)
        and m.matches(node.func, m.Attribute(attr=m.Name("state_dict")))
        and not node.args
    )


def _everyone_gets_here(ctx: Context, node) -> bool:
    """No condition on the way that may differ between processes: only the argparse namespace,
    constants and `range()` loop counters are read by the `if`s around it."""
    index = ctx.index
    allowed = {ctx.roles.namespace, "__name__"}
    for ancestor in index.ancestors(node):
        if isinstance(ancestor, cst.FunctionDef):
            break
        if isinstance(ancestor, cst.For) and m.matches(ancestor.iter, m.Call(func=m.Name("range"))):
            allowed |= {n.value for n in find(ancestor.target, cst.Name)}
        if isinstance(ancestor, cst.While):
            return False
    for ancestor in index.ancestors(node):
        if isinstance(ancestor, cst.FunctionDef):
            break
        if isinstance(ancestor, (cst.If, cst.Else)) or isinstance(ancestor, cst.IfExp):
            test = ancestor.test if isinstance(ancestor, (cst.If, cst.IfExp)) else None
            if test is None:
                continue
            names = {n.value for n in find(test, cst.Name) if _is_read(index, n)}
            if not names <= allowed:
                return False
    return True


def _is_read(index: SourceIndex, name: cst.Name) -> bool:
    parent = index.parent(name)
    return not (isinstance(parent, cst.Attribute) and parent.attr is name)
