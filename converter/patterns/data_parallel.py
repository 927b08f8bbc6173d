"""`model = nn.DataParallel(model)` (often under `if torch.cuda.device_count() > 1:`): the
Trainer spreads the work over the devices itself, so the wrapper goes. Where the script applied
it, its `model.state_dict()` keys began with `module.`; the conversion's keep the model's own."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis.bindings import assigned_call, bindings
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined, TrainingSite
from converter.patterns.base import Pattern

DATA_PARALLEL = ("torch.nn.DataParallel", "torch.nn.parallel.DataParallel")


@dataclass
class DataParallelState:
    removed: list[cst.BaseStatement] = field(default_factory=list)


class DataParallel(Pattern):
    name = "data-parallel"
    State = DataParallelState

    def wraps_model(self, call: cst.Call, index: SourceIndex) -> bool:
        return index.resolves_to(call.func, *DATA_PARALLEL)

    def bind(self, site: TrainingSite, index: SourceIndex) -> None:
        for model in site.models:
            for statement in bindings(index, site.site_scope, model.var):
                call = assigned_call(statement, model.var)
                if call is None or not self.wraps_model(call, index):
                    continue
                wrapped = call.args[0].value if call.args else None
                if not (isinstance(wrapped, cst.Name) and wrapped.value == model.var):
                    raise Declined(index.line(statement), "DataParallel around something else")
                site.removed.append(statement)
                site.state(self).removed.append(statement)

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        for statement in site.state(self).removed:
            report.change("devices", index.line(statement), "DataParallel -> the Trainer's devices")


PATTERN = DataParallel()
