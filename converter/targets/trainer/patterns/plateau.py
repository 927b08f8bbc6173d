"""`plateau.step(val_loss)` after evaluation: ReduceLROnPlateau with `monitor`, and the metric
logged at the end of validation under the same name.

Stepped on anything else at the end of an epoch (the epoch's training loss, an expression such
as `total / len(loader)`), the step becomes `self.log("plateau_metric", <its argument>)` where
it was: Lightning steps the scheduler on that value right after on_train_epoch_end (and the
epoch's code after the step follows in lr_scheduler_step). It is averaged over processes
(`sync_dist=True`), so every process takes the same decision.

Lightning hands the scheduler the logged value, a float32 tensor: its decisions match the
original's float64 ones except for a metric within about 1e-7 (relative) of the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import assigned_call, scope_names, single_binding
from converter.analysis.index import SourceIndex
from converter.analysis.names import names_written
from converter.analysis.site import Claim, Declined, Hook, Place, StageName, TrainingSite
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import (
    ClaimContext,
    Emission,
    Example,
    Pattern,
    method_call,
)
from converter.targets.trainer.patterns.scheduler import PATTERN as SCHEDULER
from converter.targets.trainer.patterns.scheduler import is_scheduler, steps_scheduler
from converter.templating import expr, fill

_PLATEAU = "torch.optim.lr_scheduler.ReduceLROnPlateau"
_LOGGED_METRIC = "plateau_metric"  # what the scheduler monitors when it is not a validation result


@dataclass
class PlateauState:
    active: bool = False  # the scheduler is a ReduceLROnPlateau
    monitor: str | None = None  # the name it is stepped on
    line: int = 0
    # stepped on a value other than a validation result: the step call, kept in its hook
    logged_step: cst.Call | None = None
    logged_hook: Hook | None = None


class PlateauStep(Pattern):
    name = "plateau"
    example = Example(
        shape="`ReduceLROnPlateau.step(val_loss)` after evaluation",
        becomes='`"monitor": "val_loss"`, and `self.log("val_loss", ...)`',
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        val_loader = DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)))
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
            val_loss = 0.0
            with torch.no_grad():
                for x, y in val_loader:
                    val_loss += nn.functional.mse_loss(model(x), y).item()
            scheduler.step(val_loss)
        """,
        after="""
            def on_validation_epoch_end(self):
                if self.trainer.world_size > 1:  # the totals over all processes' batches
                    self.val_loss = self.all_gather(self.val_loss).sum().item()
                self.log("val_loss", self.val_loss)  # what ReduceLROnPlateau monitors
        ...
            def configure_optimizers(self):
                optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)
                scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)
                return {
                    "optimizer": optimizer,
                    "lr_scheduler": {"scheduler": scheduler, "interval": "epoch", "monitor": "val_loss", "strict": False},
                }
        """,  # noqa: E501
    )
    State = PlateauState

    def bind(self, site: TrainingSite, index: SourceIndex) -> None:
        # Registered before the scheduler pattern, so that it claims the plateau's step first.
        for name in scope_names(site.site_scope):
            call = assigned_call(single_binding(index, site.site_scope, name), name)
            if (
                call is not None
                and index.resolves_to(call.func, _PLATEAU)
                and call.args
                and m.matches(call.args[0].value, m.Name())
                and call.args[0].value.value in site.optimizer_vars
            ):
                site.state(self).active = True

    def reshape(self, site: TrainingSite, index: SourceIndex) -> None:
        """Lightning steps ReduceLROnPlateau after on_train_epoch_end (other epoch schedulers
        right after the last batch): what the epoch does after stepping it (printing the new
        learning rate) runs in an override of lr_scheduler_step, after Lightning's own step.
        The step is the epoch's last training code, or the validation's when nothing of the
        epoch follows it."""
        if site.manual or not site.state(self).active:
            return
        train, validation = site.train, site.stages.get(StageName.VALIDATION)
        for where in (train.end, validation.end if validation and not train.end else []):
            steps = [i for i, item in enumerate(where) if steps_scheduler(site, item)]
            if len(steps) != 1:
                continue
            tail = where[steps[0] + 1 :]
            control = (cst.Break, cst.Continue, cst.Return)
            if tail and not any(find(item.node, control) for item in tail):
                train.after_lr_step += tail
                del where[steps[0] + 1 :]
            return

    def claim(self, statement: cst.BaseStatement, ctx: ClaimContext) -> bool:
        found = method_call(statement)
        state = ctx.site.state(self)
        if found is None or found[1] != "step" or not is_scheduler(ctx, found[0]):
            return False
        if not state.active:
            return False
        call = found[2]
        if (
            ctx.place not in (Place.EPOCH, Place.EVALUATION)
            or len(call.args) != 1
            or call.args[0].keyword is not None
            or call.args[0].star
        ):
            raise ctx.decline(
                statement, "ReduceLROnPlateau stepped other than once per epoch on a metric"
            )
        if ctx.hook is Hook.ON_TRAIN_EPOCH_START:
            # Lightning steps it at the end of each epoch, not on the previous epoch's metric
            # before the next one's batches (nor on the value the script starts with).
            raise ctx.decline(
                statement,
                "ReduceLROnPlateau stepped at the start of the epoch: Lightning steps it at the "
                "end of each epoch",
            )
        ctx.site.state(SCHEDULER).interval = "epoch"
        state.line = ctx.index.line(statement)
        ctx.record(Claim.SCHEDULER_STEP, statement)
        value = call.args[0].value
        if isinstance(value, cst.Name) and _set_by_validation(ctx.site, ctx.index, value.value):
            state.monitor = value.value
        else:
            state.monitor = _LOGGED_METRIC
            state.logged_step, state.logged_hook = call, ctx.hook
            ctx.keep_in_place()
        return True

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        state = site.state(self)
        if state.logged_step is not None:
            self._check_logged_step(site, index, state)
            return
        monitor = state.monitor
        if monitor is not None and not (
            monitor in flow.attributes
            and any(
                monitor in names
                for (stage, _), names in flow.written.items()
                if stage is StageName.VALIDATION
            )
        ):
            raise Declined(
                0, f"ReduceLROnPlateau is stepped on `{monitor}`, not a validation result"
            )

    def _check_logged_step(self, site: TrainingSite, index: SourceIndex, state) -> None:
        """The logged value must be the epoch's last word before Lightning steps: the step is
        the last statement of on_train_epoch_end, or of the validation's end with no epoch code
        after it (reshape moved what followed it into lr_scheduler_step)."""
        hook, step = state.logged_hook, state.logged_step
        last = {
            Hook.ON_TRAIN_EPOCH_END: site.train.end,
            Hook.ON_VALIDATION_EPOCH_END: [] if site.train.end else _validation_end(site),
        }.get(hook, [])
        if not last or not any(c is step for c in find(last[-1].node, cst.Call)):
            raise Declined(
                state.line,
                "ReduceLROnPlateau stepped on a value other than a validation result, before "
                "the end of the epoch's code",
            )

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        state = site.state(self)
        monitor = state.monitor
        if monitor is None:
            return
        out.scheduler_config["monitor"] = cst.SimpleString(f'"{monitor}"')
        if state.logged_step is None:
            # A Trainer that validates every n-th epoch (check_val_every_n_epoch) has no
            # validation result in the others: Lightning then skips the step (the original
            # steps after each validation) instead of stopping with a MisconfigurationException.
            out.scheduler_config["strict"] = cst.Name("False")
        if state.logged_step is not None:
            out.replacements[state.logged_step] = _log_metric
            return
        out.hook_closings.setdefault(Hook.ON_VALIDATION_EPOCH_END, []).extend(
            fill(
                "log_monitor",
                name=cst.SimpleString(f'"{monitor}"'),
                value=expr(f"self.{flow.attr(monitor)}"),
            )
        )

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        if state.logged_step is not None:
            report.change(
                "scheduler",
                state.line,
                f'ReduceLROnPlateau monitors "{state.monitor}", logged where it was stepped',
            )
        elif state.monitor is not None:
            report.change(
                "scheduler",
                state.line,
                f'ReduceLROnPlateau monitors "{state.monitor}", logged by validation',
            )


def _set_by_validation(site: TrainingSite, index: SourceIndex, name: str) -> bool:
    validation = site.stages.get(StageName.VALIDATION)
    if validation is None:
        return False
    moved = [item.node for items in validation.hooks().values() for item in items]
    return name in names_written(index, moved)


def _validation_end(site: TrainingSite) -> list:
    validation = site.stages.get(StageName.VALIDATION)
    return validation.end if validation is not None else []


def _log_metric(step: cst.Call) -> cst.Call:
    """`scheduler.step(value)` -> `self.log("plateau_metric", value, sync_dist=True)`."""
    call = expr(f'self.log("{_LOGGED_METRIC}", VALUE, sync_dist=True)')
    return call.with_changes(
        args=[call.args[0], step.args[0].with_changes(comma=call.args[1].comma), call.args[2]]
    )


PATTERN = PlateauStep()
