"""`model.train()` / `model.eval()`: Lightning switches modes around each stage itself.

That is only the same when the original switched where Lightning does: a model whose layers
behave differently in the two modes (dropout, batch norm) must be evaluated in eval mode and
trained in train mode by the original too, or the conversion would compute something else.

A training stage that switches to eval mode itself (a full-batch step that then evaluates the
model, as graph-network scripts do, or an evaluation called at the end of each epoch) keeps all
its switches: Lightning puts the model back in train mode only after its own evaluation loops,
never before a step, so the script's `model.train()` must stay to undo that `eval()`.

Lightning never switches to train mode when fit starts: its evaluation loops note the mode of
every submodule before evaluating and restore it after. So the training stage's `model.train()`
stays too where the model may be in eval mode when training starts (`model.eval()` before the
loop, for a forward pass that sizes a layer), and after `trainer.fit(...)` the model is in the
mode it had when training started, or that the training hooks left, where the original ends in
the mode its last evaluation left (eval, mostly): the conversion switches it there after fit,
and after `trainer.test(...)` as the original's test left it. Where that mode depends on a
condition the conversion does not reproduce, a mode-sensitive model is declined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis.bindings import block_of, functions_called
from converter.analysis.dataflow import statements_before
from converter.analysis.index import SourceIndex
from converter.analysis.loops import calls_model
from converter.analysis.models import is_mode_sensitive
from converter.analysis.modes import TRAIN, ModeFlow, Modes, Unknown, same
from converter.analysis.site import Claim, Declined, Moved, StageName, TrainingSite
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import (
    ClaimContext,
    Emission,
    Example,
    Pattern,
    method_call,
)
from converter.templating import fill


@dataclass
class ModeState:
    train_evaluates: bool | None = None  # does the training stage switch to eval mode itself?
    at_start: Modes | None = None  # each model's mode when training starts
    kept_train: list[cst.BaseStatement] = field(default_factory=list)  # train() left in hooks
    after_fit: list[tuple[str, str]] = field(default_factory=list)  # (model, mode) to switch to
    after_test: list[tuple[str, str]] = field(default_factory=list)


_CLAIMS = {"train": Claim.MODE_TRAIN, "eval": Claim.MODE_EVAL}


class ModelMode(Pattern):
    name = "model-mode"
    example = Example(
        shape="`model.train()` / `model.eval()` around the loops",
        becomes="removed: Lightning switches modes itself; after fit, the mode the loop left",
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
                self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
                return loss
        ...
            def validation_step(self, batch, batch_idx):
                x, y = batch
                self.print(nn.functional.mse_loss(self.model(x), y).item())
        ...
        trainer.fit(lit_model, train_dataloaders=loader, val_dataloaders=val_loader)
        model.eval()  # as the loop left it (Lightning restores the mode after evaluating)
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
        if ctx.stage is StageName.TRAIN and (
            self._train_evaluates(ctx) or not self._starts_in_train(ctx, receiver)
        ):
            if method == "train":
                ctx.site.state(self).kept_train.append(statement)
            return False  # kept as they are
        ctx.record(_CLAIMS[method], statement)
        return True

    def _starts_in_train(self, ctx: ClaimContext, receiver: cst.BaseExpression) -> bool:
        state = ctx.site.state(self)
        if state.at_start is None:
            state.at_start = _at_start(ctx.site, ctx.index)
        return state.at_start.get(ctx.site_name(receiver)) == TRAIN

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
        sensitive = any(is_mode_sensitive(m.cls, index, m.call) for m in site.models)
        state = site.state(self)
        if state.at_start is None:
            state.at_start = _at_start(site, index)
        if sensitive:
            self._check_evaluations(site, index)
        self._plan_after_training(site, index, sensitive)

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        state = site.state(self)
        for switches, where, template in (
            (state.after_fit, out.after_fit, "mode_after_fit"),
            (state.after_test, out.after_test, "mode_after_test"),
        ):
            for var, mode in switches:
                where += fill(template, model=cst.Name(var), mode=cst.Name(mode))

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        for switches, after, line in (
            (state.after_fit, "fit", index.line(site.outer_loop)),
            (state.after_test, "test", index.line(site.test_region[0]) if site.test_region else 0),
        ):
            for var, mode in switches:
                report.change(
                    "mode",
                    line,
                    f"`{var}.{mode}()` after {after}: the original leaves it in {mode} mode "
                    "(Lightning restores the mode each evaluation found)",
                )
        if state.kept_train:
            report.change(
                "mode",
                index.line(state.kept_train[0]),
                "`model.train()` kept in the training hooks: the model may be in eval mode "
                "when training starts, and Lightning does not switch it",
            )

    def _plan_after_training(self, site: TrainingSite, index: SourceIndex, sensitive: bool):
        state = site.state(self)
        modes = ModeFlow(index, site.model_vars)
        original = modes.run([_trained(site)], state.at_start, site.origin.site_name)
        converted = _lightning_fit(modes, site, state.at_start)
        state.after_fit = _switches(site, index, original, converted, sensitive, "fit")
        if not site.test_region:
            return
        trained, tested = index.order(_trained(site)), index.order(site.test_region[0])
        between = [
            s for s in block_of(index, site.test_region[0]) if trained < index.order(s) < tested
        ]
        before_test = modes.run(between, original, site.origin.site_name)
        tested = modes.run(site.test_region, before_test, site.origin.site_name)
        state.after_test = _switches(site, index, tested, before_test, sensitive, "test")

    def _check_evaluations(self, site: TrainingSite, index: SourceIndex) -> None:
        for stage in (StageName.VALIDATION, StageName.TEST):
            if stage in site.stages and not site.claimed_in(stage, Claim.MODE_EVAL):
                raise Declined(
                    index.line(site.stages[stage].loop),
                    "this evaluation runs the model in training mode (no model.eval()); "
                    "Lightning evaluates in eval mode, which changes dropout/batch norm",
                )
        if StageName.VALIDATION not in site.stages:
            return
        if any(calls_model(item.node, site.model_vars, item.origin) for item in site.train.end):
            raise Declined(
                index.line(site.batch_loop),
                "the epoch's own code runs the model after evaluation, in eval mode; in Lightning "
                "it would run in train mode",
            )
        state = site.state(self)
        if state.kept_train:
            return  # the training hooks switch to train mode themselves
        if any(mode != TRAIN for mode in state.at_start.values()) and site.claimed_in(
            StageName.VALIDATION, Claim.MODE_TRAIN
        ):
            raise Declined(
                index.line(site.batch_loop),
                "the model may be in eval mode when training starts, and only the evaluation "
                "switches it to train mode; Lightning would go on in the mode training started in",
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


def _at_start(site: TrainingSite, index: SourceIndex) -> Modes:
    """Each model's mode where training starts: train when built, then as the site's code
    between its creation and the training loop leaves it."""
    created = min(index.order(model.binding) for model in site.models)
    before = [
        s
        for s in statements_before(index, _trained(site))
        if index.order(s) > created
        and not any(model.binding in index.paths_to([s]) for model in site.models)
    ]
    fresh = {var: TRAIN for var in site.model_vars}
    return ModeFlow(index, site.model_vars).run(before, fresh, site.origin.site_name)


def _trained(site: TrainingSite) -> cst.BaseStatement:
    """The site statement that trains: the epoch loop, or the batch loop (or the call that
    runs it) alone."""
    return site.epoch.loop if site.epoch and site.epoch.loop else site.train_part


def _lightning_fit(modes: ModeFlow, site: TrainingSite, start: Modes) -> Modes:
    """The modes after `trainer.fit`: the training hooks' code in Lightning's order; what the
    evaluation hooks switch is undone after each evaluation."""
    train = site.train

    def run(moved: list[Moved], current: Modes) -> Modes:
        for item in moved:
            current = modes.run([item.node], current, item.origin.site_name)
        return current

    def epoch(current: Modes) -> Modes:
        current = run(train.start, current)
        current = modes.repeat(
            lambda batch: run(train.batch_end, run(train.step, batch)), current, site.batch_loop
        )
        return run(train.end + train.after_lr_step, current)

    if site.epoch is not None and site.epoch.loop is not None:
        return modes.repeat(epoch, start, site.epoch.loop)
    return epoch(start)


def _switches(site, index, original: Modes, converted: Modes, sensitive: bool, after: str):
    """(model, mode) for each model the conversion leaves in another mode than the original."""
    found = []
    for model in site.models:
        wanted = original[model.var]
        if same(wanted, converted[model.var]):
            continue
        if isinstance(wanted, Unknown):
            if sensitive:
                raise Declined(
                    index.line(wanted.statement),
                    f"the mode `{model.var}` is left in after training depends on this "
                    f"statement; the conversion could not leave it the same after {after}",
                )
            continue
        found.append((model.var, wanted))
    return found


PATTERN = ModelMode()
