"""`plateau.step(val_loss)` after evaluation: ReduceLROnPlateau with `monitor`, and the metric
logged at the end of validation under the same name.

Lightning hands the scheduler the logged value, a float32 tensor: its decisions match the
original's float64 ones except for a metric within about 1e-7 (relative) of the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from converter.analysis.bindings import assigned_call, scope_names, single_binding
from converter.analysis.index import SourceIndex
from converter.analysis.site import Claim, Declined, Hook, Place, StageName, TrainingSite
from converter.analysis.walk import find
from converter.patterns.base import ClaimContext, Emission, Pattern, method_call
from converter.patterns.scheduler import PATTERN as SCHEDULER
from converter.patterns.scheduler import is_scheduler, steps_scheduler
from converter.templating import expr, fill

_PLATEAU = "torch.optim.lr_scheduler.ReduceLROnPlateau"


@dataclass
class PlateauState:
    active: bool = False  # the scheduler is a ReduceLROnPlateau
    monitor: str | None = None  # the name it is stepped on
    line: int = 0


class PlateauStep(Pattern):
    name = "plateau"
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
            or not isinstance(call.args[0].value, cst.Name)
        ):
            raise ctx.decline(
                statement, "ReduceLROnPlateau stepped other than once per epoch on a metric"
            )
        ctx.site.state(SCHEDULER).interval = "epoch"
        state.monitor = call.args[0].value.value
        state.line = ctx.index.line(statement)
        ctx.record(Claim.SCHEDULER_STEP, statement)
        return True

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        monitor = site.state(self).monitor
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

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        monitor = site.state(self).monitor
        if monitor is None:
            return
        out.scheduler_config["monitor"] = cst.SimpleString(f'"{monitor}"')
        out.hook_closings.setdefault(Hook.ON_VALIDATION_EPOCH_END, []).extend(
            fill(
                "log_monitor",
                name=cst.SimpleString(f'"{monitor}"'),
                value=expr(f"self.{flow.attr(monitor)}"),
            )
        )

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        if state.monitor is not None:
            report.change(
                "scheduler",
                state.line,
                f'ReduceLROnPlateau monitors "{state.monitor}", logged by validation',
            )


PATTERN = PlateauStep()
