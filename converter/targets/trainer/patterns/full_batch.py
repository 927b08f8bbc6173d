"""`for t in range(N): pred = model(x) ...` with no DataLoader: each round is an epoch of one
batch. The Trainer gets a one-batch DataLoader (with its own generator, so that it draws nothing
from the global random state) and `max_epochs=N`; training_step reads the tensors as the loop did.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from converter.analysis.bindings import epoch_range, is_range_loop
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined, EpochLoop, Moved, Role, Stage, StageName, TrainingSite
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import fill


@dataclass
class FullBatchState:
    loader: str | None = None  # the generated loader's name


class FullBatch(Pattern):
    name = "full-batch"
    example = Example(
        shape="`for t in range(N):` full-batch steps, no DataLoader",
        becomes="a one-batch DataLoader and `Trainer(max_epochs=N)`",
        before="""
        import torch
        from torch import nn

        x, y = torch.randn(64, 4), torch.randn(64, 1)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for t in range(100):
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
        """,
        after="""
            def training_step(self, batch, batch_idx):
                loss = nn.functional.mse_loss(self.model(x.to(self.device)), y.to(self.device))
                self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
                return loss
        ...
        step_loader = torch.utils.data.DataLoader([0], generator=torch.Generator())
        trainer = pl.Trainer(max_epochs=100)
        trainer.fit(lit_model, train_dataloaders=step_loader)
        """,
    )
    State = FullBatchState

    def build_train_stage(self, site: TrainingSite, index: SourceIndex, epoch_loop) -> bool:
        loop = site.batch_loop
        if not is_range_loop(loop) or epoch_loop is not None:
            return False  # inside an epoch loop, a range is the batches' offsets (item loader)
        if site.inlined:
            raise Declined(
                index.line(loop), "a step loop over range() inside another loop or function"
            )
        if not isinstance(loop.target, cst.Name):
            raise Declined(index.line(loop), "the step loop's variable is not a plain name")
        if loop.orelse is not None:
            raise Declined(index.line(loop), "the step loop has an else: block")
        start, max_epochs = epoch_range(index, loop)
        site.epoch = EpochLoop(loop.target.value, start, max_epochs)
        site.bind(loop.target.value, Role.EPOCH)
        loader = site.state(self).loader = index.fresh_name("step_loader")
        batch = cst.Name(index.fresh_name("batch"))  # the loop never reads it
        train = Stage(StageName.TRAIN, loop, site.loop_origin, cst.Name(loader), batch)
        train.step = [Moved(s, site.loop_origin) for s in loop.body.body]
        site.stages[StageName.TRAIN] = train
        return True

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        loader = site.state(self).loader
        if loader is not None:
            out.prelude += fill("step_loader", loader=cst.Name(loader))
            out.imports.add("torch")

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        if site.state(self).loader is not None:
            report.change(
                "loop", index.line(site.batch_loop), "full-batch steps -> a one-batch DataLoader"
            )


PATTERN = FullBatch()
