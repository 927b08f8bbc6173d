"""`optimizer.zero_grad()` and `optimizer.step()` in the batch loop: the Trainer calls both for
each batch (automatic optimization), and `configure_optimizers` returns the optimizer.

Lightning runs the whole `training_step` before `backward()`, then steps: the original must
zero, compute, call backward and step in that order, once per batch, or the conversion trains
differently; anything else is manual optimization (`manual_optimization`).
"""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import bound_names, optimizer_names
from converter.analysis.index import SourceIndex
from converter.analysis.site import Claim, Declined, Hook, Moved, Place, Role, TrainingSite
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import ClaimContext, Example, Pattern, method_call


class ZeroGrad(Pattern):
    name = "zero-grad"
    example = Example(
        shape="`optimizer.zero_grad()` in the batch loop",
        becomes="removed: the Trainer zeroes the gradients before each step",
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
        """,
        after="""
            def training_step(self, batch, batch_idx):
                x, y = batch
                loss = nn.functional.mse_loss(self.model(x), y)
                self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
                return loss
        """,
    )

    def claim(self, statement: cst.BaseStatement, ctx: ClaimContext) -> bool:
        found = method_call(statement)
        if found is None or found[1] != "zero_grad":
            return False
        receiver, _, call = found
        if not (ctx.is_optimizer(receiver) or ctx.is_model(receiver)):
            return False
        if ctx.hook is Hook.ON_TRAIN_EPOCH_START and not call.args:
            # Zeroing before the epoch's batch loop, which zeroes before each backward itself
            # (the step checks require it): nothing is left to zero then, Lightning neither.
            ctx.record(Claim.ZERO_GRAD, statement)
            return True
        if ctx.place is not Place.BATCH:
            return False
        for arg in call.args:
            # Lightning zeroes with set_to_none=True, torch's default since 2.0.
            if not m.matches(arg, m.Arg(keyword=m.Name("set_to_none"), value=m.Name("True"))):
                raise ctx.decline(
                    statement, "zero_grad(set_to_none=False) has no Lightning setting"
                )
        ctx.record(Claim.ZERO_GRAD, statement)
        return True


class OptimizerStep(Pattern):
    name = "optimizer-step"
    example = Example(
        shape="`optimizer = optim.X(model.parameters())`, `optimizer.step()` per batch",
        becomes="`configure_optimizers`; the Trainer steps it after each `training_step`",
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
        """,
        after="""
            def configure_optimizers(self):
                optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
                return optimizer
        ...
        lit_model = LitLinear(model)
        trainer = pl.Trainer(max_epochs=3)
        trainer.fit(lit_model, train_dataloaders=loader)
        """,
    )

    def reshape(self, site: TrainingSite, index: SourceIndex) -> None:
        """What the loop does after the step and that looks at the model (evaluating it,
        reading its weights or gradients) runs in on_train_batch_end, after Lightning's step;
        the rest of the batch's code stays in training_step."""
        if site.manual:
            return
        train = site.train
        steps = [i for i, item in enumerate(train.step) if _is_step(site, index, item)]
        if len(steps) != 1:
            return  # the step checks decline it
        after = train.step[steps[0] + 1 :]
        first = next((i for i, item in enumerate(after) if _observes(site, item)), None)
        if first is None:
            return
        tail = after[first:]
        train.batch_end += [item for item in tail if not _optimization_call(site, item)]
        train.step[:] = [item for item in train.step if item not in train.batch_end]

    def claim(self, statement: cst.BaseStatement, ctx: ClaimContext) -> bool:
        found = method_call(statement)
        if found is None or found[1] != "step" or not ctx.is_optimizer(found[0]):
            return False
        if ctx.place is not Place.BATCH:
            raise ctx.decline(statement, "the optimizer is stepped outside the batch loop")
        if found[2].args:
            raise ctx.decline(statement, "optimizer.step(closure) needs manual optimization")
        ctx.record(Claim.STEP, statement)
        return True

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        if site.manual:
            return
        _check_step_order(site, index)
        _check_nothing_left(site, index)

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        for moved in site.setup:
            for target in bound_names(moved.node):
                if site.role_of(target) is Role.OPTIMIZER:  # schedulers report their own
                    report.find("optimizer", index.line(moved.node), f"optimizer `{target}`")


