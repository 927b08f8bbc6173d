"""`scheduler.step()`: once per batch or once per epoch, as Lightning's scheduler `interval`."""

from __future__ import annotations

import libcst as cst

from converter.rules.context import RuleContext, method_call


class SchedulerStep:
    name = "scheduler-step"

    def claim(self, statement: cst.BaseStatement, ctx: RuleContext) -> bool:
        found = method_call(statement)
        if found is None or found[1] != "step" or not ctx.is_scheduler(found[0]):
            return False
        if found[2].args:
            raise ctx.decline(statement, "scheduler.step(metric) needs a monitored metric")
        interval = {"batch": "step", "epoch": "epoch"}.get(ctx.place)
        if interval is None or ctx.plan.scheduler_interval not in (None, interval):
            raise ctx.decline(
                statement, "the scheduler is stepped in a way Lightning cannot repeat"
            )
        ctx.plan.scheduler_interval = interval
        ctx.record("scheduler", statement)
        return True


RULE = SchedulerStep()
