"""`loss.backward()`: training_step returns the loss and Lightning calls backward on it."""

from __future__ import annotations

import libcst as cst

from converter.rules.context import RuleContext, method_call


class Backward:
    name = "backward"

    def claim(self, statement: cst.BaseStatement, ctx: RuleContext) -> bool:
        found = method_call(statement)
        if found is None or found[1] != "backward":
            return False
        receiver, _, call = found
        if ctx.place != "batch":
            raise ctx.decline(statement, "backward() outside the training batch loop")
        if call.args:
            raise ctx.decline(statement, "backward() with arguments has no automatic equivalent")
        if ctx.plan.loss is not None:
            raise ctx.decline(statement, "more than one backward() per batch")
        ctx.plan.loss = receiver
        ctx.plan.loss_origin = ctx.origin
        ctx.record("backward", statement)
        return True


RULE = Backward()
