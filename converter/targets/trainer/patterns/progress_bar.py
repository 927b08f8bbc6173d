"""A tqdm progress bar held in a variable (`train_bar = tqdm(train_loader, file=sys.stdout)`,
`for data in train_bar:`, `train_bar.desc = f"epoch {epoch} loss {loss:.3f}"`): the loop iterates
the loader (see `loops.without_progress_bar`), and the statements that only make or update the
bar go: Lightning draws its own progress bar, with the logged loss on it. (A bar's `write()`
prints, so it is not a bar-only statement.)"""

from __future__ import annotations

import libcst as cst

from converter.analysis.bindings import assigned_value, bindings, call_statement
from converter.analysis.loops import is_progress_bar_call, progress_bar_of
from converter.targets.trainer.patterns.base import ClaimContext, Example, Pattern

_DRAWING_ONLY = frozenset(
    "set_description set_description_str set_postfix set_postfix_str update refresh close".split()
)


class HeldProgressBar(Pattern):
    name = "progress-bar"
    example = Example(
        shape="a `tqdm` bar held in a variable, `bar.set_postfix(...)`",
        becomes="the bar's calls dropped: Lightning draws its own bar, with the logged loss",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset
        from tqdm import tqdm

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            bar = tqdm(loader)
            for x, y in bar:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
                bar.set_postfix(loss=loss.item())
        """,
        after="""
            def training_step(self, batch, batch_idx):
                x, y = batch
                loss = nn.functional.mse_loss(self.model(x), y)
                self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
                return loss
        """,
    )
    claims_under_manual = True

    def claim(self, statement: cst.BaseStatement, ctx: ClaimContext) -> bool:
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return False
        small = statement.body[0]
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, cst.Name) and is_progress_bar_call(ctx.index, small.value):
                return _bar(ctx, target) or _only_bars(ctx, target)  # bar = tqdm(loader)
            if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
                return _bar(ctx, target.value)  # bar.desc = "..."
            return False
        call = call_statement(statement)
        if call is None or not isinstance(call.func, cst.Attribute):
            return False
        if not isinstance(call.func.value, cst.Name):
            return False
        method = call.func.attr.value
        if method == "write" and _bar(ctx, call.func.value):
            raise ctx.decline(
                statement,
                f"`{call.func.value.value}.write(...)` prints through the progress bar the "
                "conversion removes (Lightning draws its own): print with print(...) instead",
            )
        if method not in _DRAWING_ONLY:
            return False
        return _bar(ctx, call.func.value)  # bar.set_postfix(loss=...)


def _bar(ctx: ClaimContext, name: cst.Name) -> bool:
    return progress_bar_of(ctx.index, ctx.origin.scope, name.value, at=name) is not None


def _only_bars(ctx: ClaimContext, name: cst.Name) -> bool:
    """Every binding of the name is a bar (a training function copied in for each of its calls
    binds its bar in each copy)."""
    found = bindings(ctx.index, ctx.origin.scope, name.value)
    return bool(found) and all(
        is_progress_bar_call(ctx.index, assigned_value(s, name.value)) for s in found
    )


PATTERN = HeldProgressBar()
