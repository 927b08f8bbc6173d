"""The in-place rewrites of a Fabric conversion, each a small function over the code that can use
`fabric` (see `reach.py`):

- `loss.backward()` -> `fabric.backward(loss)` (`scaler.scale(loss).backward()` too);
- `print(...)` -> `fabric.print(...)`: printed once, by the first process;
- the models' `.to(device)` / `.cuda()` go (`fabric.setup` moves them), and so do the batches'
  (a set-up loader moves them); the script's device elsewhere is `fabric.device`, the process's
  own device, and tensors the loops create are moved there;
- `torch.save(model.state_dict(), path)` -> `fabric.save(path, model.state_dict())`: written once,
  by the first process, with the same keys;
- autocast and GradScaler -> Fabric's precision, `with fabric.autocast():` where the script
  autocast by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst
import libcst.matchers as m

from converter.analysis.bindings import assigned_value, method_call, strip_device_moves
from converter.analysis.index import SourceIndex
from converter.analysis.names import names_written
from converter.analysis.scopes import Scope
from converter.analysis.site import Declined
from converter.analysis.tensors import creates_tensor, is_tensor_name
from converter.analysis.walk import find
from converter.fabric.edits import FabricEdits
from converter.fabric.loops import Loops
from converter.fabric.reach import Reach
from converter.fabric.roles import Roles, resolve
from converter.patterns.mixed_precision import AUTOCAST, precision_option
from converter.templating import expr

_BACKWARD = m.Call(func=m.Attribute(attr=m.Name("backward")))
_MOVES = ("to", "cuda")
_PROCESS_GROUP = (
    "torch.distributed.init_process_group",
    "torch.distributed.destroy_process_group",
    "torch.cuda.set_device",
)
_SPAWN = ("torch.multiprocessing.spawn", "torch.multiprocessing.start_processes")
_LIGHTNING = ("lightning", "pytorch_lightning", "lightning_fabric")
#: The script shards or distributes the model by itself: Fabric's strategy would do it again.
_SHARDING = (
    "torch.distributed.fsdp",
    "torch.distributed.tensor",
    "torch.distributed._tensor",
    "torch.distributed.device_mesh",
    "torch.distributed._composable",
    "torch.distributed.pipelining",
    "torch.distributed.rpc",
    "torch.distributed.autograd",
    "torch.distributed.optim",
    "torch.nn.parallel.DistributedDataParallel.join",
)


@dataclass
class Context:
    index: SourceIndex
    roles: Roles
    reach: Reach
    loops: Loops
    fabric: str
    edits: FabricEdits
    uses: list[cst.CSTNode] = field(default_factory=list)  # nodes that now read `fabric`
    counts: dict[str, list[int]] = field(default_factory=dict)  # what changed -> lines

    def name(self) -> cst.Name:
        return cst.Name(self.fabric)

    def attribute(self, attr: str) -> cst.Attribute:
        return cst.Attribute(self.name(), cst.Name(attr))

    def use(self, node: cst.CSTNode, what: str) -> None:
        self.uses.append(node)
        self.counts.setdefault(what, []).append(self.index.line(node))


# -- checks before anything is rewritten ----------------------------------------------------


def refuse_lightning(index: SourceIndex) -> None:
    """A script that uses Lightning already (a Fabric conversion, converted again), or that
    shards its model with torch.distributed's own tools (FSDP, tensor parallelism, RPC)."""
    for node in index.nodes((cst.Import, cst.ImportFrom)):
        names = (
            [a.name for a in node.names]
            if isinstance(node, cst.Import)
            else [node.module]
            if node.module is not None and not node.relative
            else []
        )
        for name in names:
            dotted = cst.Module([]).code_for_node(name)
            if dotted.split(".")[0] in _LIGHTNING:
                raise Declined(index.line(node), f"it uses Lightning already (`{dotted}`)", "file")
            if any(dotted == s or dotted.startswith(s + ".") for s in _SHARDING):
                raise Declined(
                    index.line(node),
                    f"it shards or distributes the model itself (`{dotted}`): Fabric's strategy "
                    "would do it a second time",
                )


def refuse_spawn(index: SourceIndex) -> None:
    for call in index.nodes(cst.Call):
        if index.resolves_to(call.func, *_SPAWN):
            raise Declined(
                index.line(call),
                "it starts its own processes (torch.multiprocessing); Fabric launches them itself",
            )


def process_group_statements(index: SourceIndex) -> list[cst.SimpleStatementLine]:
    """`dist.init_process_group(...)`, `destroy_process_group()`, `torch.cuda.set_device(...)`:
    Fabric's strategy does them."""
    found = []
    for statement in index.nodes(cst.SimpleStatementLine):
        small = statement.body[0] if len(statement.body) == 1 else None
        if m.matches(small, m.Expr(m.Call())) and index.resolves_to(
            small.value.func, *_PROCESS_GROUP
        ):
            found.append(statement)
    return found


