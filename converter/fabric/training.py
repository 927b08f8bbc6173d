"""The training side of a Fabric conversion, in place:

- `loss.backward()` -> `fabric.backward(loss)` (`scaler.scale(loss).backward()` too), the
  GradScaler gone (`scaler.step(optimizer)` -> `optimizer.step()`), `with fabric.autocast():`
  where the script autocast by hand;
- `print(...)` -> `fabric.print(...)`: printed once, by the first process;
- `torch.save(model.state_dict(), path)` -> `fabric.save(path, model.state_dict())`: written once,
  with the same keys, where every process gets there.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import method_call
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined
from converter.analysis.walk import find
from converter.fabric.context import Context, make_call
from converter.fabric.roles import resolve

_BACKWARD = m.Call(func=m.Attribute(attr=m.Name("backward")))


def backward(ctx: Context) -> None:
    index = ctx.index
    for call in index.nodes(cst.Call):
        if not m.matches(call, _BACKWARD):
            continue
        if not ctx.reach.has_fabric(call):
            if ctx.reach.never_called(call):
                continue  # a function of the script nothing calls: it stays as it is
            raise Declined(index.line(call), ctx.reach.why_not(call))
        scaled = _scaled(ctx, call.func.value)

        def change(updated, scaled=scaled):
            loss = updated.func.value.args[0].value if scaled else updated.func.value
            return make_call(ctx.attribute("backward"), [cst.Arg(loss), *updated.args])

        ctx.edits.on(call, change)
        ctx.use(call, "backward")


def _scaled(ctx: Context, receiver) -> bool:
    """`scaler.scale(loss)`."""
    return (
        isinstance(receiver, cst.Call)
        and m.matches(receiver.func, m.Attribute(attr=m.Name("scale")))
        and len(receiver.args) == 1
        and _is_scaler(ctx, receiver.func.value)
    )


def _is_scaler(ctx: Context, node) -> bool:
    found = resolve(ctx.index, node)
    return found is not None and found[1] in ctx.roles.scalers


def scalers(ctx: Context, regions) -> None:
    """The GradScaler goes: Fabric's precision scales the loss and steps through its own."""
    index = ctx.index
    if len(ctx.roles.scalers) > 1:
        # Fabric has one loss scale for every optimizer. Separate scalers skip an overflowing
        # step and shrink their scale each for itself: in float16 the runs would differ.
        names = " and ".join(f"`{n}`" for n in sorted(ctx.roles.scalers))
        created = [
            n
            for n in index.nodes(cst.Name)
            if n.value in ctx.roles.scalers and isinstance(index.parent(n), cst.AssignTarget)
        ]
        first = created[0] if created else index.module
        raise Declined(
            index.line(first),
            f"a GradScaler per optimizer ({names}): Fabric keeps one loss scale for all of "
            "them, and separate scalers skip overflowing steps separately",
        )
    for name in index.nodes(cst.Name):
        if not _is_scaler(ctx, name) or not isinstance(name, cst.Name):
            continue
        parent = index.parent(name)
        statement = index.enclosing_statement(name)
        if isinstance(parent, cst.AssignTarget):
            ctx.edits.remove.add(statement)  # scaler = GradScaler(...)
            continue
        if not (isinstance(parent, cst.Attribute) and parent.value is name):
            raise Declined(index.line(name), f"the GradScaler `{name.value}` is used directly")
        found = method_call(statement)
        method = parent.attr.value
        if method == "scale" and _scaled(ctx, index.parent(parent)):
            continue  # inside `scaler.scale(loss).backward()`
        if found is None or found[0] is not name:
            raise Declined(index.line(name), f"GradScaler.{method}() has no Fabric equivalent here")
        if method == "update" and not found[2].args:
            ctx.edits.remove.add(statement)
        elif method == "step" and len(found[2].args) == 1:
            call = found[2]
            ctx.edits.on(
                call,
                lambda u: u.with_changes(
                    func=cst.Attribute(u.args[0].value, cst.Name("step")), args=[]
                ),
            )
        else:
            raise Declined(index.line(name), f"GradScaler.{method}() has no Fabric equivalent here")
    for _statement, item in regions:
        if not ctx.reach.has_fabric(item):
            raise Declined(ctx.index.line(item), "autocast where Fabric cannot be set up")
        ctx.edits.on(item.item, lambda u: make_call(ctx.attribute("autocast"), []))
        ctx.use(item, "autocast")


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


def _print_the_model_itself(ctx: Context, call: cst.Call) -> None:
    """`print(model)` once the model is set up would print Fabric's wrapper (`_FabricModule(`):
    it prints `model.module`, the script's own module, as before."""
    shown = [a.value for a in call.args if a.keyword is None and not a.star]
    shown += [e.expression for a in call.args for e in find(a, cst.FormattedStringExpression)]
    for node in shown:
        if ctx.is_wrapped_model(node):
            ctx.edits.on(node, lambda u: cst.Attribute(u, cst.Name("module")))


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
