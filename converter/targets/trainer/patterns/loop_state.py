"""The script's own state across epochs (a patience counter, the best value so far, set before
the epoch loop) lives on the module, set in `__init__`, and goes into every checkpoint
(`on_save_checkpoint` / `on_load_checkpoint`): a run resumed with `trainer.fit(...,
ckpt_path=...)` goes on from it instead of starting over (Lightning restores a checkpoint before
`on_fit_start`, so the state cannot be set there)."""

from __future__ import annotations

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.site import TrainingSite
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import expr, fill

KEY = "loop_state"


class LoopState(Pattern):
    name = "loop-state"
    example = Example(
        shape="values carried across epochs (the best loss, a patience counter)",
        becomes="set in `__init__` and saved in checkpoints: `fit(ckpt_path=...)` resumes them",
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
            def __init__(self, model):
                super().__init__()
                self.model = model
                self.bad_epochs = 0
                self.best = float("inf")
        ...
            def on_save_checkpoint(self, checkpoint):
                # the loop's own state across epochs, so that a resumed run goes on from it
                checkpoint["loop_state"] = {"bad_epochs": self.bad_epochs, "best": self.best}
        ...
            def on_load_checkpoint(self, checkpoint):
                self.bad_epochs = checkpoint["loop_state"]["bad_epochs"]
                self.best = checkpoint["loop_state"]["best"]
        """,  # noqa: E501
    )

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        # set where the script set them, just before training: `lit.prev_time = prev_time`
        out.late_settings += [(flow.attr(n), cst.Name(n)) for n in flow.handed]
        if not flow.fit_start:
            return
        out.init_statements += [
            cst.SimpleStatementLine(
                [cst.Assign([cst.AssignTarget(expr(f"self.{flow.attr(n)}"))], value)]
            )
            for n, value in flow.fit_start
        ]
        names = [n for n, _ in flow.fit_start]
        saved = cst.Dict(
            [
                cst.DictElement(cst.SimpleString(f'"{n}"'), expr(f"self.{flow.attr(n)}"))
                for n in names
            ]
        )
        restored = [
            cst.parse_statement(f'self.{flow.attr(n)} = checkpoint["{KEY}"]["{n}"]') for n in names
        ]
        out.methods += fill("save_loop_state", key=cst.SimpleString(f'"{KEY}"'), state=saved)
        out.methods += fill("load_loop_state", body=restored)


PATTERN = LoopState()
