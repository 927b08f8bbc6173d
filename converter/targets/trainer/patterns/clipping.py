"""`clip_grad_norm_(model.parameters(), v)` / `clip_grad_value_(...)` between backward and step:
`Trainer(gradient_clip_val=v[, gradient_clip_algorithm="value"])`, which clips at the same point
(after backward, and after unscaling under mixed precision, before the optimizer steps)."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis.bindings import code
from converter.analysis.index import SourceIndex
from converter.analysis.site import Claim, Declined, Hook, TrainingSite
from converter.targets.trainer.patterns.base import (
    ClaimContext,
    Emission,
    Example,
    Pattern,
    TrainerOption,
    call_statement,
)

_ALGORITHMS = {"clip_grad_norm_": "norm", "clip_grad_value_": "value"}


@dataclass
class ClippingState:
    options: dict[str, TrainerOption] = field(default_factory=dict)
    line: int = 0


class GradientClipping(Pattern):
    name = "gradient-clipping"
    example = Example(
        shape="`clip_grad_norm_(model.parameters(), v)` between backward and step",
        becomes="`Trainer(gradient_clip_val=v)`",
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
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
        """,
        after="""
        trainer = pl.Trainer(max_epochs=3, gradient_clip_val=1.0)
        """,
    )
    State = ClippingState

    def claim(self, statement: cst.BaseStatement, ctx: ClaimContext) -> bool:
        call = call_statement(statement)
        if call is None:
            return False
        algorithm = next(
            (
                a
                for f, a in _ALGORITHMS.items()
                if ctx.index.resolves_to(call.func, f"torch.nn.utils.{f}")
            ),
            None,
        )
        if algorithm is None:
            return False
        params = call.args[0].value if call.args else None
        whole_model = (
            isinstance(params, cst.Call)
            and isinstance(params.func, cst.Attribute)
            and params.func.attr.value == "parameters"
            and ctx.is_model(params.func.value)
        )
        plain_value = len(call.args) == 2 and (
            call.args[1].keyword is None or call.args[1].keyword.value in ("max_norm", "clip_value")
        )
        if not (whole_model and plain_value):
            raise ctx.decline(
                statement, "gradient clipping over part of the model, or with options"
            )
        ctx.record(Claim.CLIP, statement)
        state = ctx.site.state(self)
        state.line = ctx.index.line(statement)
        state.options["gradient_clip_val"] = TrainerOption(call.args[1].value, ctx.origin)
        if algorithm == "value":
            state.options["gradient_clip_algorithm"] = TrainerOption(cst.SimpleString('"value"'))
        return True

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        clips = [s for hook in Hook for s in site.claimed(hook, Claim.CLIP)]
        if not clips or site.manual:
            return
        body = site.batch_body
        backward = site.claimed(Hook.TRAINING_STEP, Claim.BACKWARD)
        step = site.claimed(Hook.TRAINING_STEP, Claim.STEP)
        for clip in clips:
            if not (
                clip in body
                and backward
                and step
                and body.index(backward[0]) < body.index(clip) < body.index(step[0])
            ):
                raise Declined(index.line(clip), "gradient clipping outside backward() and step()")

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        out.trainer_options.update(site.state(self).options)

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        if state.options:
            settings = ", ".join(f"{k}={code(o.value)}" for k, o in state.options.items())
            report.change("clipping", state.line, f"gradient clipping -> Trainer({settings})")


PATTERN = GradientClipping()
