"""`torch.autocast` + `GradScaler` -> `Trainer(precision=...)`.

The original only mixes precision where its autocast is active, e.g. `device_type="cuda"` is a
no-op on a CPU-only machine; the Trainer option says the same thing:
`precision="16-mixed" if torch.cuda.is_available() else "32-true"`.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from converter.analysis.bindings import code
from converter.analysis.index import SourceIndex
from converter.analysis.plan import Declined
from converter.rules.context import RuleContext, method_call

AUTOCAST = (
    "torch.autocast",
    "torch.amp.autocast",
    "torch.cuda.amp.autocast",
    "torch.cpu.amp.autocast",
)
SCALERS = (
    "torch.amp.GradScaler",
    "torch.cuda.amp.GradScaler",
    "torch.amp.grad_scaler.GradScaler",
    "torch.cuda.amp.grad_scaler.GradScaler",
)


def autocast_call(index: SourceIndex, statement: cst.BaseStatement) -> cst.Call | None:
    """The autocast call of `with torch.autocast(...):` (a with of that alone)."""
    if (
        isinstance(statement, cst.With)
        and len(statement.items) == 1
        and statement.items[0].asname is None
        and isinstance(statement.items[0].item, cst.Call)
        and index.resolves_to(statement.items[0].item.func, *AUTOCAST)
    ):
        return statement.items[0].item
    return None


def precision_option(index: SourceIndex, call: cst.Call) -> cst.BaseExpression:
    """The Trainer precision that does what this autocast call does."""
    args = {
        a.keyword.value if a.keyword else ("device_type" if i == 0 else "?"): a.value
        for i, a in enumerate(call.args)
    }
    if "?" in args:
        raise Declined(index.line(call), "autocast with unusual positional arguments")
    cuda_only = index.resolves_to(call.func, "torch.cuda.amp.autocast")
    device = args.get("device_type")
    if device is not None and not isinstance(device, cst.SimpleString):
        raise Declined(index.line(call), "autocast on a device chosen at run time")
    device_name = "cuda" if cuda_only else device.evaluated_value if device is not None else "cpu"
    dtype = args.get("dtype")
    if dtype is None:
        mixed = "16-mixed" if device_name == "cuda" else "bf16-mixed"
    elif index.resolves_to(dtype, "torch.float16", "torch.half"):
        mixed = "16-mixed"
    elif index.resolves_to(dtype, "torch.bfloat16"):
        mixed = "bf16-mixed"
    else:
        raise Declined(index.line(call), "autocast to a dtype Lightning has no precision for")
    condition = []
    if "enabled" in args:
        condition.append(code(args["enabled"]))
    if device_name == "cuda":
        condition.append("torch.cuda.is_available()")
    elif device_name != "cpu":
        raise Declined(index.line(call), f"autocast on {device_name}")
    if not condition:
        return cst.SimpleString(f'"{mixed}"')
    return cst.parse_expression(f'"{mixed}" if {" and ".join(condition)} else "32-true"')


class ScaledBackward:
    """`scaler.scale(loss).backward()`: Lightning scales and calls backward itself."""

    name = "scaled-backward"

    def claim(self, statement: cst.BaseStatement, ctx: RuleContext) -> bool:
        found = method_call(statement)
        if found is None or found[1] != "backward" or found[2].args:
            return False
        scaled = found[0]
        if not (
            m.matches(scaled, m.Call(func=m.Attribute(attr=m.Name("scale")), args=[m.Arg()]))
            and ctx.is_scaler(scaled.func.value)
        ):
            return False
        if ctx.plan.loss is not None:
            raise ctx.decline(statement, "more than one backward() per batch")
        ctx.plan.loss, ctx.plan.loss_origin = scaled.args[0].value, ctx.origin
        ctx.record("backward", statement)
        return True


class ScalerStep:
    """`scaler.step(optimizer)` is the optimizer step; `scaler.update()` goes with it."""

    name = "scaler-step"

    def claim(self, statement: cst.BaseStatement, ctx: RuleContext) -> bool:
        found = method_call(statement)
        if found is None or not ctx.is_scaler(found[0]):
            return False
        receiver, method, call = found
        if method == "step" and len(call.args) == 1 and ctx.is_optimizer(call.args[0].value):
            ctx.record("step", statement)
            return True
        if method == "update" and not call.args:
            ctx.record("scaler", statement)
            return True
        raise ctx.decline(statement, f"GradScaler.{method}() has no Lightning equivalent here")


SCALED_BACKWARD = ScaledBackward()
SCALER_STEP = ScalerStep()
