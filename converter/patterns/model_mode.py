"""`model.train()` / `model.eval()`: Lightning switches modes around each stage itself.

That is only the same when the original switched where Lightning does: a model whose layers
behave differently in the two modes (dropout, batch norm) must be evaluated in eval mode and
trained in train mode by the original too, or the conversion would compute something else.

A training stage that switches to eval mode itself (a full-batch step that then evaluates the
model, as graph-network scripts do, or an evaluation called at the end of each epoch) keeps all
its switches: Lightning puts the model back in train mode only after its own evaluation loops,
never before a step, so the script's `model.train()` must stay to undo that `eval()`.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from converter.analysis.bindings import functions_called
from converter.analysis.index import SourceIndex
from converter.analysis.loops import calls_model
from converter.analysis.models import is_mode_sensitive
from converter.analysis.site import Claim, Declined, StageName, TrainingSite
from converter.analysis.walk import find
from converter.patterns.base import ClaimContext, Example, Pattern, method_call


@dataclass
class ModeState:
    train_evaluates: bool | None = None  # does the training stage switch to eval mode itself?


_CLAIMS = {"train": Claim.MODE_TRAIN, "eval": Claim.MODE_EVAL}


class ModelMode(Pattern):
    name = "model-mode"
    example = Example(
        shape="`model.train()` / `model.eval()` around the loops",
        becomes="removed: Lightning switches modes around each stage",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.1), nn.Linear(8, 1))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        val_loader = DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)))
        for epoch in range(3):
            model.train()
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                for x, y in val_loader:
                    print(nn.functional.mse_loss(model(x), y).item())
        """,
        after="""
            def training_step(self, batch, batch_idx):
                x, y = batch
                loss = nn.functional.mse_loss(self.model(x), y)
                self.log("train_loss", loss, prog_bar=True)
                return loss
        ...
            def validation_step(self, batch, batch_idx):
                x, y = batch
                self.print(nn.functional.mse_loss(self.model(x), y).item())
        """,
    )
    claims_under_manual = True
    State = ModeState

    def claim(self, statement: cst.BaseStatement, ctx: ClaimContext) -> bool:
        found = method_call(statement)
        if found is None:
            return False
        receiver, method, call = found
        if method not in _CLAIMS or not ctx.is_model(receiver):
            return False
        if call.args and method == "train":
            return False  # model.train(False) is rare enough to leave to a person
        if ctx.stage is StageName.TRAIN and self._train_evaluates(ctx):
            return False  # kept as they are
        ctx.record(_CLAIMS[method], statement)
        return True

    def _train_evaluates(self, ctx: ClaimContext) -> bool:
        state = ctx.site.state(self)
        if state.train_evaluates is None:
            nodes = [item.node for moved in ctx.site.train.hooks().values() for item in moved]
            state.train_evaluates = any(
                _is_model_eval(call, item.origin, ctx.site.model_vars)
                for moved in ctx.site.train.hooks().values()
                for item in moved
                for call in find(item.node, cst.Call)
            ) or any(
                _switches_to_eval(call)
                for function in functions_called(ctx.index, nodes)
                for call in find(function.body, cst.Call)
            )
        return state.train_evaluates

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        if not any(is_mode_sensitive(m.cls, index, m.call) for m in site.models):
            return
        for stage in (StageName.VALIDATION, StageName.TEST):
            if stage in site.stages and not site.claimed_in(stage, Claim.MODE_EVAL):
                raise Declined(
                    index.line(site.stages[stage].loop),
                    "this evaluation runs the model in training mode (no model.eval()); "
                    "Lightning evaluates in eval mode, which changes dropout/batch norm",
                )
        if StageName.VALIDATION not in site.stages:
            return
        if any(
            calls_model(item.node, site.model_vars, item.origin)
            for item in site.train.end + site.before_validation
        ):
            raise Declined(
                index.line(site.batch_loop),
                "the epoch's own code runs the model after evaluation, in eval mode; in Lightning "
                "it would run in train mode",
            )
        restored = site.claimed_in(StageName.TRAIN, Claim.MODE_TRAIN) or site.claimed_in(
            StageName.VALIDATION, Claim.MODE_TRAIN
        )
        if not restored:
            raise Declined(
                index.line(site.batch_loop),
                "after the first evaluation the original trains in eval mode "
                "(no model.train() in the epoch); Lightning would train in train mode",
            )


def _is_model_eval(call: cst.Call, origin, model_vars) -> bool:
    func = call.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == "eval"
        and origin.site_name(func.value) in model_vars
    )


def _switches_to_eval(call: cst.Call) -> bool:
    """`something.eval()`: in a function of the script, whatever it switches is the model's."""
    func = call.func
    return isinstance(func, cst.Attribute) and func.attr.value == "eval" and not call.args


PATTERN = ModelMode()
