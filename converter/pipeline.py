"""convert_source: parse, analyse (read only), then rewrite from the analysis' findings."""

from __future__ import annotations

import libcst as cst

from converter import TARGETS
from converter.analysis.dataflow import analyse
from converter.analysis.index import SourceIndex
from converter.analysis.models import find_model_classes
from converter.analysis.plan import Declined
from converter.analysis.training import SitePlanner, find_backward_loops
from converter.parsing import parse_module
from converter.report import ConversionResult, Report
from converter.rewrite.site import (
    ApplyEdits,
    Edits,
    add_import,
    override_inherited_hooks,
    plan_edits,
)


def convert_source(
    source: str, target: str = "pytorch_lightning", filename: str = "<string>"
) -> ConversionResult:
    """Convert one script's source. Returns the input unchanged (with reasons) when it declines.

    Raises ``libcst.ParserSyntaxError`` when the source does not parse, and
    ``converter.parsing.SourceRejected`` when it is over the size or nesting budget.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    report = Report(filename=filename)
    module = parse_module(source)  # guarded: budgets, Python's syntax check, exact round trip
    try:
        code = _convert(module, target, report)
    except Declined as declined:
        report.changed.clear()  # nothing changes when any part declines
        report.decline(declined.kind, declined.line, str(declined))
        code = source
    return ConversionResult(source=source, code=code, report=report)


def _convert(module: cst.Module, target: str, report: Report) -> str:
    index = SourceIndex(module)
    loops = find_backward_loops(index)
    if not loops:
        raise Declined(1, "no training loop: nothing calls .backward()", kind="file")
    models = find_model_classes(index)
    for model in models.values():
        report.find("model", index.line(model.node), f"model class {model.name}")
    edits = Edits()
    trained: set[str] = set()
    for loop in loops:
        try:
            plan = SitePlanner(index, models, loop).plan()
            if plan.model.cls is not None:
                if plan.model.cls.name in trained:
                    raise Declined(0, f"{plan.model.cls.name} is trained by two loops")
                trained.add(plan.model.cls.name)
            flow = analyse(index, plan)
        except Declined as declined:
            declined.line = declined.line or index.line(loop)
            raise
        _report_plan(index, plan, report)
        plan_edits(index, plan, flow, target, edits)
    override_inherited_hooks(models, edits)
    converted = index.module.visit(ApplyEdits(edits))
    return add_import(converted, target).code


def _report_plan(index: SourceIndex, plan, report: Report) -> None:
    line = index.line
    model = plan.model
    wrapped = ", ".join(f"`{m.var}`" for m in plan.models)
    what = model.cls.name if model.cls else f"{plan.module_class} (wraps {wrapped})"
    for moved in plan.setup:
        target = moved.node.body[0].targets[0].target.value
        kind = "scheduler" if target in plan.scheduler_vars else "optimizer"
        detail = (
            f" per {plan.scheduler_interval}" if kind == "scheduler" and not plan.manual else ""
        )
        report.find(kind, line(moved.node), f"{kind} `{target}`{detail}")
    if plan.manual:
        report.change("optimization", line(plan.stages["train"].loop), "manual optimization")
    for stage in plan.stages.values():
        report.find("loop", line(stage.loop), f"{stage.name} loop over `{stage.loader.value}`")
    report.change("module", line(model.binding), f"{what} is now a LightningModule")
    loop = plan.epoch_loop or plan.stages["train"].loop
    report.change("trainer", line(loop), "training loop replaced by Trainer.fit")
    if plan.test_region:
        report.change("trainer", line(plan.test_region[0]), "test loop replaced by Trainer.test")
