"""`model = nn.DataParallel(model)` (often under `if torch.cuda.device_count() > 1:`): the
Trainer spreads the work over the devices itself, so the wrapper goes. Where the script applied
it, its `model.state_dict()` keys began with `module.`; the conversion's keep the model's own."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis.bindings import assigned_call, bindings
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined, TrainingSite
from converter.targets.trainer.patterns.base import Example, Pattern

DATA_PARALLEL = ("torch.nn.DataParallel", "torch.nn.parallel.DataParallel")


@dataclass
class DataParallelState:
    removed: list[cst.BaseStatement] = field(default_factory=list)


class DataParallel(Pattern):
    name = "data-parallel"
    example = Example(
        shape="`model = nn.DataParallel(model)`",
        becomes="removed: the Trainer's `devices` run the model on every GPU",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        model = nn.DataParallel(model)
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
        """,
        after="""
        model = nn.Linear(4, 1)
        ...
        lit_model = LitLinear(model)
        trainer = pl.Trainer(max_epochs=3)
        trainer.fit(lit_model, train_dataloaders=loader)
        """,
    )
    State = DataParallelState

    def wraps_model(self, call: cst.Call, index: SourceIndex) -> bool:
        return index.resolves_to(call.func, *DATA_PARALLEL)

    def bind(self, site: TrainingSite, index: SourceIndex) -> None:
        for model in site.models:
            for statement in bindings(index, site.site_scope, model.var):
                call = assigned_call(statement, model.var)
                if call is None or not self.wraps_model(call, index):
                    continue
                wrapped = call.args[0].value if call.args else None
                if not (isinstance(wrapped, cst.Name) and wrapped.value == model.var):
                    raise Declined(index.line(statement), "DataParallel around something else")
                site.removed.append(statement)
                site.state(self).removed.append(statement)

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        for statement in site.state(self).removed:
            report.change("devices", index.line(statement), "DataParallel -> the Trainer's devices")


PATTERN = DataParallel()
