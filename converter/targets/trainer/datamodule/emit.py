"""The DataModule class and the script's edits: the data code out, the DataModule's creation
where it ended, `datamodule=` for the loaders `fit` and `test` were given."""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.index import SourceIndex
from converter.analysis.names import name_events
from converter.lightning_code.layout import kwarg, one_argument_per_line
from converter.targets.trainer.datamodule.plan import HOOKS, DataPlan
from converter.templating import expr, fill

_IMPORT = m.SimpleStatementLine(body=[m.Import() | m.ImportFrom()])
# `trainer.predict` goes over the data the module's `predict_step` was made for: the evaluation's
_EVALUATION = ("val_dataloader", "test_dataloader")


def apply(index: SourceIndex, plan: DataPlan) -> cst.Module:
    cls = _class(index, plan)
    arguments = [kwarg(s.name, s.value) for s in plan.settings if s.value is not None]
    call = cst.Call(cst.Name(plan.class_name), arguments)
    creation = cst.SimpleStatementLine(
        [cst.Assign([cst.AssignTarget(cst.Name(plan.variable))], call)],
        leading_lines=plan.data[0].leading_lines,
    )
    if len(arguments) > 3:
        creation = one_argument_per_line(creation)
    edits = _ScriptEdits(index, plan, creation, cls)
    return index.module.visit(edits)


_TIGHT = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


def _class(index: SourceIndex, plan: DataPlan) -> cst.ClassDef:
    names = _Names(index, plan)
    setup = []
    for statement in plan.data:
        loader = plan.builds_in_hook.get(id(statement))
        if loader is None:
            setup.append(names.rewrite(statement))
        elif loader in plan.datasets:  # its dataset, made here as the statement made it
            attribute, dataset = plan.datasets[loader]
            made = cst.Assign([cst.AssignTarget(expr(f"self.{attribute}"))], names.rewrite(dataset))
            setup.append(cst.SimpleStatementLine([made], leading_lines=statement.leading_lines))
    if setup:
        setup[0] = setup[0].with_changes(leading_lines=[])
    objects = [s.name for s in plan.settings if not s.saved]
    ignore = f"ignore={objects!r}".replace("'", '"') if objects else ""
    settings = []
    if plan.settings:
        settings.append(cst.parse_statement(f"self.save_hyperparameters({ignore})"))
    settings += [cst.parse_statement(f"self.{n} = {n}") for n in objects]
    (cls,) = fill(
        "datamodule",
        name=cst.Name(plan.class_name),
        base=expr(f"{plan.alias}.LightningDataModule"),
        settings=settings,
        setup=setup or [cst.SimpleStatementLine([cst.Pass()])],
    )
    body = list(cls.body.body)
    init = body[1]
    params = [cst.Param(cst.Name(s.name), default=s.default, equal=_TIGHT) for s in plan.settings]
    body[1] = init.with_changes(
        params=init.params.with_changes(params=[*init.params.params, *params])
    )
    if not setup:
        body = body[:2]
    for hook in ("train_dataloader", "val_dataloader", "test_dataloader"):
        if hook not in plan.loaders:
            continue
        loader = plan.loaders[hook]
        value = expr(f"self.{loader}")
        if loader in plan.built_in_hook:
            value = names.rewrite(plan.built_in_hook[loader])
        if loader in plan.datasets:
            first = value.args[0].with_changes(value=expr(f"self.{plan.datasets[loader][0]}"))
            value = value.with_changes(args=[first, *value.args[1:]])
        body.append(
            cst.FunctionDef(
                cst.Name(hook),
                cst.Parameters([cst.Param(cst.Name("self"))]),
                cst.IndentedBlock([cst.SimpleStatementLine([cst.Return(value)])]),
                leading_lines=[cst.EmptyLine(indent=False)],
            )
        )
    blank = cst.EmptyLine(indent=False)
    evaluated = next(h for h in (*_EVALUATION, "train_dataloader") if h in plan.loaders)
    (predict,) = fill("predict_dataloader", hook=cst.Name(evaluated))
    body.append(predict.with_changes(leading_lines=[cst.EmptyLine(indent=False)]))
    return cls.with_changes(body=cls.body.with_changes(body=body), leading_lines=[blank, blank])


