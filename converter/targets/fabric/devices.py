"""Devices in a Fabric conversion: Fabric moves the models (`fabric.setup`) and the batches of a
set-up loader, so their `.to(device)` / `.cuda()` go; the script's device handed to anything else
becomes `fabric.device` (the process's own device), `.cuda()` elsewhere `.to(fabric.device)`, and
tensors the loops create or read from the script are moved there: the same numbers, on the
process's device. On one CPU process every one of these is the tensor itself."""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import assigned_value, strip_device_moves
from converter.analysis.index import SourceIndex
from converter.analysis.names import names_written
from converter.analysis.scopes import Scope
from converter.analysis.site import Declined
from converter.analysis.tensors import creates_tensor, is_tensor_name
from converter.analysis.walk import find
from converter.targets.fabric.context import Context, make_call

_MOVES = ("to", "cuda")


def model_moves(ctx: Context, distributed: list) -> None:
    """The models are moved (and, with DDP, wrapped) by `fabric.setup`."""
    for statement in ctx.roles.model_moves + distributed:
        ctx.edits.remove.add(statement)
    for model in ctx.roles.models:
        for binding in model.bindings:
            value = assigned_value(binding)
            if isinstance(value, cst.Call) and strip_device_moves(value) is not value:
                ctx.edits.on(value, lambda u: strip_device_moves(u))
                ctx.count(value, "model move")
    if ctx.roles.model_moves:
        for statement in ctx.roles.model_moves:
            ctx.count(statement, "model move")


def unmoved_batches(ctx: Context) -> None:
    """Fabric moves the models to the process's device, and the batches of the loaders it set
    up. A loop that trains on batches of anything else, where the function received the model
    (its loaders come from outside, where Fabric does not exist), and a loop or comprehension
    that runs a model on a DataLoader Fabric does not set up before it (one iterated before its
    setup, whatever it does with them), must move them itself (`x.to(device)`, which becomes
    `.to(fabric.device)`): a batch left on the CPU would meet the model on the GPU."""
    received = not all(model.bindings for model in ctx.roles.models)
    training = {id(loop.node) for loop in ctx.loops.loops if loop.trains}
    for loop in ctx.loops.loops:
        if loop.loader is not None:
            continue
        if any(id(inner) in training for inner in find(loop.node.body, cst.For)):
            continue  # the epoch loop around the batch loop: its target is no batch
        if received and loop.trains:
            _check_moved(ctx, loop.node, loop.node.body, received=True)
        elif loop.iterates and (
            loop.trains or loop.node in ctx.loops.early or _runs_a_model(ctx, loop.node.body)
        ):
            _check_moved(ctx, loop.node, loop.node.body, received=False)
    for node, _ in ctx.loops.comprehensions:
        comprehension = _comprehension(ctx.index, node)
        if node in ctx.loops.early or _runs_a_model(ctx, comprehension):
            _check_moved(ctx, node, comprehension, received=False)


def _check_moved(ctx: Context, loop, body: cst.CSTNode, received: bool) -> None:
    calls = find(body, cst.Call)
    moved = {_root(c.func.value) for c in calls if _is_move(ctx, c)}
    unmoved = sorted(_batch_names(loop) - moved)
    if not unmoved:
        return
    if received:
        name = ctx.roles.function.name.value if ctx.roles.function else "the function"
        raise Declined(
            ctx.index.line(loop),
            f"the batches (`{unmoved[0]}`) come from a loader made outside {name}(), where "
            "Fabric is created to set up the model it receives, so Fabric cannot set the "
            "loader up, and the loop does not move them to the device",
        )
    iterated = cst.Module([]).code_for_node(loop.iter)
    why = (
        "it is iterated here before Fabric sets it up"
        if loop in ctx.loops.early
        else "Fabric does not set it up (it is made in a block of its own)"
    )
    raise Declined(
        ctx.index.line(loop),
        f"the batches (`{unmoved[0]}`) of `{iterated}` would stay on the CPU while Fabric moves "
        f"the model to the process's device: {why}, and the loop does not move them",
    )


def _runs_a_model(ctx: Context, node: cst.CSTNode) -> bool:
    """`node` calls a model Fabric sets up (`model(x)`, `model.encode(x)`)."""
    return any(_calls_model(ctx, call) for call in find(node, cst.Call))


def _calls_model(ctx: Context, call: cst.Call) -> bool:
    func = call.func
    while isinstance(func, cst.Attribute):
        func = func.value
    return isinstance(func, cst.Name) and (ctx.is_model(func) or ctx.is_wrapped_model(func))


def _comprehension(index: SourceIndex, node: cst.CompFor) -> cst.CSTNode:
    """The list/set/dict comprehension or generator expression a `for` belongs to."""
    parent = index.parent(node)
    while isinstance(parent, cst.CompFor):
        parent = index.parent(parent)
    return parent


def _batch_names(loop: cst.For) -> set[str]:
    """The names `for x, y in data` binds to the batch (not `range()`'s counter, nor
    `enumerate()`'s index)."""
    target, iterable = loop.target, loop.iter
    if m.matches(iterable, m.Call(func=m.Name("range"))):
        return set()
    if m.matches(iterable, m.Call(func=m.Name("enumerate"))) and isinstance(target, cst.Tuple):
        target = cst.Tuple([e for e in target.elements[1:]])
    return {n.value for n in find(target, cst.Name)}


