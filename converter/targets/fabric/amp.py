"""Mixed precision in a Fabric conversion: mapped onto Fabric's precision, or the script's own kept.

Mapped, where that is exact (one GradScaler, used only as `scaler.scale(loss).backward()`,
`scaler.step(optimizer)` and `scaler.update()` statements; autocast regions that agree):
`Fabric(precision=...)` does what the script did by hand: `fabric.backward(loss)`,
`optimizer.step()`, `with fabric.autocast():`, the scaler gone.

Kept, where it is not (a GradScaler per optimizer: each skips its overflowing steps and shrinks its
scale for itself, Fabric keeps one scale; a scaler handed to a function or asked anything else,
`unscale_()` before clipping; a scaler without autocast; autocast regions that differ): every
GradScaler and every autocast stays as the script wrote it, `scaler.scale(loss).backward()`
becomes `fabric.backward(scaler.scale(loss))` like any backward, and Fabric stays in 32 bits
(`precision="32-true"`, no `--precision` flag): a mixed precision of its own would scale the loss
a second time. Under 32-true `fabric.backward(t)` is `t.backward()`, and `scaler.step(optimizer)`
calls the set-up optimizer's own `step()`; with DDP the scaled gradients are averaged during
backward, so every process's scaler sees the same gradients and skips the same steps.

The analysis (`find_amp`) only reads; `rewrite` adds the mapped form's edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import code, method_call
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined
from converter.analysis.torch_api import AUTOCAST, BACKWARD_CALL, SCALERS
from converter.analysis.walk import find
from converter.lightning_code.options import precision_option
from converter.targets.fabric.context import Context, make_call
from converter.targets.fabric.roles import Roles, resolve_all

#: Fabric's own precision where the script's mixed precision is kept.
PINNED = '"32-true"'


@dataclass
class Amp:
    precision: cst.BaseExpression | None = None  # Fabric's; None: the script has no AMP
    regions: list[cst.WithItem] = field(default_factory=list)  # -> `fabric.autocast()`
    removed: list[cst.BaseStatement] = field(default_factory=list)  # the scaler, its update()
    steps: list[cst.Call] = field(default_factory=list)  # `scaler.step(opt)` -> `opt.step()`
    #: `scaler.scale(loss)` of `scaler.scale(loss).backward()` -> `fabric.backward(loss)`
    unscaled: set[cst.Call] = field(default_factory=set)
    kept: str | None = None  # why the script's own mixed precision stays (None: mapped)
    kept_line: int = 0
    scalers: list[str] = field(default_factory=list)
    autocasts: bool = False  # the script autocasts

    @property
    def comment(self) -> str | None:
        """The comment above `Fabric(...)` where its precision is pinned."""
        if self.kept is None:
            return None
        own = ["GradScalers" if len(self.scalers) > 1 else "GradScaler"] if self.scalers else []
        own += ["autocast"] if self.autocasts else []
        verb = "do" if len(own) > 1 or len(self.scalers) > 1 else "does"
        return f"# 32-true: the script's own {' and '.join(own)} {verb} the mixed precision"


class _NotExact(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line, self.reason = line, reason


def find_amp(index: SourceIndex, roles: Roles) -> Amp:
    calls = [c for c in index.nodes(cst.Call) if index.resolves_to(c.func, *AUTOCAST)]
    created = [c for c in index.nodes(cst.Call) if index.resolves_to(c.func, *SCALERS)]
    if not calls and not created:
        return Amp()
    try:
        return _mapped(index, roles, calls, created)
    except _NotExact as why:
        return Amp(
            precision=cst.SimpleString(PINNED),
            kept=why.reason,
            kept_line=why.line,
            scalers=sorted(roles.scalers),
            autocasts=bool(calls),
        )


def _mapped(index: SourceIndex, roles: Roles, calls, created) -> Amp:
    amp = Amp(scalers=sorted(roles.scalers))
    values: dict[str, cst.BaseExpression] = {}
    for call in calls:
        item = index.parent(call)
        if not (isinstance(item, cst.WithItem) and item.asname is None):
            raise _NotExact(index.line(call), "autocast used other than as `with autocast(...):`")
        try:
            value = precision_option(index, call)
        except Declined as declined:  # what the Trainer's precision option cannot say
            raise _NotExact(declined.line, str(declined)) from None
        _readable_where_fabric_is(index, roles, call, value)
        values.setdefault(code(value), value)
        amp.regions.append(item)
    if len(values) > 1:
        raise _NotExact(index.line(amp.regions[-1]), "autocast regions with different settings")
    if created and not values:
        raise _NotExact(index.line(created[0]), "a GradScaler without autocast")
    amp.precision = next(iter(values.values()), None)
    _scaler_uses(index, roles, created, amp)
    return amp


def _readable_where_fabric_is(index: SourceIndex, roles: Roles, call, value) -> None:
    """Fabric's precision is chosen where Fabric is created (where the models are): a setting
    that reads a variable of another function (`autocast(enabled=use_amp)` inside the training
    function) cannot be said there."""
    scope = index.scope(call)
    for name in find(value, cst.Name):
        owner = scope.lookup(name.value) if scope is not None else None
        if owner is not None and owner is not roles.scope and owner is not owner.module:
            raise _NotExact(
                index.line(call),
                f"autocast's setting reads `{name.value}`, a variable of another function",
            )


def _scaler_uses(index: SourceIndex, roles: Roles, created: list[cst.Call], amp: Amp) -> None:
    """The one GradScaler's uses, each with its Fabric form; `_NotExact` for any other."""
    if len(roles.scalers) > 1:
        # Fabric has one loss scale for every optimizer. Separate scalers skip an overflowing
        # step and shrink their scale each for itself: in float16 the runs would differ.
        names = " and ".join(f"`{n}`" for n in sorted(roles.scalers))
        raise _NotExact(
            index.line(created[0]),
            f"several GradScalers ({names}): Fabric keeps one loss scale for all of them, and "
            "separate scalers skip overflowing steps separately",
        )
    for call in created:
        if not m.matches(
            index.parent(call), m.Assign(targets=[m.AssignTarget(m.Name())])
        ) or not _is_scaler(index, roles, index.parent(call).targets[0].target):
            raise _NotExact(index.line(call), "a GradScaler not created once by an assignment")
    for name in index.nodes(cst.Name):
        if not _is_scaler(index, roles, name):
            continue
        parent = index.parent(name)
        if (isinstance(parent, cst.Attribute) and parent.attr is name) or (
            isinstance(parent, cst.Arg) and parent.keyword is name
        ):
            continue  # `obj.scaler`, `f(scaler=...)`: not the variable
        statement = index.enclosing_statement(name)
        if isinstance(parent, cst.AssignTarget):
            amp.removed.append(statement)  # scaler = GradScaler(...)
            continue
        if not (isinstance(parent, cst.Attribute) and parent.value is name):
            how = (
                "passed to a function"
                if isinstance(parent, (cst.Arg, cst.Param))
                else "used directly"
            )
            raise _NotExact(index.line(name), f"the GradScaler `{name.value}` is {how}")
        method = parent.attr.value
        scale = index.parent(parent)
        if method == "scale" and _is_scaled_backward(index, scale):
            amp.unscaled.add(scale)
            continue
        found = method_call(statement)
        if found is not None and found[0] is name:
            call = found[2]
            if method == "update" and not call.args:
                amp.removed.append(statement)
                continue
            if method == "step" and len(call.args) == 1 and not call.args[0].keyword:
                amp.steps.append(call)
                continue
        raise _NotExact(index.line(name), f"GradScaler.{method}() has no Fabric equivalent here")


