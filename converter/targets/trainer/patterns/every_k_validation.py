"""`if (i + 1) % k == 0: evaluate(...)` as the batch loop's last step: validation with
`Trainer(val_check_interval=k)`, which validates after the same batches (and Lightning switches
back to train mode after it, as the loop's own `model.train()` did)."""

from __future__ import annotations

from dataclasses import dataclass

from converter.analysis.bindings import every_k_batches
from converter.analysis.index import SourceIndex
from converter.analysis.loops import is_mode_switch
from converter.analysis.regions import RegionFinder
from converter.analysis.site import Claim, Declined, Hook, StageName, TrainingSite
from converter.targets.trainer.patterns.base import Emission, Example, Pattern, TrainerOption


@dataclass
class EveryKState:
    interval: TrainerOption | None = None
    line: int = 0


class EvaluationEveryKBatches(Pattern):
    name = "every-k-validation"
    example = Example(
        shape="`if (i + 1) % k == 0: evaluate(model, val_loader)` in the batch loop",
        becomes="validation every k batches: `Trainer(val_check_interval=k)`",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        val_loader = DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)))


        def evaluate(model, loader):
            model.eval()
            with torch.no_grad():
                loss = sum(nn.functional.mse_loss(model(x), y).item() for x, y in loader)
            print(f"validation loss {loss:.4f}")
            model.train()


        for epoch in range(3):
            for i, (x, y) in enumerate(loader):
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
                if (i + 1) % 4 == 0:
                    evaluate(model, val_loader)
        """,
        after="""
        trainer = pl.Trainer(max_epochs=3)
        trainer.fit(lit_model, train_dataloaders=loader)
        """,
    )
    State = EveryKState

    def reshape(self, site: TrainingSite, index: SourceIndex) -> None:
        train = site.train
        if train.index_start is not None:
            return
        regions = RegionFinder(index, site)
        for item in list(train.step):
            statement = item.node
            k = every_k_batches(statement, train.index_name)
            if k is None or statement.orelse is not None:
                continue
            region = regions.find(list(statement.body.body), item.origin)
            if region is None:
                continue
            rest = statement.body.body[: region.first] + statement.body.body[region.last + 1 :]
            if any(not is_mode_switch(s, site.model_vars, "train") for s in rest):
                raise Declined(
                    index.line(statement),
                    "other code runs with the evaluation inside the batch loop",
                )
            if train.step[-1] is not item:
                raise Declined(
                    index.line(statement),
                    "the evaluation inside the batch loop is not its last step",
                )
            if StageName.VALIDATION in site.stages:
                raise Declined(
                    index.line(site.stages[StageName.VALIDATION].loop),
                    "evaluations both inside and after the batch loop",
                )
            site.stages[StageName.VALIDATION] = region.stage(index, StageName.VALIDATION)
            if region.function is not None:
                site.deleted_functions.append(region.function)
            state = site.state(self)
            state.interval, state.line = TrainerOption(k, item.origin), index.line(statement)
            train.step.remove(item)
            for switch in rest:  # `model.train()` after the evaluation: Lightning does it
                site.claim(Hook.TRAINING_STEP, Claim.MODE_TRAIN, switch)
            return

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        interval = site.state(self).interval
        if interval is not None:
            out.trainer_options["val_check_interval"] = interval

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        if state.interval is not None:
            report.change(
                "validation", state.line, "evaluation every k batches -> val_check_interval"
            )


PATTERN = EvaluationEveryKBatches()
