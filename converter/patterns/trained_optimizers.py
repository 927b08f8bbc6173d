"""The optimizers and schedulers read after training (`torch.save({"optimizer":
optimizer.state_dict()})`): they were created in configure_optimizers, so after fit they are the
trainer's: `trainer.optimizers[0]`, `trainer.lr_scheduler_configs[0].scheduler`."""

from __future__ import annotations

from converter.analysis.index import SourceIndex
from converter.analysis.site import Role, TrainingSite
from converter.patterns.base import Emission, Pattern
from converter.templating import expr


class TrainedOptimizers(Pattern):
    name = "trained-optimizers"

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        optimizers, schedulers = site.optimizer_vars, site.names(Role.SCHEDULER)
        for node in site.read_after:
            if node.value in optimizers:
                where = f"{out.trainer}.optimizers[{optimizers.index(node.value)}]"
            else:
                position = schedulers.index(node.value)
                where = f"{out.trainer}.lr_scheduler_configs[{position}].scheduler"
            out.site_values[node] = expr(where)

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        for node in site.read_after:
            report.change("optimizer", index.line(node), f"`{node.value}` after fit: the trainer's")


PATTERN = TrainedOptimizers()
