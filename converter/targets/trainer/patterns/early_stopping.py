"""Early stopping by hand: a `break` out of the epoch loop as the very last thing an epoch does
(a patience check after evaluation) becomes `self.trainer.should_stop = True`, which Lightning
reads at the same point: after the epoch's validation and its `on_train_epoch_end` (the check
itself ends on_validation_epoch_end where it reads the evaluation's results). In a
full-batch loop (one step a round) the same `break` at the end of a round stops after that
round's step, as Lightning does after the one-batch epoch."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.site import Moved, TrainingSite
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import expr


@dataclass
class EarlyStoppingState:
    breaks: list[cst.Break] = field(default_factory=list)


class EarlyStopping(Pattern):
    name = "early-stopping"
    example = Example(
        shape="a patience check ending in `break` as the epoch's last statement",
        becomes="`self.trainer.should_stop = True` where the check reads validation's results",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        val_loader = DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)))
        best, bad_epochs = float("inf"), 0
        for epoch in range(100):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
            val_loss = 0.0
            with torch.no_grad():
                for x, y in val_loader:
                    val_loss += nn.functional.mse_loss(model(x), y).item()
            if val_loss < best:
                best, bad_epochs = val_loss, 0
            else:
                bad_epochs += 1
            if bad_epochs == 3:
                break
        """,
        after="""
            def on_validation_epoch_end(self):
        ...
                if self.trainer.state.fn == "fit" and not self.trainer.sanity_checking:
                    # the rest of the training epoch, which reads this validation's results
                    if self.val_loss < self.best:
                        self.best, self.bad_epochs = self.val_loss, 0
                    else:
                        self.bad_epochs += 1
                    if self.bad_epochs == 3:
                        self.trainer.should_stop = True
        """,
    )
    State = EarlyStoppingState

    def reshape(self, site: TrainingSite, index: SourceIndex) -> None:
        epoch = _epoch_body(site)
        if epoch is None:
            return
        train = site.train
        moved = [*train.end, *train.step, *train.batch_end, *site.after_validation]
        last = [item for item in moved if item.node is epoch.body.body[-1]]
        for item in last:
            if item.origin.params:
                continue  # the break of an inlined function's loop
            for node in find(item.node, cst.Break):
                if _ends_the_epoch(index, item, node):
                    site.state(self).breaks.append(node)
                    site.exits.add(node)

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        stop = cst.Assign([cst.AssignTarget(expr("self.trainer.should_stop"))], cst.Name("True"))
        for node in site.state(self).breaks:
            out.replacements[node] = lambda _updated, stop=stop: stop

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        for node in site.state(self).breaks:
            report.change("early stopping", index.line(node), "break -> trainer.should_stop")


def _epoch_body(site: TrainingSite) -> cst.For | None:
    """The loop whose round is an epoch: the epoch loop, or a full-batch loop (`for t in
    range(N):`, one step a round), whose last statement Lightning runs at the epoch's end too."""
    if site.epoch is None:
        return None
    if site.epoch.loop is not None:
        return site.epoch.loop
    loop = site.batch_loop
    full_batch = isinstance(loop.target, cst.Name) and loop.target.value == site.epoch.var
    return loop if full_batch else None


def _ends_the_epoch(index: SourceIndex, item: Moved, node: cst.Break) -> bool:
    """The break leaves the epoch loop (no loop or function of its own in between), and each
    statement on its way up is the last of its block."""
    current: cst.CSTNode = node
    while current is not item.node:
        parent = index.parent(current)
        if isinstance(parent, (cst.For, cst.While, cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return False
        siblings = getattr(parent, "body", None)
        if isinstance(siblings, (list, tuple)) and siblings[-1] is not current:
            return False
        current = parent
    return not isinstance(item.node, (cst.For, cst.While))


PATTERN = EarlyStopping()