def _is_scaled_backward(index: SourceIndex, call) -> bool:
    """`scaler.scale(loss)` of `scaler.scale(loss).backward()`."""
    backward = index.parent(index.parent(call))
    return (
        isinstance(call, cst.Call)
        and len(call.args) == 1
        and not call.args[0].keyword
        and m.matches(backward, BACKWARD_CALL)
        and backward.func.value is call
    )


def _is_scaler(index: SourceIndex, roles: Roles, node) -> bool:
    """`node` names a GradScaler, or a parameter that receives one (or several)."""
    found = resolve_all(index, node)
    return bool(found) and any(name in roles.scalers for _, name in found)


def _optimizer_step(updated: cst.Call) -> cst.Call:
    """`scaler.step(optimizer)` -> `optimizer.step()`."""
    return updated.with_changes(
        func=cst.Attribute(updated.args[0].value, cst.Name("step")), args=[]
    )


def rewrite(ctx: Context, amp: Amp) -> None:
    """The mapped form's edits (none where the script's own is kept): the scaler goes, its step
    is the optimizer's, autocast is Fabric's."""
    for statement in amp.removed:
        ctx.edits.remove.add(statement)
    for call in amp.steps:
        ctx.edits.on(
            call,
            lambda u: u.with_changes(
                func=cst.Attribute(u.args[0].value, cst.Name("step")), args=[]
            ),
        )
    for item in amp.regions:
        if not ctx.reach.has_fabric(item):
            raise Declined(ctx.index.line(item), "autocast where Fabric cannot be set up")
        ctx.edits.on(item.item, lambda u: make_call(ctx.attribute("autocast"), []))
        ctx.use(item, "autocast")
