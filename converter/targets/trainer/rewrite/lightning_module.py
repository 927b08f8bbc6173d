"""The LightningModule side: the hook methods of a plan, and the class that receives them."""

from __future__ import annotations

import libcst as cst

from converter.analysis.dataflow import Dataflow
from converter.analysis.site import Hook, Role, Stage, StageName, TrainingSite
from converter.analysis.walk import find
from converter.lightning_code.layout import BLANK
from converter.targets.trainer.patterns import Emission
from converter.targets.trainer.rewrite.constructor import extend_init
from converter.targets.trainer.rewrite.hook_code import HookCode
from converter.templating import expr, fill

_CONFIG_ORDER = [
    "scheduler",
    "interval",
    "frequency",
    "monitor",
    "strict",
]  # as Lightning's docs write it
# The guard of the training epoch's code after its validation (which reads the results).
AFTER_VALIDATION = 'self.trainer.state.fn == "fit" and not self.trainer.sanity_checking'
# Statements of the training epoch that Lightning's hooks would otherwise run out of place.
_GUARDS = {
    # the epoch's wrap-up before its evaluation: Lightning validates right after the last batch
    Hook.ON_TRAIN_BATCH_END: (
        "self.trainer.is_last_batch",
        "# the training epoch's wrap-up: Lightning validates right after the last batch",
    ),
    # the epoch's code after its evaluation, which reads the results: not in the sanity check
    # or trainer.validate(...), which run validation alone
    Hook.ON_VALIDATION_EPOCH_END: (
        AFTER_VALIDATION,
        "# the rest of the training epoch, which reads this validation's results",
    ),
}


def build_methods(plan: TrainingSite, flow: Dataflow, code: HookCode, out: Emission):
    methods: list[cst.BaseStatement] = []
    for name in StageName:
        stage = plan.stages.get(name)
        if stage is None:
            continue
        for hook, moved in stage.hooks().items():
            apart = {
                Hook.ON_TRAIN_BATCH_END: plan.before_validation,
                Hook.ON_VALIDATION_EPOCH_END: plan.after_validation,
            }.get(hook, [])
            body = code.statements([m for m in moved if m not in apart], stage, hook)
            guarded = _guarded(hook, code.statements([m for m in moved if m in apart], stage, hook))
            if hook.sees_batch:
                body += guarded
                if hook is Hook.ON_TRAIN_BATCH_END and not body:
                    continue
                batch = cst.Name(code.parameter(stage, hook, "batch"))
                index = cst.Name(code.parameter(stage, hook, "batch_idx"))
                param, unpack = _batch_parameter(stage, flow, batch, index)
                if hook is Hook.ON_TRAIN_BATCH_END and not _reads_any(body, unpack):
                    param, unpack = batch, []
                if hook.is_step and stage.index_name in flow.attributes:
                    # the batch index read after its loop (`running_loss / (step + 1)`)
                    index_attribute = expr(f"self.{flow.attr(stage.index_name)}")
                    batch_index = code.batch_index(stage, hook, None)
                    unpack = [*unpack, _assign(index_attribute, batch_index)]
                body = unpack + (body if unpack else _trim_blank_start(body))
                body = out.hook_openings.get(hook, []) + body
                if hook is Hook.TRAINING_STEP and not plan.manual:
                    loss = code.expression(plan.loss, plan.loss_origin, stage, hook)
                    body += fill("training_step_return", loss=loss, batch_size=_batch_size(stage))
                names = {"hook": cst.Name(hook.value), "batch": param, "index": index}
                if hook.is_step:
                    methods += fill("batch_hook", **names, body=body or [_pass()])
                else:
                    outputs = cst.Name(code.parameter(stage, hook, "outputs"))
                    methods += fill("batch_end_hook", **names, outputs=outputs, body=body)
            else:
                openings, closings = (
                    out.hook_openings.get(hook, []),
                    out.hook_closings.get(hook, []),
                )
                body = _trim_blank_start(openings + body + closings + guarded)
                if body and hook is Hook.LR_SCHEDULER_STEP:
                    scheduler = cst.Name(code.parameter(stage, hook, "scheduler"))
                    metric = cst.Name(code.parameter(stage, hook, "metric"))
                    methods += fill(
                        "scheduler_step_hook", scheduler=scheduler, metric=metric, body=body
                    )
                elif body:
                    methods += fill("epoch_hook", hook=cst.Name(hook.value), body=body)
    methods += _configure_optimizers(plan, code, out)
    methods += out.methods
    return [m.with_changes(leading_lines=[BLANK]) for m in methods]


def _guarded(hook: Hook, statements: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """`statements` of the training epoch under the condition that they run there."""
    if not statements:
        return []
    test, comment = _GUARDS[hook]
    statements = _trim_blank_start(statements)
    first = statements[0]
    statements[0] = first.with_changes(leading_lines=[_comment(comment), *first.leading_lines])
    block = cst.IndentedBlock(body=statements)
    return [cst.If(test=expr(test), body=block, leading_lines=[BLANK])]


def _configure_optimizers(plan: TrainingSite, code: HookCode, out: Emission):
    setup = _trim_blank_start(code.statements(plan.setup, None, Hook.CONFIGURE_OPTIMIZERS))
    schedulers = plan.names(Role.SCHEDULER)
    if plan.manual:
        returned = _names_list(plan.optimizer_vars)
        if schedulers:
            # two lists, as Lightning reads them; the hooks step the schedulers themselves
            # (`self.lr_schedulers()`), where the loop did: Lightning does not under manual
            # optimization
            returned = cst.Tuple(
                [
                    cst.Element(_names_list(plan.optimizer_vars, always=True)),
                    cst.Element(_names_list(schedulers, always=True)),
                ],
                lpar=[],
                rpar=[],
            )
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


def _names_list(names: list[str], always: bool = False) -> cst.BaseExpression:
    if len(names) == 1 and not always:
        return cst.Name(names[0])
    return cst.List([cst.Element(cst.Name(n)) for n in names])


def _batch_parameter(stage: Stage, flow: Dataflow, batch: cst.Name, index: cst.Name):
    """The batch parameter, and the statement unpacking it into the loop's own names (attributes
    for the names other hooks read, such as the last batch kept for an epoch-end sample)."""
    target = stage.batch_target
    if isinstance(target, cst.Name) and target.value not in ("self", index.value, *flow.attributes):
        return cst.Name(target.value), []
    bare = target.with_changes(lpar=[], rpar=[]) if hasattr(target, "lpar") else target
    bare = bare.visit(_AsAttributes(flow))
    unpack = cst.SimpleStatementLine(
        body=[cst.Assign(targets=[cst.AssignTarget(bare)], value=batch)]
    )
    return batch, [unpack]


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
