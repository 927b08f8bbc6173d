"""`loss.backward()`: training_step returns the loss and Lightning calls backward on it."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.names import WRITE, name_events
from converter.analysis.site import Claim, Declined, Place, TrainingSite
from converter.targets.trainer.patterns.base import ClaimContext, Example, Pattern, method_call


@dataclass
class _State:
    backward: cst.BaseStatement | None = None  # the statement that called it


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
        return True

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        """training_step returns the loss at its end, where Lightning calls backward on it: a
        step that rebinds the loss's name after backward() (`loss = loss.item()` to print it)
        would return the rebound value, not the tensor."""
        backward = site.state(self).backward
        if backward is None or not isinstance(site.loss, cst.Name):
            return
        name, at = site.loss.value, index.order(backward)
        for item in site.train.step:
            try:
                if index.order(item.node) < at:
                    continue
            except KeyError:  # not of the script's tree
                continue
            events = name_events(index, [item.node])
            rebound = [e.node for e in events if e.kind == WRITE and e.node.value == name]
            if rebound:
                raise Declined(
                    index.line(rebound[0]),
                    f"`{name}` is rebound here, after {name}.backward() (line "
                    f"{index.line(backward)}): training_step must return the tensor "
                    "backward() was called on",
                )


def record_loss(ctx: ClaimContext, statement, loss: cst.BaseExpression) -> None:
    """The value training_step returns; one per batch."""
    if ctx.site.loss is not None:
        raise ctx.decline(statement, "more than one backward() per batch")
    ctx.site.loss, ctx.site.loss_origin = loss, ctx.origin
    ctx.site.state(PATTERN).backward = statement
    ctx.record(Claim.BACKWARD, statement)


PATTERN = Backward()
