"""LR schedulers over the trained optimizers: created in `configure_optimizers` with them, and
`scheduler.step()` once per batch or once per epoch becomes Lightning's scheduler `interval`
("step" or "epoch"), which steps at the same points.

Lightning steps an epoch scheduler at the end of the epoch (after on_train_epoch_end). A script
that steps it at the start of each epoch, before the batches, trains epoch e at the rate of
step e + 1: that step stays where it was, in on_train_epoch_start (`self.lr_schedulers().step()`),
and the module's lr_scheduler_step does nothing, so Lightning's own end-of-epoch step is off."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from converter.analysis.bindings import (
    assigned_call,
    bound_names,
    code,
    scope_names,
    single_binding,
)
from converter.analysis.index import SourceIndex
from converter.analysis.site import Claim, Declined, Hook, Moved, Place, Role, TrainingSite
from converter.targets.trainer.patterns.base import (
    ClaimContext,
    Emission,
    Example,
    Pattern,
    method_call,
)
from converter.templating import fill

_INTERVALS = {Place.BATCH: "step", Place.EPOCH: "epoch"}


@dataclass
class SchedulerState:
    interval: str | None = None  # "step" or "epoch", once a step was claimed
    at_epoch_start: int = 0  # the line of a step at the start of the epoch (kept there)


class SchedulerStep(Pattern):
    name = "scheduler"
    example = Example(
        shape="`scheduler.step()` once per epoch (or per batch)",
        becomes='`configure_optimizers` returns it with `"interval": "epoch"` (or `"step"`)',
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
            scheduler.step()
        """,
        after="""
            def configure_optimizers(self):
                optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
                scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
                return {
                    "optimizer": optimizer,
                    "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
                }
        """,
    )
    State = SchedulerState
    claims_under_manual = False

    def bind(self, site: TrainingSite, index: SourceIndex) -> None:
        for name in scope_names(site.site_scope):
            statement = single_binding(index, site.site_scope, name)
            call = assigned_call(statement, name)
            if call is None or not index.resolves_to(call.func, "torch.optim.lr_scheduler"):
                continue
            first = call.args[0].value if call.args else None
            if isinstance(first, cst.Name) and first.value in site.optimizer_vars:
                if site.names(Role.SCHEDULER) and not site.manual:
                    raise Declined(index.line(statement), "more than one LR scheduler")
                site.bind(name, Role.SCHEDULER)
                site.setup.append(Moved(statement, site.origin))
                site.removed.append(statement)

    def claim(self, statement: cst.BaseStatement, ctx: ClaimContext) -> bool:
        found = method_call(statement)
        if found is None or found[1] != "step" or not is_scheduler(ctx, found[0]):
            return False
        if found[2].args:
            raise ctx.decline(
                statement,
                f"`{code(found[2])}`: the argument of a torch scheduler's step() is the epoch "
                "number (deprecated by torch), not a metric; Lightning steps it without one: "
                "call step() with no argument",
            )
        state = ctx.site.state(self)
        interval = _INTERVALS.get(ctx.place)
        if interval is None or state.interval is not None:  # elsewhere, or a second step
            raise ctx.decline(
                statement, "the scheduler is stepped in a way Lightning cannot repeat"
            )
        state.interval = interval
        ctx.record(Claim.SCHEDULER_STEP, statement)
        if ctx.hook is Hook.ON_TRAIN_EPOCH_START:
            state.at_epoch_start = ctx.index.line(statement)
            ctx.keep_in_place()  # steps there, through self.lr_schedulers()
        return True

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        if site.names(Role.SCHEDULER) and not site.manual and site.state(self).interval is None:
            raise Declined(
                index.line(site.batch_loop), "the LR scheduler is not stepped in the training loop"
            )

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        schedulers = site.names(Role.SCHEDULER)
        if site.manual or not schedulers:
            return
        out.scheduler_config["scheduler"] = cst.Name(schedulers[0])
        if site.state(self).at_epoch_start:
            out.methods += fill("scheduler_stepped_at_epoch_start")
            return
        out.scheduler_config["interval"] = cst.SimpleString(f'"{site.state(self).interval}"')

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        interval = site.state(self).interval
        if site.state(self).at_epoch_start:
            interval = "epoch, at its start"
            report.change(
                "scheduler",
                site.state(self).at_epoch_start,
                "stepped at the start of each epoch in on_train_epoch_start; Lightning's own "
                "step at the epoch's end is turned off (lr_scheduler_step)",
            )
        for moved in site.setup:
            for target in bound_names(moved.node):
                if site.role_of(target) is Role.SCHEDULER:
                    detail = f" per {interval}" if not site.manual else ""
                    line = index.line(moved.node)
                    report.find("scheduler", line, f"scheduler `{target}`{detail}")


def steps_scheduler(site: TrainingSite, item) -> bool:
    """`scheduler.step(...)` as a whole statement."""
    found = method_call(item.node)
    return (
        found is not None
        and found[1] == "step"
        and site.role_of(item.origin.site_name(found[0])) is Role.SCHEDULER
    )


def is_scheduler(ctx: ClaimContext, expr: cst.BaseExpression) -> bool:
    return ctx.site.role_of(ctx.site_name(expr)) is Role.SCHEDULER


PATTERN = SchedulerStep()
