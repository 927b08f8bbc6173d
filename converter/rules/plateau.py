"""`plateau.step(val_loss)` after evaluation: ReduceLROnPlateau with `monitor`, and the metric
logged at the end of validation under the same name.

Lightning hands the scheduler the logged value, a float32 tensor: its decisions match the
original's float64 ones except for a metric within about 1e-7 (relative) of the threshold.
"""

from __future__ import annotations

import libcst as cst

from converter.rules.context import RuleContext, method_call


class PlateauStep:
    name = "plateau-step"

    def claim(self, statement: cst.BaseStatement, ctx: RuleContext) -> bool:
        found = method_call(statement)
        if found is None or found[1] != "step" or not ctx.is_scheduler(found[0]):
            return False
        call = found[2]
        if not ctx.plan.plateau:
            return False
        if (
            ctx.place not in ("epoch", "eval")
            or len(call.args) != 1
            or not isinstance(call.args[0].value, cst.Name)
        ):
            raise ctx.decline(
                statement, "ReduceLROnPlateau stepped other than once per epoch on a metric"
            )
        ctx.plan.scheduler_interval = "epoch"
        ctx.plan.monitor = call.args[0].value.value
        ctx.record("scheduler", statement)
        return True


RULE = PlateauStep()
