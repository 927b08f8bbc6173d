"""An evaluation that needs gradients (a saliency map by `torch.autograd.grad`, `.backward()` on
an input, `.requires_grad_()`, `torch.enable_grad()`).

Lightning validates and tests under `torch.inference_mode()` by default: tensors made there can
never take part in autograd, and `torch.enable_grad()` does not change that. With
`Trainer(inference_mode=False)` it evaluates under `torch.no_grad()` instead, where the script's
own `torch.enable_grad()` works as in the original. Where the original evaluation ran with
gradients on (no `no_grad` around its loop, no `enable_grad` of its own), they are switched on
for the whole evaluation run (`torch.set_grad_enabled(True)` as it starts; Lightning's
`no_grad` restores the mode when the run ends), as the original had them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import functions_called
from converter.analysis.index import SourceIndex
from converter.analysis.site import Hook, StageName, TrainingSite
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import fill

_NEEDS_GRAD = m.Call(
    func=m.Attribute(attr=m.Name("backward") | m.Name("requires_grad_") | m.Name("retain_grad"))
)
_GRAD_ON = ("torch.enable_grad", "torch.set_grad_enabled", "torch.autograd.grad_mode.enable_grad")
_NO_GRAD = ("torch.no_grad", "torch.inference_mode", "torch.autograd.grad_mode.no_grad")
_START = {
    StageName.VALIDATION: Hook.ON_VALIDATION_EPOCH_START,
    StageName.TEST: Hook.ON_TEST_EPOCH_START,
}

_ON = "# the original evaluated with gradients on (Lightning: no_grad, until the run ends)"


@dataclass
class GradientsState:
    stages: list[StageName] = field(default_factory=list)  # evaluations that need gradients
    switched_on: list[StageName] = field(default_factory=list)  # ... that ran with them on


class EvaluationGradients(Pattern):
    name = "evaluation-gradients"
    example = Example(
        shape="an evaluation that needs gradients (`requires_grad_()`, `torch.autograd.grad`)",
        becomes="`Trainer(inference_mode=False)`, and gradients on where the original had them",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        val_loader = DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)))
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
            for x, y in val_loader:
                x.requires_grad_()
                (saliency,) = torch.autograd.grad(model(x).sum(), x)
                print(saliency.abs().max().item())
        """,
        after="""
            def on_validation_epoch_start(self):
                # the original evaluated with gradients on (Lightning: no_grad, until the run ends)
                torch.set_grad_enabled(True)
        ...
        trainer = pl.Trainer(max_epochs=3, num_sanity_val_steps=0, inference_mode=False)
        """,
    )
    State = GradientsState

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        state = site.state(self)
        for name in (StageName.VALIDATION, StageName.TEST):
            stage = site.stages.get(name)
            if stage is None:
                continue
            nodes = [item.node for moved in stage.hooks().values() for item in moved]
            code = nodes + [f.body for f in functions_called(index, nodes)]
            calls = [c for node in code for c in find(node, cst.Call)]
            if not any(_needs_grad(index, call) for call in calls):
                continue
            state.stages.append(name)
            own = any(index.resolves_to(call.func, *_GRAD_ON) for call in calls)
            if not own and not _under_no_grad(index, stage.loop):
                state.switched_on.append(name)

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        state = site.state(self)
        if not state.stages:
            return
        out.option("inference_mode", cst.Name("False"))
        for name in state.switched_on:
            (on,) = fill("gradients_on")
            on = on.with_changes(leading_lines=[cst.EmptyLine(comment=cst.Comment(_ON))])
            out.hook_openings.setdefault(_START[name], []).append(on)
            out.imports.add("torch")

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        for name in state.stages:
            on = ", with gradients on" if name in state.switched_on else ""
            report.change(
                "evaluation",
                index.line(site.stages[name].loop),
                f"Trainer(inference_mode=False): the {name.value} computes gradients{on}",
            )


def _needs_grad(index: SourceIndex, call: cst.Call) -> bool:
    return (
        m.matches(call, _NEEDS_GRAD)
        or index.resolves_to(call.func, "torch.autograd.grad", "torch.autograd.functional")
        or index.resolves_to(call.func, *_GRAD_ON)
        or any(
            m.matches(a, m.Arg(keyword=m.Name("requires_grad"), value=m.Name("True")))
            for a in call.args
        )
    )


def _under_no_grad(index: SourceIndex, loop: cst.For) -> bool:
    """The original loop ran inside `with torch.no_grad():` or a function decorated with it."""
    for ancestor in index.ancestors(loop):
        if isinstance(ancestor, cst.With) and any(
            isinstance(item.item, cst.Call) and index.resolves_to(item.item.func, *_NO_GRAD)
            for item in ancestor.items
        ):
            return True
        if isinstance(ancestor, cst.FunctionDef):
            return any(
                index.resolves_to(
                    d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator,
                    *_NO_GRAD,
                )
                for d in ancestor.decorators
            )
    return False


PATTERN = EvaluationGradients()
