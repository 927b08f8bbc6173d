"""Manual optimization, for loops the automatic one cannot express: several optimizers (GANs),
`optimizer.step(closure)` (LBFGS), steps inside an `if` (gradient accumulation by hand).

The loop's own zero_grad/backward/step calls stay, in training_step: `self.automatic_optimization
= False`, the optimizers from `self.optimizers()`, and `loss.backward()` -> `self.manual_backward
(loss)` (which scales under mixed precision and syncs gradients under DDP). Accumulation stays
manual on purpose: Lightning's `accumulate_grad_batches` also steps on the last, incomplete
window of an epoch, which an `if (i + 1) % k == 0: step()` loop does not.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis.bindings import method_call
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined, Hook, TrainingSite
from converter.analysis.torch_api import BACKWARD_CALL
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import expr, fill


class ManualOptimization(Pattern):
    name = "manual-optimization"
    example = Example(
        shape="steps under an `if` (accumulation by hand), two optimizers (GANs), LBFGS closures",
        becomes="manual optimization: `automatic_optimization = False`, `self.manual_backward`",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            for i, (x, y) in enumerate(loader):
                loss = nn.functional.mse_loss(model(x), y) / 4
                loss.backward()
                if (i + 1) % 4 == 0:
                    optimizer.step()
                    optimizer.zero_grad()
        """,
        after="""
                self.automatic_optimization = False  # the loop steps its optimizers by hand
        ...
            def training_step(self, batch, batch_idx):
                optimizer = self.optimizers()
                x, y = batch
                loss = nn.functional.mse_loss(self.model(x), y) / 4
                self.manual_backward(loss)
                self.log("loss", loss, prog_bar=True)
                if (batch_idx + 1) % 4 == 0:
                    optimizer.step()
                    optimizer.zero_grad()
        """,  # noqa: E501
    )

    def bind(self, site: TrainingSite, index: SourceIndex) -> None:
        site.manual = len(site.optimizer_vars) > 1 or bool(site.hand_steps)

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        cls = site.model.cls
        if site.manual and cls is not None and cls.method("__init__") is None:
            raise Declined(
                index.line(cls.node),
                f"{cls.name} has no __init__ to switch off automatic optimization",
            )

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        if not site.manual:
            return
        out.init_statements += fill("manual_optimization")
        names = site.optimizer_vars
        target = (
            cst.Name(names[0])
            if len(names) == 1
            else cst.Tuple([cst.Element(cst.Name(n)) for n in names], lpar=[], rpar=[])
        )
        binding = cst.Assign([cst.AssignTarget(target)], expr("self.optimizers()"))
        out.hook_openings.setdefault(Hook.TRAINING_STEP, []).append(
            cst.SimpleStatementLine([binding])
        )
        for item in site.train.step:
            for call in find(item.node, cst.Call, BACKWARD_CALL):
                out.replacements[call] = lambda updated: updated.with_changes(
                    func=expr("self.manual_backward"),
                    args=[cst.Arg(updated.func.value), *updated.args],
                )
            loss = _logged_loss(item.node)
            if loss is not None:  # on the progress bar, as automatic optimization's loss is
                out.replacements[item.node] = lambda u, loss=loss: cst.FlattenSentinel(
                    [u, _log(loss, u)]
                )

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        if site.manual:
            report.change("optimization", index.line(site.train.loop), "manual optimization")
        if site.manual and len(site.models) > 1:
            # DDP expects each backward to reach every parameter (find_unused_parameters=False)
            report.find(
                "optimization",
                index.line(site.train.loop),
                "on several processes, give the Trainer "
                'strategy="ddp_find_unused_parameters_true": each backward reaches only some '
                "of the models' parameters, which Lightning's default DDP stops at",
            )


def _log(name: str, statement: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
    """`self.log("loss", <the loss as the hook names it>)` after `self.manual_backward(...)`."""
    value = statement.body[0].value.args[0].value
    while isinstance(value, cst.BinaryOperation):
        value = value.left
    value = value.with_changes(lpar=[], rpar=[]) if hasattr(value, "lpar") else value
    return cst.SimpleStatementLine(
        [
            cst.Expr(
                cst.Call(
                    expr("self.log"),
                    [
                        cst.Arg(cst.SimpleString(f'"{name}"')),
                        cst.Arg(value),
                        cst.Arg(cst.Name("True"), keyword=cst.Name("prog_bar"), equal=_TIGHT),
                    ],
                )
            )
        ]
    )


_TIGHT = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


def _logged_loss(statement: cst.BaseStatement) -> str | None:
    """`d_loss` in a statement `d_loss.backward()` (or `(loss / k).backward()`)."""
    found = method_call(statement)
    if found is None or found[1] != "backward":
        return None
    receiver = found[0]
    while isinstance(receiver, cst.BinaryOperation):
        receiver = receiver.left
    return receiver.value if isinstance(receiver, cst.Name) else None


PATTERN = ManualOptimization()
