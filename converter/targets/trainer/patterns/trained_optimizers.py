"""The optimizers and schedulers read after training (`torch.save({"optimizer":
optimizer.state_dict()})`): they were created in configure_optimizers, so after fit they are the
trainer's: `trainer.optimizers[0]`, `trainer.lr_scheduler_configs[0].scheduler`."""

from __future__ import annotations

from converter.analysis.index import SourceIndex
from converter.analysis.site import Role, TrainingSite
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import expr


class TrainedOptimizers(Pattern):
    name = "trained-optimizers"
    example = Example(
        shape="the optimizer read after training (`optimizer.state_dict()`)",
        becomes="the trainer's: `trainer.optimizers[0]`",
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
        torch.save(optimizer.state_dict(), "optimizer.pt")
        """,
        after="""
        trainer.fit(lit_model, train_dataloaders=loader)
        if trainer.is_global_zero:
            torch.save(trainer.optimizers[0].state_dict(), "optimizer.pt")
        """,
    )

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        optimizers, schedulers = site.optimizer_vars, site.names(Role.SCHEDULER)
        for node in site.read_after:
            if node.value in optimizers:
                where = f"{out.trainer}.optimizers[{optimizers.index(node.value)}]"
            else:
                position = schedulers.index(node.value)
                where = f"{out.trainer}.lr_scheduler_configs[{position}].scheduler"
            out.site_values[node] = expr(where)

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        for node in site.read_after:
            report.change("optimizer", index.line(node), f"`{node.value}` after fit: the trainer's")


PATTERN = TrainedOptimizers()
