"""`torch.autocast` + `GradScaler` -> `Trainer(precision=...)`.

The original only mixes precision where its autocast is active, e.g. `device_type="cuda"` is a
no-op on a CPU-only machine; the Trainer option says the same thing:
`precision="16-mixed" if torch.cuda.is_available() else "32-true"`. Lightning's precision plugin
scales the loss, unscales before clipping and steps through the scaler, as the loop did by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import assigned_call, code, scope_names, single_binding
from converter.analysis.index import SourceIndex
from converter.analysis.site import Claim, Declined, Moved, TrainingSite
from converter.analysis.torch_api import AUTOCAST, SCALERS
from converter.lightning_code.options import precision_option
from converter.targets.trainer.patterns.backward import record_loss
from converter.targets.trainer.patterns.base import (
    ClaimContext,
    Emission,
    Example,
    Pattern,
    TrainerOption,
    method_call,
)


@dataclass
class MixedPrecisionState:
    scalers: set[str] = field(default_factory=set)
    precision: TrainerOption | None = None
    autocast_line: int = 0


class MixedPrecision(Pattern):
    name = "mixed-precision"
    example = Example(
        shape="`torch.autocast` and a `GradScaler`",
        becomes='`Trainer(precision="16-mixed" if torch.cuda.is_available() else "32-true")`',
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scaler = torch.cuda.amp.GradScaler()
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                with torch.autocast("cuda"):
                    loss = nn.functional.mse_loss(model(x), y)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
        """,
        after="""
            def training_step(self, batch, batch_idx):
                x, y = batch
                loss = nn.functional.mse_loss(self.model(x), y)
                self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
                return loss
        ...
        trainer = pl.Trainer(max_epochs=3, precision="16-mixed" if torch.cuda.is_available() else "32-true")
        """,  # noqa: E501
    )
    State = MixedPrecisionState

    def stepped_optimizer(self, call, site: TrainingSite, index: SourceIndex):
        if call.args and _is_scaler_binding(index, site, call.func.value):
            return call.args[0].value  # scaler.step(optimizer)
        return None

    def bind(self, site: TrainingSite, index: SourceIndex) -> None:
        state = site.state(self)
        for name in scope_names(site.site_scope):
            statement = single_binding(index, site.site_scope, name)
            call = assigned_call(statement, name)
            if call is not None and index.resolves_to(call.func, *SCALERS):
                state.scalers.add(name)
                site.removed.append(statement)

    def reshape(self, site: TrainingSite, index: SourceIndex) -> None:
        """The body of `with torch.autocast(...):` in place of it; the Trainer's precision option
        does the autocasting."""
        state, flat = site.state(self), []
        for item in site.train.step:
            call = autocast_call(index, item.node)
            if call is None:
                flat.append(item)
                continue
            if state.precision is not None:
                raise Declined(index.line(item.node), "more than one autocast region")
            state.precision = TrainerOption(precision_option(index, call), item.origin)
            state.autocast_line = index.line(item.node)
            flat += [Moved(s, item.origin) for s in item.node.body.body]
        site.train.step[:] = flat

    def claim(self, statement: cst.BaseStatement, ctx: ClaimContext) -> bool:
        found = method_call(statement)
        if found is None:
            return False
        receiver, method, call = found
        scalers = ctx.site.state(self).scalers
        # scaler.scale(loss).backward(): Lightning scales and calls backward itself.
        if method == "backward" and not call.args:
            if m.matches(
                receiver, m.Call(func=m.Attribute(attr=m.Name("scale")), args=[m.Arg()])
            ) and (ctx.site_name(receiver.func.value) in scalers):
                record_loss(ctx, statement, receiver.args[0].value)
                return True
            return False
        if ctx.site_name(receiver) not in scalers:
            return False
        # scaler.step(optimizer) is the optimizer step; scaler.update() goes with it.
        if method == "step" and len(call.args) == 1 and ctx.is_optimizer(call.args[0].value):
            ctx.record(Claim.STEP, statement)
            return True
        if method == "update" and not call.args:
            ctx.record(Claim.SCALER_UPDATE, statement)
            return True
        raise ctx.decline(statement, f"GradScaler.{method}() has no Lightning equivalent here")

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        state = site.state(self)
        if not site.manual and state.scalers and state.precision is None:
            raise Declined(index.line(site.batch_loop), "a GradScaler without autocast")

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        precision = site.state(self).precision
        if precision is not None:
            out.trainer_options["precision"] = precision
            if "torch." in code(precision.value):
                out.imports.add("torch")

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        if state.precision is not None:
            report.change(
                "precision",
                state.autocast_line,
                f"autocast -> Trainer(precision={code(state.precision.value)})",
            )


def _is_scaler_binding(index: SourceIndex, site: TrainingSite, expr) -> bool:
    name = site.loop_origin.site_name(expr)
    for scope in (site.site_scope, index.body_scope(None)):
        call = assigned_call(single_binding(index, scope, name), name) if name else None
        if call is not None and index.resolves_to(call.func, *SCALERS):
            return True
    return False


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


PATTERN = MixedPrecision()
