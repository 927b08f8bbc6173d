"""convert_source: parse, plan each training site (read only; every decline happens there), then
emit: the patterns' contributions and the rewrite, applied to the tree in one pass."""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import libcst as cst

from converter import FALLBACKS, lightning_package, output_check, siblings
from converter.analysis.index import SourceIndex
from converter.analysis.models import find_model_classes
from converter.analysis.site import Declined, TrainingSite
from converter.fallback import fall_back
from converter.parsing import parse_module
from converter.report import ConversionResult, Report
from converter.siblings import Modules
from converter.targets.trainer import inlining
from converter.targets.trainer.patterns import PATTERNS, Emission
from converter.targets.trainer.planning import find_backward_loops, plan_site
from converter.targets.trainer.rewrite.script import (
    ApplyEdits,
    Edits,
    GeneratedNames,
    add_imports,
    module_variable,
    override_inherited_hooks,
    plan_edits,
)
from converter.targets.trainer.rewrite.unused_imports import drop_unused_imports


def convert_source(
    source: str,
    target: str = "pytorch_lightning",
    filename: str = "<string>",
    fallback: str | None = None,
    modules: Modules | None = None,
    package: str | None = None,
    datamodule: bool = False,
    callbacks: bool = False,
) -> ConversionResult:
    """Convert one script's source. Returns the input unchanged (with reasons) when it declines.

    ``package``: the Lightning distribution the output imports from, whichever target writes it
    (:data:`converter.PACKAGES`); by default the one ``target`` names, else ``pytorch_lightning``,
    whose ``lightning_fabric`` Fabric conversions then import.

    ``fallback="fabric"``: when the Trainer conversion declines, convert to Lightning Fabric
    instead (the report says why, with the Trainer's reason); when that declines too, the report
    gives both reasons.

    ``datamodule``: the Trainer conversion's loaders, and the code that builds them, become a
    LightningDataModule where that is the same program
    (:mod:`converter.targets.trainer.datamodule`).

    ``callbacks``: a patience counter becomes Lightning's ``EarlyStopping`` where that is exact
    (:mod:`converter.targets.trainer.callbacks`).

    ``modules``: reads the script's own modules (those beside it); the training functions the
    script imports from them are copied in and converted with it (:mod:`converter.siblings`).

    Raises ``libcst.ParserSyntaxError`` when the source does not parse, and
    ``converter.parsing.SourceRejected`` when it is over the size or nesting budget.
    """
    package = lightning_package(target, package)
    try:
        brought = siblings.bring_in(source, modules) if modules is not None else None
    except Declined as declined:
        report = Report(filename=filename)
        report.decline(declined.kind, declined.line, str(declined))
        return ConversionResult(source=source, code=source, report=report)

    extras = Extras(datamodule, callbacks)

    def convert(to: str) -> ConversionResult:
        if brought is None:
            return _convert_source(source, to, filename, package, extras)
        converted = _convert_source(brought.text, to, filename, package, extras)
        return brought.restore(converted, source)

    result = convert(target)
    if fallback is None or fallback == target or result.changed or not result.report.declined:
        return result
    if fallback not in FALLBACKS:
        raise ValueError(f"unknown fallback {fallback!r}; choose one of {', '.join(FALLBACKS)}")
    return fall_back(result, convert(fallback))


class Extras(NamedTuple):
    """What the Trainer conversion adds on request, each a pass over its output."""

    datamodule: bool = False
    callbacks: bool = False


def _convert_source(
    source: str, target: str, filename: str, package: str, extras: Extras, depth: int = 0
) -> ConversionResult:
    report = Report(filename=filename)
    module = parse_module(source)  # guarded: budgets, Python's syntax check, exact round trip
    try:
        index = SourceIndex(module, source)
        if target == "fabric":
            converted = _fabric(index, report, package)
        else:
            converted = _convert(index, package, report)
            if extras.datamodule:
                from converter.targets.trainer.datamodule import add_datamodule  # its flag only

                converted = add_datamodule(index, converted, report)
            if extras.callbacks:
                from converter.targets.trainer.callbacks import add_callbacks  # its flag only

                converted = add_callbacks(index, converted, report)
        converted, code, output = drop_unused_imports(index, converted)
        _check_output(index, converted, code, filename, target, package, output)
    except Declined as declined:
        if declined.inline is not None and depth < inlining.DEPTH:
            try:
                inlined = inlining.inline(index, declined.inline)
            except Declined as refused:
                declined = Declined(declined.line, f"{declined}; {refused}", declined.kind)
            else:
                again = _convert_source(inlined.text, target, filename, package, extras, depth + 1)
                return inlining.restore(again, inlined, source)
        report.changed.clear()  # nothing changes when any part declines
        report.decline(declined.kind, declined.line, str(declined))
        code = source
    return ConversionResult(source=source, code=code, report=report)


