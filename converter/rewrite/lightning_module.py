"""The LightningModule side: the hook methods of a plan, and the class that receives them."""

from __future__ import annotations

import libcst as cst

from converter.analysis.dataflow import Dataflow
from converter.analysis.site import Hook, Role, Stage, StageName, TrainingSite
from converter.analysis.walk import find
from converter.patterns import Emission
from converter.rewrite.constructor import extend_init
from converter.rewrite.hook_code import HookCode
from converter.templating import expr, fill

BLANK = cst.EmptyLine(indent=False)
_CONFIG_ORDER = ["scheduler", "interval", "frequency", "monitor"]  # as Lightning's docs write it
_WRAP_UP = "# the training epoch's wrap-up: Lightning validates right after the last batch"


def build_methods(plan: TrainingSite, flow: Dataflow, code: HookCode, out: Emission):
    methods: list[cst.BaseStatement] = []
    for name in StageName:
        stage = plan.stages.get(name)
        if stage is None:
            continue
        for hook, moved in stage.hooks().items():
            body = code.statements(moved, stage, hook)
            if hook.sees_batch:
                if hook is Hook.ON_TRAIN_BATCH_END and not body:
                    continue
                param, unpack = _batch_parameter(stage, flow)
                if hook is Hook.ON_TRAIN_BATCH_END and not _reads_any(body, unpack):
                    param, unpack = cst.Name("batch"), []
                if hook.is_step and stage.index_name in flow.attributes:
                    # the batch index read after its loop (`running_loss / (step + 1)`)
                    index_attribute = expr(f"self.{flow.attr(stage.index_name)}")
                    batch_index = code.batch_index(stage, None)
                    unpack = [*unpack, _assign(index_attribute, batch_index)]
                body = unpack + (body if unpack else _trim_blank_start(body))
                body = out.hook_openings.get(hook, []) + body
                if hook is Hook.TRAINING_STEP and not plan.manual:
                    loss = code.expression(plan.loss, plan.loss_origin, stage, hook)
                    body += fill("training_step_return", loss=loss, batch_size=_batch_size(stage))
                template = "batch_hook" if hook.is_step else "batch_end_hook"
                methods += fill(
                    template, hook=cst.Name(hook.value), batch=param, body=body or [_pass()]
                )
            else:
                openings, closings = (
                    out.hook_openings.get(hook, []),
                    out.hook_closings.get(hook, []),
                )
                body = _trim_blank_start(openings + body + closings)
                if hook is Hook.ON_VALIDATION_EPOCH_START and plan.before_validation and body:
                    body[0] = body[0].with_changes(
                        leading_lines=[_comment(_WRAP_UP), *body[0].leading_lines]
                    )
                if body and hook is Hook.LR_SCHEDULER_STEP:
                    methods += fill("scheduler_step_hook", body=body)
                elif body:
                    methods += fill("epoch_hook", hook=cst.Name(hook.value), body=body)
    methods += _configure_optimizers(plan, code, out)
    methods += out.methods
    return [m.with_changes(leading_lines=[BLANK]) for m in methods]


def _configure_optimizers(plan: TrainingSite, code: HookCode, out: Emission):
    setup = _trim_blank_start(code.statements(plan.setup, None, Hook.CONFIGURE_OPTIMIZERS))
    schedulers = plan.names(Role.SCHEDULER)
    if plan.manual:
        returned = _names_list(plan.optimizer_vars)
        if schedulers:
            returned = cst.Tuple([cst.Element(returned), cst.Element(_names_list(schedulers))])
        return fill("configure_optimizers", setup=setup, optimizer=returned)
    optimizer = cst.Name(plan.optimizer_var)
    if not out.scheduler_config:
        return fill("configure_optimizers", setup=setup, optimizer=optimizer)
    keys = sorted(out.scheduler_config, key=lambda k: (_CONFIG_ORDER + [k]).index(k))
    config = cst.Dict(
        [cst.DictElement(cst.SimpleString(f'"{k}"'), out.scheduler_config[k]) for k in keys]
    )
    return fill(
        "configure_optimizers_scheduler", setup=setup, optimizer=optimizer, scheduler=config
    )


def wrapper_class(plan: TrainingSite, base: cst.BaseExpression, methods, out: Emission):
    name, settings = cst.Name(plan.module_class), out.init_statements
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
    body = [
        extend_init(s, out.init_parameters, [])
        if isinstance(s, cst.FunctionDef) and s.name.value == "__init__"
        else s
        for s in cls.body.body
    ]
    return cls.with_changes(
        body=cls.body.with_changes(body=body + methods), leading_lines=[BLANK, BLANK]
    )


def add_methods(cls: cst.ClassDef, methods) -> cst.ClassDef:
    return cls.with_changes(body=cls.body.with_changes(body=list(cls.body.body) + methods))


def _batch_size(stage: Stage) -> list[cst.Arg]:
    """A loop's own items (an offset, a string) hold no tensor that Lightning could take the
    batch size of for the epoch's mean: each is one."""
    if stage.items is None:
        return []
    return [cst.Arg(cst.Integer("1"), keyword=cst.Name("batch_size"), equal=_EQUAL)]


_EQUAL = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


def _names_list(names: list[str]) -> cst.BaseExpression:
    if len(names) == 1:
        return cst.Name(names[0])
    return cst.List([cst.Element(cst.Name(n)) for n in names])


def _batch_parameter(stage: Stage, flow: Dataflow):
    """The batch parameter, and the statement unpacking it into the loop's own names (attributes
    for the names other hooks read, such as the last batch kept for an epoch-end sample)."""
    target = stage.batch_target
    if isinstance(target, cst.Name) and target.value not in ("self", "batch_idx", *flow.attributes):
        return cst.Name(target.value), []
    bare = target.with_changes(lpar=[], rpar=[]) if hasattr(target, "lpar") else target
    bare = bare.visit(_AsAttributes(flow))
    unpack = cst.SimpleStatementLine(
        body=[cst.Assign(targets=[cst.AssignTarget(bare)], value=cst.Name("batch"))]
    )
    return cst.Name("batch"), [unpack]


class _AsAttributes(cst.CSTTransformer):
    def __init__(self, flow: Dataflow) -> None:
        self.flow = flow

    def leave_Name(self, original, updated):
        if updated.value in self.flow.attributes:
            return expr(f"self.{self.flow.attr(updated.value)}")
        return updated


def _reads_any(body, unpack) -> bool:
    """Whether the body reads a name the batch unpacks into."""
    if not unpack:
        return True
    unpacked = {n.value for n in find(unpack[0].body[0].targets[0].target, cst.Name)}
    return any(n.value in unpacked for statement in body for n in find(statement, cst.Name))


def _assign(target: cst.BaseExpression, value: cst.BaseExpression) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(target)], value)])


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
