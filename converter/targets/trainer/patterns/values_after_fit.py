"""Values the loop set and the script reads after training (`print("best acc:", best_acc)`, the
last `loss`, a test loop's `total_correct`): the hooks keep them on the module (`self.best_acc`),
and the site takes them back right after fit, or after test for what the test hooks set:
`best_acc = lit_model.best_acc`. The code after training then runs unchanged, on the values the
last hooks left, as the original's ran on the values its last round left."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.site import TrainingSite
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import expr


@dataclass
class HandedBack:
    names: list[str] = field(default_factory=list)
    module: str = ""
    line: int = 0


class ValuesAfterFit(Pattern):
    name = "values-after-fit"
    example = Example(
        shape="values the loop sets and the script reads after training (the last `loss`)",
        becomes="kept on the module and handed back after fit: `loss = lit_model.loss`",
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
        print(f"last loss {loss.item():.4f}")
        """,
        after="""
            def training_step(self, batch, batch_idx):
                x, y = batch
                self.loss = nn.functional.mse_loss(self.model(x), y)
                self.log("train_loss", self.loss, prog_bar=True, on_epoch=True, sync_dist=True)
                return self.loss
        ...
        trainer.fit(lit_model, train_dataloaders=loader)
        loss = lit_model.loss
        print(f"last loss {loss.item():.4f}")
        """,
    )
    State = HandedBack

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        state = site.state(self)
        state.names = list(dict.fromkeys(flow.read_after + flow.read_after_test))
        state.module, state.line = out.module, index.line(site.outer_loop)
        out.after_fit += _hand_back(flow.read_after, flow, out.module)
        out.after_test += _hand_back(flow.read_after_test, flow, out.module)

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        if state.names:
            names = ", ".join(f"`{n}`" for n in state.names)
            report.change(
                "values", state.line, f"{names} read after training: {state.module}'s, handed back"
            )


def _hand_back(names: list[str], flow, module: str) -> list[cst.BaseStatement]:
    """`best_acc, best_epoch = lit_model.best_acc, lit_model.best_epoch`"""
    if not names:
        return []
    targets = ", ".join(names)
    values = ", ".join(f"{module}.{flow.attr(n)}" for n in names)
    return [cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(expr(targets))], expr(values))])]


PATTERN = ValuesAfterFit()
