"""`loss.backward()`: training_step returns the loss and Lightning calls backward on it."""

from __future__ import annotations

import libcst as cst

from converter.analysis.site import Claim, Place
from converter.patterns.base import ClaimContext, Pattern, method_call


class Backward(Pattern):
    name = "backward"

    def claim(self, statement: cst.BaseStatement, ctx: ClaimContext) -> bool:
        found = method_call(statement)
        if found is None or found[1] != "backward":
            return False
        receiver, _, call = found
        if ctx.place is not Place.BATCH:
            raise ctx.decline(statement, "backward() outside the training batch loop")
        if call.args:
            raise ctx.decline(statement, "backward() with arguments has no automatic equivalent")
        record_loss(ctx, statement, receiver)
        return True


def record_loss(ctx: ClaimContext, statement, loss: cst.BaseExpression) -> None:
    """The value training_step returns; one per batch."""
    if ctx.site.loss is not None:
        raise ctx.decline(statement, "more than one backward() per batch")
    ctx.site.loss, ctx.site.loss_origin = loss, ctx.origin
    ctx.record(Claim.BACKWARD, statement)


PATTERN = Backward()
