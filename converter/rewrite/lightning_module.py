"""The LightningModule side: the hook methods of a plan, and the class that receives them."""

from __future__ import annotations

import libcst as cst

from converter.analysis.dataflow import Dataflow
from converter.analysis.index import SourceIndex
from converter.analysis.plan import Stage, TrainingPlan
from converter.rewrite.hook_code import HookCode, expr
from converter.rewrite.templates import fill

BLANK = cst.EmptyLine(indent=False)
_WRAP_UP = "# the training epoch's wrap-up: Lightning validates right after the last batch"


def build_methods(index: SourceIndex, plan: TrainingPlan, flow: Dataflow, code: HookCode):
    methods: list[cst.BaseStatement] = []
    if flow.fit_start:
        inits = [_as_attribute(name, value) for name, value in flow.fit_start]
        methods += fill("epoch_hook", hook=cst.Name("on_fit_start"), body=inits)
    for name in ("train", "validation", "test"):
        stage = plan.stages.get(name)
        if stage is None:
            continue
        for hook, moved in stage.hooks().items():
            body = code.statements(moved, stage, hook)
            if hook.endswith("_step"):
                param, unpack = _batch_parameter(stage, flow.attributes)
                body = unpack + (body if unpack else _trim_blank_start(body))
                if name == "train" and plan.manual:
                    body = _bind_optimizers(plan, body) + body
                elif name == "train":
                    loss = code.expression(plan.loss, plan.loss_origin, stage, hook)
                    body += fill("training_step_return", loss=loss)
                methods += fill(
                    "batch_hook", hook=cst.Name(hook), batch=param, body=body or [_pass()]
                )
            else:
                if hook == "on_validation_epoch_end" and plan.monitor:
                    body += fill(
                        "log_monitor",
                        name=cst.SimpleString(f'"{plan.monitor}"'),
                        value=expr(f"self.{plan.monitor}"),
                    )
                body = _trim_blank_start(body)
                if hook == "on_validation_epoch_start" and plan.before_validation and body:
                    body[0] = body[0].with_changes(
                        leading_lines=[_comment(_WRAP_UP), *body[0].leading_lines]
                    )
                if body:
                    methods += fill("epoch_hook", hook=cst.Name(hook), body=body)
    setup = _trim_blank_start(code.statements(plan.setup, None, "configure_optimizers"))
    optimizer = cst.Name(plan.optimizer_var)
    if plan.manual:
        returned = _names_list(plan.optimizer_vars)
        if plan.scheduler_vars:
            returned = cst.Tuple(
                [cst.Element(returned), cst.Element(_names_list(plan.scheduler_vars))]
            )
        methods += fill("configure_optimizers", setup=setup, optimizer=returned)
    elif plan.scheduler_var is None:
        methods += fill("configure_optimizers", setup=setup, optimizer=optimizer)
    elif plan.plateau:
        methods += fill(
            "configure_optimizers_plateau",
            setup=setup,
            optimizer=optimizer,
            scheduler=cst.Name(plan.scheduler_var),
            monitor=cst.SimpleString(f'"{plan.monitor}"'),
        )
    else:
        methods += fill(
            "configure_optimizers_scheduler",
            setup=setup,
            optimizer=optimizer,
            scheduler=cst.Name(plan.scheduler_var),
            interval=cst.SimpleString(f'"{plan.scheduler_interval}"'),
        )
    return [m.with_changes(leading_lines=[BLANK]) for m in methods]


def manual_settings(plan: TrainingPlan) -> list[cst.BaseStatement]:
    return fill("manual_optimization") if plan.manual else []


def wrapper_class(plan: TrainingPlan, base: cst.BaseExpression, methods) -> cst.ClassDef:
    name, settings = cst.Name(plan.module_class), manual_settings(plan)
    if len(plan.models) == 1:
        (cls,) = fill("lightning_module", name=name, base=base, settings=settings)
    else:
        params = cst.Parameters(
            [cst.Param(cst.Name("self"))] + [cst.Param(cst.Name(m.var)) for m in plan.models]
        )
        attributes = [cst.parse_statement(f"self.{m.var} = {m.var}") for m in plan.models]
        (cls,) = fill(
            "lightning_module_models",
            name=name,
            base=base,
            params=params,
            attributes=attributes,
            settings=settings,
            first=expr(plan.model.attribute),
        )
    body = list(cls.body.body) + methods
    return cls.with_changes(body=cls.body.with_changes(body=body), leading_lines=[BLANK, BLANK])


def add_methods(cls: cst.ClassDef, methods) -> cst.ClassDef:
    return cls.with_changes(body=cls.body.with_changes(body=list(cls.body.body) + methods))


def _names_list(names: list[str]) -> cst.BaseExpression:
    if len(names) == 1:
        return cst.Name(names[0])
    return cst.List([cst.Element(cst.Name(n)) for n in names])


def _bind_optimizers(plan: TrainingPlan, body) -> list[cst.BaseStatement]:
    """`opt_g, opt_d = self.optimizers()`: manual optimization steps them by hand."""
    names = plan.optimizer_vars
    target = (
        cst.Name(names[0])
        if len(names) == 1
        else cst.Tuple([cst.Element(cst.Name(n)) for n in names], lpar=[], rpar=[])
    )
    return [
        cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], expr("self.optimizers()"))])
    ]


def _batch_parameter(stage: Stage, attributes: set[str]):
    """The batch parameter, and the statement unpacking it into the loop's own names (attributes
    for the names other hooks read, such as the last batch kept for an epoch-end sample)."""
    target = stage.batch_target
    if isinstance(target, cst.Name) and target.value not in ("self", "batch_idx", *attributes):
        return cst.Name(target.value), []
    bare = target.with_changes(lpar=[], rpar=[]) if hasattr(target, "lpar") else target
    bare = bare.visit(_AsAttributes(attributes))
    unpack = cst.SimpleStatementLine(
        body=[cst.Assign(targets=[cst.AssignTarget(bare)], value=cst.Name("batch"))]
    )
    return cst.Name("batch"), [unpack]


class _AsAttributes(cst.CSTTransformer):
    def __init__(self, attributes: set[str]) -> None:
        self.attributes = attributes

    def leave_Name(self, original, updated):
        return expr(f"self.{updated.value}") if updated.value in self.attributes else updated


def _as_attribute(name: str, value: cst.BaseExpression) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(
        body=[cst.Assign([cst.AssignTarget(expr(f"self.{name}"))], value)]
    )


def _trim_blank_start(body: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """A method body does not open with the blank lines its first statement had in the loop."""
    if not body:
        return body
    lines = list(body[0].leading_lines)
    while lines and lines[0].comment is None:
        lines.pop(0)
    return [body[0].with_changes(leading_lines=lines), *body[1:]]


def _comment(text: str) -> cst.EmptyLine:
    return cst.EmptyLine(comment=cst.Comment(text))


def _pass() -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(body=[cst.Pass()])
