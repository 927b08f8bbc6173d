"""The script's own device choice decides where Lightning trains: a script that computes
`device = torch.device("cuda" if use_cuda else "cpu")` (after `--no-cuda`, say) gets
`Trainer(accelerator=torch.device(device).type)`, "cuda", "cpu" or "mps" as the script chose at
run time, rather than Lightning's "auto". A script that never chooses keeps "auto" (and its
`--accelerator` flag, where it has argparse)."""

from __future__ import annotations

from converter.analysis.index import SourceIndex
from converter.analysis.site import Role, TrainingSite
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import expr


class DeviceChoice(Pattern):
    name = "device-choice"
    example = Example(
        shape='the script\'s device choice, `torch.device("cuda" if ... else "cpu")`',
        becomes="`Trainer(accelerator=torch.device(device).type)`",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        model = nn.Linear(4, 1).to(device)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            for x, y in loader:
                x, y = x.to(device), y.to(device)
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
        """,
        after="""
        model = nn.Linear(4, 1)
        ...
        trainer = pl.Trainer(max_epochs=3, accelerator=torch.device(device).type)
        trainer.fit(lit_model, train_dataloaders=loader)
        """,
    )

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        choice = _visible_device(site, index, out)
        if choice is not None:
            out.option("accelerator", expr(f"torch.device({choice}).type"))
            out.imports.add("torch")


def _visible_device(site: TrainingSite, index: SourceIndex, out: Emission) -> str | None:
    """A device variable that stays bound where the Trainer is created."""
    removed = set(map(id, site.removed + out.site_removals))
    for name in site.names(Role.DEVICE):
        for scope in (site.site_scope, index.body_scope(None)):
            statements = [
                index.enclosing_statement(a.node)
                for a in scope.assignments[name]
                if a.scope is scope
            ]
            if statements and not any(
                id(s) in removed
                or _in_training_loop(site, index, s)
                or _after_training(site, index, scope, s)
                for s in statements
            ):
                return name
    return None


def _in_training_loop(site: TrainingSite, index: SourceIndex, statement) -> bool:
    """Bound inside the loop the Trainer replaces (`gpu = torch.device("cuda:0")` in a hook)."""
    return statement is site.outer_loop or any(
        a is site.outer_loop for a in index.ancestors(statement)
    )


def _after_training(site: TrainingSite, index: SourceIndex, scope, statement) -> bool:
    """Bound in the training's own scope, but below it (a tutorial's later GPU section): the
    Trainer, created where the loop was, could not read it yet."""
    return scope is site.site_scope and index.order(statement) > index.order(site.outer_loop)


PATTERN = DeviceChoice()
