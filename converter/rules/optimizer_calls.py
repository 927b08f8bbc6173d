"""`optimizer.zero_grad()` and `optimizer.step()`: the Trainer calls both for each batch."""

from __future__ import annotations

import libcst as cst

from converter.rules.context import RuleContext, method_call


class ZeroGrad:
    name = "zero-grad"

    def claim(self, statement: cst.BaseStatement, ctx: RuleContext) -> bool:
        found = method_call(statement)
        if found is None or found[1] != "zero_grad" or ctx.place != "batch":
            return False
        receiver, _, call = found
        if not (ctx.is_optimizer(receiver) or ctx.is_model(receiver)):
            return False
        for arg in call.args:
            # Lightning zeroes with set_to_none=True, torch's default since 2.0.
            if not (
                arg.keyword
                and arg.keyword.value == "set_to_none"
                and isinstance(arg.value, cst.Name)
                and arg.value.value == "True"
            ):
                raise ctx.decline(
                    statement, "zero_grad(set_to_none=False) has no Lightning setting"
                )
        ctx.record("zero_grad", statement)
        return True


class OptimizerStep:
    name = "optimizer-step"

    def claim(self, statement: cst.BaseStatement, ctx: RuleContext) -> bool:
        found = method_call(statement)
        if found is None or found[1] != "step" or not ctx.is_optimizer(found[0]):
            return False
        if ctx.place != "batch":
            raise ctx.decline(statement, "the optimizer is stepped outside the batch loop")
        if found[2].args:
            raise ctx.decline(statement, "optimizer.step(closure) needs manual optimization")
        ctx.record("step", statement)
        return True


ZERO_GRAD = ZeroGrad()
STEP = OptimizerStep()