def devices(ctx: Context) -> None:
    """Batches: their moves go (a set-up loader moves them). Elsewhere: the script's device
    becomes `fabric.device` where it is handed to a call, `.cuda()` becomes
    `.to(fabric.device)`."""
    index = ctx.index
    batch_moves = set()
    for loop in ctx.loops.loops:
        if loop.loader is None:
            continue
        for call in find(loop.node.body, cst.Call):
            if call in batch_moves:  # an inner loop's move, found again from the outer loop
                continue
            if _is_move(ctx, call) and _root(call.func.value) in loop.batch:
                batch_moves.add(call)
                ctx.edits.on(call, lambda u: u.func.value)  # `x.to(device)` -> `x`
                ctx.count(call, "batch move")
    created = {assigned_value(b) for model in ctx.roles.models for b in model.bindings}
    device_scopes = _device_scopes(ctx)
    for name in index.nodes(cst.Name):
        owner = device_scopes.get(name.value)
        if owner is None or not ctx.reach.has_fabric(name):
            continue
        scope = index.scope(name)
        parent = index.parent(name)
        if scope is None or scope.lookup(name.value) is not owner:
            continue
        if not (isinstance(parent, cst.Arg) and parent.value is name):
            continue
        call = index.parent(parent)
        if not isinstance(call, cst.Call) or call in batch_moves:
            continue
        if m.matches(call.func, m.Name("print") | m.Name("str") | m.Name("repr")):
            continue
        ctx.edits.on(name, lambda u: ctx.attribute("device"))
        ctx.use(name, "device")
    for call in index.nodes(cst.Call):
        if call in batch_moves or call in created or not ctx.reach.has_fabric(call):
            continue
        if m.matches(call.func, m.Attribute(attr=m.Name("cuda"))) and not ctx.is_model(
            call.func.value
        ):
            ctx.edits.on(
                call,
                lambda u: u.with_changes(
                    func=u.func.with_changes(attr=cst.Name("to")),
                    args=[cst.Arg(ctx.attribute("device"))],
                ),
            )
            ctx.use(call, "device")


def _device_scopes(ctx: Context) -> dict[str, Scope]:
    found = {}
    for name in ctx.roles.devices:
        owner = ctx.roles.scope.lookup(name)
        if owner is not None:
            found[name] = owner
    return found


def _is_move(ctx: Context, call: cst.Call) -> bool:
    """`x.to(device)` / `x.cuda()` (with `non_blocking=`): a move to a device and nothing else."""
    if not isinstance(call.func, cst.Attribute) or call.func.attr.value not in _MOVES:
        return False
    rest = [a for a in call.args if not (a.keyword and a.keyword.value == "non_blocking")]
    if call.func.attr.value == "cuda":
        return len(rest) <= 1 and not any(a.star for a in rest)
    if len(rest) != 1 or rest[0].star:
        return False
    arg = rest[0]
    if arg.keyword is not None:
        return arg.keyword.value == "device"
    return _is_device_expression(ctx, arg.value)


def _is_device_expression(ctx: Context, node) -> bool:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return isinstance(value, str) and value.split(":")[0] in ("cuda", "cpu", "mps", "xpu")
    if isinstance(node, cst.Call):
        return ctx.index.resolves_to(node.func, "torch.device")
    if isinstance(node, cst.Name):
        return node.value in ctx.roles.devices or "device" in node.value
    if isinstance(node, cst.Attribute):
        return "device" in node.attr.value
    return False


def _root(node) -> str | None:
    while isinstance(node, (cst.Attribute, cst.Subscript, cst.Call)):
        node = node.func if isinstance(node, cst.Call) else node.value
    return node.value if isinstance(node, cst.Name) else None


def created_tensors(ctx: Context) -> None:
    """Tensors a training or evaluation loop creates (`torch.randn(n, 4)`) are made as the
    script made them, then moved to the process's device: the same numbers, on its device."""
    index = ctx.index
    seen = set()
    for loop in ctx.loops.loops:
        if not (loop.trains or loop.loader):
            continue
        for call in find(loop.node.body, cst.Call):
            if call in seen or not creates_tensor(index, call):
                continue
            seen.add(call)
            if any(a.keyword and a.keyword.value in ("device", "requires_grad") for a in call.args):
                continue
            parent = index.parent(call)
            if m.matches(
                parent, m.Attribute(attr=m.Name("to") | m.Name("cuda") | m.Name("type_as"))
            ):
                continue
            ctx.edits.on(
                call,
                lambda u: make_call(
                    cst.Attribute(u, cst.Name("to")), [cst.Arg(ctx.attribute("device"))]
                ),
            )
            ctx.use(call, "tensor")


def outside_tensors(ctx: Context) -> None:
    """A tensor a training loop reads from outside it (full-batch data made at module level) is
    read as `x.to(fabric.device)`; the script's own uses of `x` elsewhere stay as they were."""
    index = ctx.index
    for loop in ctx.loops.loops:
        if not loop.trains:
            continue
        written = {n for n in names_written(index, [loop.node])}
        for name in find(loop.node.body, cst.Name):
            if name.value in written or not _plain_read(index, name):
                continue
            scope = index.scope(name)
            owner = scope.lookup(name.value) if scope is not None else None
            if owner is None or not is_tensor_name(index, owner, name.value):
                continue
            if m.matches(index.parent(name), m.Attribute(attr=m.Name("to") | m.Name("cuda"))):
                continue
            ctx.edits.on(
                name,
                lambda u: make_call(
                    cst.Attribute(u, cst.Name("to")), [cst.Arg(ctx.attribute("device"))]
                ),
            )
            ctx.use(name, "tensor")


def _plain_read(index: SourceIndex, name: cst.Name) -> bool:
    """A variable read (not an attribute's name, a keyword, a target or a parameter)."""
    parent = index.parent(name)
    if isinstance(parent, cst.Attribute) and parent.attr is name:
        return False
    if isinstance(parent, cst.Arg) and parent.keyword is name:
        return False
    return not isinstance(
        parent, (cst.AssignTarget, cst.AugAssign, cst.For, cst.AsName, cst.Param, cst.FunctionDef)
    )