def find_precision(index: SourceIndex, roles: Roles) -> tuple[cst.BaseExpression | None, list]:
    """Fabric's precision for the script's autocast regions (all must agree), and the
    `with` statements that autocast."""
    regions, values = [], {}
    for call in index.nodes(cst.Call):
        if not index.resolves_to(call.func, *AUTOCAST):
            continue
        item = index.parent(call)
        statement = index.parent(item)
        if not (isinstance(item, cst.WithItem) and item.asname is None):
            raise Declined(index.line(call), "autocast used other than as `with autocast(...):`")
        value = precision_option(index, call)
        values.setdefault(cst.Module([]).code_for_node(value), value)
        regions.append((statement, item))
    if len(values) > 1:
        raise Declined(index.line(regions[-1][0]), "autocast regions with different settings")
    if roles.scalers and not values:
        raise Declined(0, "a GradScaler without autocast")
    return (next(iter(values.values())) if values else None), regions


# -- the rewrites ----------------------------------------------------------------------------


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
            return _call(ctx.attribute("backward"), [cst.Arg(loss), *updated.args])

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
        ctx.edits.on(item.item, lambda u: _call(ctx.attribute("autocast"), []))
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


def model_moves(ctx: Context, distributed: list) -> None:
    """The models are moved (and, with DDP, wrapped) by `fabric.setup`."""
    for statement in ctx.roles.model_moves + distributed:
        ctx.edits.remove.add(statement)
    for model in ctx.roles.models:
        for binding in model.bindings:
            value = assigned_value(binding)
            if isinstance(value, cst.Call) and strip_device_moves(value) is not value:
                ctx.edits.on(value, lambda u: strip_device_moves(u))
                ctx.counts.setdefault("model move", []).append(ctx.index.line(value))
    if ctx.roles.model_moves:
        for statement in ctx.roles.model_moves:
            ctx.counts.setdefault("model move", []).append(ctx.index.line(statement))


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
            if _is_move(ctx, call) and _root(call.func.value) in loop.batch:
                batch_moves.add(call)
                ctx.edits.on(call, _drop_move(ctx))
                ctx.counts.setdefault("batch move", []).append(index.line(call))
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
        if m.matches(call.func, m.Attribute(attr=m.Name("cuda"))) and not _model_name(
            ctx, call.func.value
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


def _model_name(ctx: Context, node) -> bool:
    found = resolve(ctx.index, node)
    return found is not None and found[0] is ctx.roles.scope and ctx.roles.model(found[1])


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


def _drop_move(ctx: Context):
    def change(updated: cst.Call) -> cst.BaseExpression:
        return updated.func.value

    return change


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
                lambda u: _call(
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
            if name.value in written or not _is_read(index, name) or not _plain_read(index, name):
                continue
            scope = index.scope(name)
            owner = scope.lookup(name.value) if scope is not None else None
            if owner is None or not is_tensor_name(index, owner, name.value):
                continue
            if m.matches(index.parent(name), m.Attribute(attr=m.Name("to") | m.Name("cuda"))):
                continue
            ctx.edits.on(
                name,
                lambda u: _call(
                    cst.Attribute(u, cst.Name("to")), [cst.Arg(ctx.attribute("device"))]
                ),
            )
            ctx.use(name, "tensor")


def _plain_read(index: SourceIndex, name: cst.Name) -> bool:
    """A variable read (not a keyword, not a target, not a parameter)."""
    parent = index.parent(name)
    if isinstance(parent, cst.Arg) and parent.keyword is name:
        return False
    return not isinstance(
        parent, (cst.AssignTarget, cst.AugAssign, cst.For, cst.AsName, cst.Param, cst.FunctionDef)
    )


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
        if _model_name(ctx, saved):
            ctx.edits.on(saved, lambda u: cst.Attribute(u, cst.Name("module")))
            ctx.counts.setdefault("save model", []).append(index.line(call))
            continue
        if not (_is_state_dict(ctx, saved) or isinstance(saved, cst.Dict)):
            continue
        if len(call.args) != 2 or not _everyone_gets_here(ctx, call):
            continue

        def change(updated):
            state, path = updated.args[0].value, updated.args[1].value
            return _call(ctx.attribute("save"), [cst.Arg(path), cst.Arg(state)])

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


def _call(func: cst.BaseExpression, args: list[cst.Arg]) -> cst.Call:
    """A call whose arguments are separated by `, ` (the last one keeps what it had)."""
    fixed = []
    for position, arg in enumerate(args):
        last = position == len(args) - 1
        if not last and not isinstance(arg.comma, cst.Comma):
            arg = arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        elif last and isinstance(arg.comma, cst.Comma) and position == 0:
            arg = arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        fixed.append(arg)
    return cst.Call(func=func, args=fixed)


def code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


__all__ = ["Context", "expr"]