class _Names:
    """The data code's names as the DataModule reads them: a setting `self.hparams.x` (or
    `self.x`, an object), an option `args.x` -> `self.hparams.x`, what setup binds for a hook
    `self.x`."""

    def __init__(self, index: SourceIndex, plan: DataPlan) -> None:
        self.replace: dict[cst.CSTNode, cst.BaseExpression] = {}
        saved = {s.name for s in plan.settings if s.saved}
        objects = {s.name for s in plan.settings if not s.saved}
        for setting in plan.settings:
            for literal in setting.literals:
                self.replace[literal] = expr(f"self.hparams.{setting.name}")
        for event in name_events(index, plan.data):  # the hooks' loaders are data code too
            name = event.node.value
            if name == plan.namespace:
                attribute = index.parent(event.node)
                self.replace[attribute] = expr(f"self.hparams.{attribute.attr.value}")
            elif name in saved:
                self.replace[event.node] = expr(f"self.hparams.{name}")
            elif name in objects or name in plan.shared:
                self.replace[event.node] = expr(f"self.{name}")

    def rewrite(self, node):
        return node.visit(_Replace(self.replace))


class _Replace(cst.CSTTransformer):
    """The names replaced; blank lines without the indentation of where the code was."""

    def __init__(self, replace: dict) -> None:
        self.replace_by_id = {id(k): v for k, v in replace.items()}

    def on_leave(self, original, updated):
        found = self.replace_by_id.get(id(original))
        if found is not None:
            return found
        if isinstance(updated, cst.EmptyLine) and updated.comment is None:
            return updated.with_changes(indent=False, whitespace=cst.SimpleWhitespace(""))
        return updated


class _ScriptEdits(cst.CSTTransformer):
    """Out with the data code, in with the DataModule's creation (where the last data statement
    was) and its class (before the top-level statement holding the first), and `datamodule=`
    for the loaders given to `fit` and `test`."""

    def __init__(self, index: SourceIndex, plan: DataPlan, creation, cls) -> None:
        self.plan = plan
        self.data = {id(s) for s in plan.data}
        self.last = id(plan.data[-1])
        self.creation = creation
        self.cls = cls
        self.calls = {id(c) for c in [plan.fit, *plan.tests]}
        body = list(index.module.body)
        top = index.top_level(plan.data[0])
        self.anchor, self.class_after, self.after_class = id(top), None, None
        if not isinstance(top, (cst.FunctionDef, cst.ClassDef)):
            earlier = body[: body.index(top)]
            defs = [s for s in earlier if isinstance(s, (cst.FunctionDef, cst.ClassDef))]
            imports = [s for s in earlier if m.matches(s, _IMPORT)]
            after = (defs or imports or [None])[-1]
            if after is not None:  # after the script's last def or class, else its imports
                self.class_after, self.anchor = id(after), None
                rest = body[body.index(after) + 1 :]
            else:  # before the first statement that stays (or the DataModule's creation)
                rest = body[body.index(top) :]
            stays = [s for s in rest if id(s) not in self.data or id(s) == self.last]
            if after is None:
                self.anchor = id(stays[0])
            elif stays:
                self.after_class = id(stays[0])

    def on_leave(self, original, updated):
        key = id(original)
        if key in self.calls:
            return self._datamodule_given(updated)
        if key not in self.data and key not in (self.class_after, self.anchor, self.after_class):
            return updated
        statements = [updated]
        if key in self.data:
            statements = [self.creation] if key == self.last else []
        if key == self.after_class:
            statements[0] = statements[0].with_changes(leading_lines=_two_blank(statements[0]))
        if key == self.class_after:
            statements.append(self.cls)
        if key == self.anchor:
            first = statements[0]
            statements = [self.cls, first.with_changes(leading_lines=_two_blank(first))]
        return cst.FlattenSentinel(statements) if statements else cst.RemovalSentinel.REMOVE

    def _datamodule_given(self, call: cst.Call) -> cst.Call:
        args = [a for a in call.args if a.keyword is None or a.keyword.value not in HOOKS]
        args = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in args]
        given = kwarg("datamodule", cst.Name(self.plan.variable))
        return call.with_changes(args=[*args, given])


def _two_blank(statement: cst.BaseStatement) -> list[cst.EmptyLine]:
    """Its comment lines, after the two blank lines that follow a class (PEP 8)."""
    comments = [line for line in statement.leading_lines if line.comment is not None]
    return [cst.EmptyLine(indent=False)] * 2 + comments