_GRADIENTS = m.Attribute(attr=m.Name("grad") | m.Name("parameters") | m.Name("named_parameters"))
_OPTIMIZATION = ("zero_grad", "step", "update")


def _is_step(site: TrainingSite, index: SourceIndex, item) -> bool:
    found = method_call(item.node)
    if found is None or found[1] != "step":
        return False
    receiver = item.origin.site_name(found[0])
    if receiver in site.optimizer_vars:
        return True
    stepped = found[2].args[0].value if len(found[2].args) == 1 else None  # scaler.step(opt)
    return site.role_of(receiver) is None and item.origin.site_name(stepped) in site.optimizer_vars


def _observes(site: TrainingSite, item) -> bool:
    """Whether a statement looks at the model or its gradients."""
    return bool(find(item.node, cst.Attribute, _GRADIENTS)) or any(
        item.origin.site_name(name) in site.model_vars for name in find(item.node, cst.Name)
    )


def _optimization_call(site: TrainingSite, item) -> bool:
    """`optimizer.zero_grad()`, `scheduler.step()`, `scaler.update()`: claimed, never printed."""
    found = method_call(item.node)
    return found is not None and found[1] in _OPTIMIZATION and not _observes(site, item)


def _check_step_order(site: TrainingSite, index: SourceIndex) -> None:
    body = site.batch_body
    decline = lambda node, message: Declined(index.line(node), message)  # noqa: E731
    claimed = {what: site.claimed(Hook.TRAINING_STEP, what) for what in Claim}
    if not claimed[Claim.BACKWARD]:
        _check_nothing_left(site, index)  # names where backward() is
    if not claimed[Claim.ZERO_GRAD]:
        raise decline(
            site.batch_loop, "gradients are never zeroed in the batch loop (accumulation)"
        )
    if len(claimed[Claim.STEP]) != 1 or len(claimed[Claim.ZERO_GRAD]) != 1:
        raise decline(
            site.batch_loop, "the batch loop steps or zeroes the optimizer more than once"
        )
    backward, step, zero = (
        body.index(claimed[what][0]) for what in (Claim.BACKWARD, Claim.STEP, Claim.ZERO_GRAD)
    )
    if not backward < step or backward < zero < step:
        raise decline(site.batch_loop, "backward(), zero_grad() and step() are in an unusual order")
    # Code between backward and step may move up, as long as it does not look at gradients.
    gradients = _GRADIENTS
    claimed_statements = {s for statements in claimed.values() for s in statements}
    for statement in body[backward + 1 : step]:
        if statement not in claimed_statements and find(statement, cst.Attribute, gradients):
            raise decline(statement, "code between backward() and step() reads gradients")
    # Lightning steps after the whole training_step: code after the step that looks at the
    # model or its gradients would see them before the step (reshape moved such code to
    # on_train_batch_end; this is what could not go there).
    for statement in body[step + 1 :]:
        if statement not in claimed_statements and _observes(
            site, Moved(statement, site.loop_origin)
        ):
            raise decline(
                statement,
                "code after optimizer.step() looks at the model (Lightning runs the whole "
                "training_step before the step)",
            )


def _check_nothing_left(site: TrainingSite, index: SourceIndex) -> None:
    """Optimization calls that no pattern claimed (nested in an `if`, a second optimizer...)
    would run inside a hook: Lightning would then train differently."""
    optimizers = optimizer_names(index, site.site_scope) | {site.optimizer_var}
    calls = m.Call(func=m.Attribute(attr=m.Name("backward") | m.Name("zero_grad") | m.Name("step")))
    claimed = {s for statements in site.claims.values() for s in statements}
    for moved in site.all_moved()[len(site.setup) :]:
        if moved.node in claimed:  # kept in place by the pattern that claimed it, to rewrite
            continue
        for call in find(moved.node, cst.Call, calls):
            method = call.func.attr.value
            receiver = moved.origin.site_name(call.func.value)
            if method != "step" or receiver in optimizers:
                raise Declined(
                    index.line(call),
                    f"{method}() inside other statements of the loop (manual optimization)",
                )


ZERO_GRAD = ZeroGrad()
STEP = OptimizerStep()
