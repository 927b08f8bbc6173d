"""`sampler.set_epoch(epoch)`: Lightning sets the epoch on the DistributedSampler it adds."""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from converter.rules.context import RuleContext, method_call


class SetEpoch:
    name = "set-epoch"

    def claim(self, statement: cst.BaseStatement, ctx: RuleContext) -> bool:
        found = method_call(statement)
        if (
            found is None
            or found[1] != "set_epoch"
            or ctx.site_name(found[0]) not in ctx.plan.samplers
        ):
            return False
        epoch = found[2].args[0].value if len(found[2].args) == 1 else None
        if not (
            m.matches(epoch, m.Name())
            and ctx.site_name(epoch) == ctx.plan.epoch_var
            and ctx.plan.epoch_start is None
        ):
            raise ctx.decline(statement, "set_epoch() with another number than Lightning's epoch")
        ctx.record("set_epoch", statement)
        return True


RULE = SetEpoch()