def _fabric(index: SourceIndex, report: Report, package: str) -> cst.Module:
    from converter.targets.fabric import (
        convert_to_fabric,  # here: a Trainer conversion never loads it
    )

    return convert_to_fabric(index, report, package)


def _convert(index: SourceIndex, target: str, report: Report) -> cst.Module:
    loops, alone = find_backward_loops(index)
    if not loops:
        raise Declined(1, "no training loop: nothing calls .backward()", kind="file")
    for node in alone:
        what = (
            "a loop that steps no optimizer"
            if isinstance(node, cst.For)
            else "backward() in no loop"
        )
        report.find("backward", index.line(node), f"{what}: it stays as it is")
    models = find_model_classes(index)
    for model in models.values():
        report.find("model", index.line(model.node), f"model class {model.name}")
    planned = _plan_sites(index, models, loops)
    edits = Edits()
    names = GeneratedNames.choose(index, target)
    needed: set[str] = set()
    for site, flow in planned:
        emission = Emission(trainer=names.trainer, module=module_variable(index, site))
        for pattern in PATTERNS:
            pattern.emit(site, index, flow, emission)
        plan_edits(index, site, flow, emission, names, edits)
        needed |= emission.imports
        _report(index, site, report)
    override_inherited_hooks(models, edits)
    converted = index.module.visit(ApplyEdits(index, edits))
    unbound = sorted(n for n in needed if not index.body_scope(None).assignments[n])
    return add_imports(converted, names, unbound)


def _plan_sites(index: SourceIndex, models: dict, loops: list) -> list:
    """A site per training loop. A model class that several loops train (a notebook's second
    run of the same network) stays an nn.Module: each of those loops gets a LightningModule of
    its own that wraps it, named apart (`LitCNN`, `LitCNN_2`)."""

    def plan(loop, classes):
        try:
            return plan_site(index, classes, loop)
        except Declined as declined:
            declined.line = declined.line or index.line(loop)
            raise

    planned = [plan(loop, models) for loop in loops]
    trained = Counter(site.model.cls.name for site, _ in planned if site.model.cls is not None)
    shared = {name for name, count in trained.items() if count > 1}
    if shared:
        own = {name: model for name, model in models.items() if name not in shared}
        planned = [
            plan(loop, own)
            if site.model.cls is not None and site.model.cls.name in shared
            else (site, flow)
            for loop, (site, flow) in zip(loops, planned)
        ]
    named = Counter()
    for site, _ in planned:
        if site.model.cls is None:
            named[site.module_class] += 1
            if named[site.module_class] > 1:
                site.class_name = f"{site.module_class}_{named[site.module_class]}"
    return planned


def _check_output(
    index: SourceIndex,
    converted: cst.Module,
    code: str,
    filename: str,
    target: str,
    package: str,
    output: SourceIndex | None = None,
) -> None:
    def convert_again(again: SourceIndex) -> str:
        try:
            if target == "fabric":
                return _fabric(again, Report(filename=filename), package).code
            return _convert(again, package, Report(filename=filename)).code
        except Declined:
            return code  # left as it is

    found = output_check.problem(index, code, filename, convert_again, converted, output)
    if found is not None:
        raise Declined(
            1,  # the file as a whole
            f"internal: the conversion failed its own check ({found}); the file is left as it "
            "was. This is a converter bug: please report it",
            kind="internal",
        )


def _report(index: SourceIndex, site: TrainingSite, report: Report) -> None:
    line = index.line
    model = site.model
    wrapped = ", ".join(f"`{m.var}`" for m in site.models)
    what = model.cls.name if model.cls else f"{site.module_class} (wraps {wrapped})"
    for stage in site.stages.values():
        report.find(
            "loop", line(stage.loop), f"{stage.name.value} loop over `{stage.loader.value}`"
        )
    where = model.cls.node if model.cls else model.binding  # the class, or what gets wrapped
    report.change("module", line(where), f"{what} is now a LightningModule")
    report.change("trainer", line(site.outer_loop), "training loop replaced by Trainer.fit")
    if site.test_region:
        report.change("trainer", line(site.test_region[0]), "test loop replaced by Trainer.test")
    for pattern in PATTERNS:
        pattern.report(site, index, report)
