"""`loss.backward()`: training_step returns the loss and Lightning calls backward on it.

A step that rebinds the loss's name after backward() (`loss, current = loss.item(), ...` to
print it) keeps the tensor under another name where backward() was called, and returns that:
training_step's return value is what Lightning calls backward() on."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.names import WRITE, name_events
from converter.analysis.site import Claim, Place, TrainingSite
from converter.targets.trainer.patterns.base import ClaimContext, Example, Pattern, method_call


@dataclass
class _State:
    backward: cst.BaseStatement | None = None  # the statement that called it
    kept_as: str | None = None  # the tensor's own name, where the step rebinds the loss's


class Backward(Pattern):
    name = "backward"
    State = _State
    example = Example(
        shape="`loss.backward()`",
        becomes="`training_step` returns the loss; Lightning calls backward on it",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
        """,
        after="""
            def training_step(self, batch, batch_idx):
                x, y = batch
                loss = nn.functional.mse_loss(self.model(x), y)
                self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
                return loss
        """,
    )

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
        if isinstance(receiver, cst.Name) and _rebinding(ctx.site, ctx.index, statement):
            state = ctx.site.state(self)
            state.kept_as = ctx.index.fresh_name(f"{receiver.value}_tensor")
            ctx.site.loss = cst.Name(state.kept_as)
            ctx.keep_in_place()  # emit turns it into `loss_tensor = loss`
        return True

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out) -> None:
        state = site.state(self)
        if state.kept_as is None:
            return
        kept = cst.parse_statement(
            f"{state.kept_as} = loss  # what training_step returns for backward()\n"
        )

        def keep(updated: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
            loss = updated.body[0].value.func.value  # as the hook names it (`self.loss`)
            assign = kept.body[0].with_changes(value=loss)
            return kept.with_changes(body=[assign], leading_lines=updated.leading_lines)

        out.replacements[state.backward] = keep

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        if state.kept_as is not None:
            report.change(
                "loss",
                index.line(state.backward),
                f"the step rebinds `{method_call(state.backward)[0].value}` after backward(): "
                f"training_step returns the tensor as `{state.kept_as}`",
            )


def _rebinding(site: TrainingSite, index: SourceIndex, backward: cst.BaseStatement):
    """The step rebinds the loss's name after backward() (a Name written there)."""
    name, at = method_call(backward)[0].value, index.order(backward)
    for item in site.train.step:
        try:
            if index.order(item.node) <= at:
                continue
        except KeyError:  # not of the script's tree
            continue
        events = name_events(index, [item.node])
        if any(e.kind == WRITE and e.node.value == name for e in events):
            return True
    return False


def record_loss(ctx: ClaimContext, statement, loss: cst.BaseExpression) -> None:
    """The value training_step returns; one per batch."""
    if ctx.site.loss is not None:
        raise ctx.decline(statement, "more than one backward() per batch")
    ctx.site.loss, ctx.site.loss_origin = loss, ctx.origin
    ctx.site.state(PATTERN).backward = statement
    ctx.record(Claim.BACKWARD, statement)


PATTERN = Backward()
