"""The script side: the training loop becomes a Trainer, the model class a LightningModule, the
statements that moved into hooks go away, and the Lightning import comes in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import assigned_value
from converter.analysis.dataflow import Dataflow
from converter.analysis.index import SourceIndex
from converter.analysis.site import StageName, TrainingSite
from converter.lightning_code.layout import BLANK, insert_imports, kwarg, one_argument_per_line
from converter.lightning_code.options import flag_imports, scaling_flags
from converter.lightning_code.transform import EditingTransformer
from converter.targets.trainer.patterns import Emission
from converter.targets.trainer.rewrite.constructor import extend_init, new_init
from converter.targets.trainer.rewrite.hook_code import HookCode
from converter.targets.trainer.rewrite.lightning_module import (
    add_methods,
    build_methods,
    wrapper_class,
)
from converter.templating import expr, fill

TARGET_IMPORTS = {"pytorch_lightning": ("pytorch_lightning", "pl"), "lightning": ("lightning", "L")}


@dataclass(frozen=True)
class GeneratedNames:
    """Names the conversion brings into the script, none of them one the script uses already."""

    package: str  # pytorch_lightning or lightning
    alias: str  # pl or L, unless the script has a `pl` of its own
    trainer: str

    @staticmethod
    def choose(index: SourceIndex, target: str) -> GeneratedNames:
        package, alias = TARGET_IMPORTS[target]
        taken = index.variables()
        if alias in taken and not _imports(index.module, package, alias):
            alias = _fresh(alias, taken)
        return GeneratedNames(package, alias, _fresh("trainer", taken))


def _fresh(wanted: str, taken: set[str]) -> str:
    name, counter = wanted, 1
    while name in taken:
        counter += 1
        name = f"{wanted}_{counter}"
    return name


def _imports(module: cst.Module, package: str, alias: str) -> bool:
    wanted = m.SimpleStatementLine(
        body=[m.Import(names=[m.ImportAlias(name=m.Name(package), asname=m.AsName(m.Name(alias)))])]
    )
    return any(m.matches(statement, wanted) for statement in module.body)


@dataclass
class Edits:
    """Everything the rewrite does, keyed by the original nodes it touches."""

    replace: dict[cst.CSTNode, list[cst.BaseStatement]] = field(default_factory=dict)
    remove: set[cst.CSTNode] = field(default_factory=set)
    methods: dict[cst.ClassDef, list[cst.BaseStatement]] = field(default_factory=dict)
    bases: dict[cst.ClassDef, cst.Arg] = field(default_factory=dict)
    insert_after: dict[cst.CSTNode, list[cst.BaseStatement]] = field(default_factory=dict)
    insert_before: dict[cst.CSTNode, list[cst.BaseStatement]] = field(default_factory=dict)
    values: dict[cst.CSTNode, cst.BaseExpression] = field(default_factory=dict)
    # a statement put inside another once edited inside (`if trainer.is_global_zero:`)
    wrap: dict[cst.CSTNode, Callable[[cst.CSTNode], cst.CSTNode]] = field(default_factory=dict)
    # an `__init__`'s new parameters and statements (added to it as edited inside)
    inits: dict[cst.FunctionDef, tuple[list[cst.Param], list[cst.BaseStatement]]] = field(
        default_factory=dict
    )
    new_inits: dict[cst.ClassDef, cst.FunctionDef] = field(default_factory=dict)  # added
    replace_leading: dict[cst.CSTNode, list[cst.EmptyLine]] = field(default_factory=dict)

    def keys(self) -> Iterator[cst.CSTNode]:
        """Every node some edit is keyed by."""
        for edits in vars(self).values():
            yield from edits


def module_variable(index: SourceIndex, plan: TrainingSite) -> str:
    """The model's own variable when its class becomes the LightningModule; else the wrapper's."""
    if plan.model.cls is not None:
        return plan.model.var
    return index.fresh_name("lit_" + plan.model.var if len(plan.models) == 1 else "lit_module")


def plan_edits(
    index: SourceIndex,
    plan: TrainingSite,
    flow: Dataflow,
    out: Emission,
    names: GeneratedNames,
    edits: Edits,
):
    alias = names.alias
    module_var = out.module
    base = expr(f"{alias}.LightningModule")
    code = HookCode(index, plan, flow, out)
    methods = build_methods(plan, flow, code, out)
    model = plan.model

    if model.cls is not None:
        root = model.cls.root
        edits.bases[root.torch_base] = root.torch_base.with_changes(value=base)
        edits.methods.setdefault(model.cls.node, []).extend(methods)
        init = model.cls.method("__init__")
        if init is not None and (out.init_parameters or out.init_statements):
            edits.inits[init] = (out.init_parameters, out.init_statements)
        elif out.init_parameters or out.init_statements:
            edits.new_inits[model.cls.node] = new_init(out.init_parameters, out.init_statements)
        prelude = []
    else:
        wrapper = wrapper_class(plan, base, methods, out)
        _insert_class(index, plan, wrapper, edits)
        arguments = [cst.Arg(cst.Name(m.var)) for m in plan.models] + out.constructor_arguments
        call = cst.Call(cst.Name(plan.module_class), arguments)
        prelude = [
            cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(module_var))], call)])
        ]

    for each in plan.models:
        created = assigned_value(each.binding, each.var)
        call = each.call
        if model.cls is not None and each is model and out.constructor_arguments:
            call = call.with_changes(args=[*call.args, *out.constructor_arguments])
        if each is model and out.created_after is not None:
            leaving = {*plan.removed, *out.site_removals}
            _create_after(index, each.binding, call, out.created_after, leaving, edits)
        elif call is not created:
            edits.values[created] = call  # Net().to(device) -> Net(lr=args.lr)
    for statement in plan.removed + out.site_removals:
        edits.remove.add(statement)
    edits.values.update(out.site_values)
    edits.wrap.update(out.site_wrappers)
    for function in plan.deleted_functions + list(plan.inlined.values()):
        if function not in plan.kept_functions:
            edits.remove.add(function)

    loop = plan.outer_loop
    for attribute, value in out.late_settings:
        target = cst.AssignTarget(expr(f"{module_var}.{attribute}"))
        prelude.append(cst.SimpleStatementLine([cst.Assign([target], value)]))
    prelude += out.prelude
    options = [kwarg("max_epochs", plan.epoch.max_epochs)]
    for option, value in out.trainer_options.items():
        options.append(
            kwarg(option, value.origin.at_site(value.value) if value.origin else value.value)
        )
    options += _scaling_flags(index, plan, edits, out)
    loaders = [kwarg("train_dataloaders", plan.train.loader)]
    if StageName.VALIDATION in plan.stages:
        loaders.append(kwarg("val_dataloaders", plan.stages[StageName.VALIDATION].loader))
    fit = fill(
        "trainer_fit",
        trainer=cst.Name(names.trainer),
        lightning=cst.Name(alias),
        module=cst.Name(module_var),
        options=options,
        loaders=loaders,
    )
    fit[0] = one_argument_per_line(fit[0]) if len(options) > 3 else fit[0]
    generated = prelude + fit + out.after_fit
    generated[0] = generated[0].with_changes(leading_lines=loop.leading_lines)
    edits.replace[loop] = generated

    if plan.test_region:
        test = fill(
            "trainer_test",
            trainer=cst.Name(names.trainer),
            module=cst.Name(module_var),
            loader=plan.stages[StageName.TEST].loader,
        )
        first = plan.test_region[0]
        test = out.before_test + test
        test[0] = test[0].with_changes(leading_lines=first.leading_lines)
        edits.replace[first] = test + out.after_test
        edits.remove.update(plan.test_region[1:])


def _create_after(index: SourceIndex, binding, call, after, leaving, edits: Edits) -> None:
    """`model = Net(...)` moves down to just after `after`; the lines before it (a comment, a
    blank line) stay where they were, on the statement that now comes first there."""
    assign = binding.body[0]
    moved = binding.with_changes(body=[assign.with_changes(value=call)], leading_lines=[])
    edits.remove.add(binding)
    edits.insert_after.setdefault(after, []).insert(0, moved)
    block = list(index.parent(binding).body)
    following = [s for s in block[block.index(binding) + 1 :] if s not in leaving]
    if following and following[0] not in edits.replace_leading:
        first = following[0]
        edits.replace_leading[first] = [*binding.leading_lines, *first.leading_lines]


def override_inherited_hooks(models, edits: Edits) -> None:
    """A subclass trained by its own loop must not run the hooks its base got from another loop:
    it gets empty overrides of those."""
    for model in models.values():
        own = edits.methods.get(model.node)
        if own is None:
            continue
        names = {m.name.value for m in own}
        inherited = [
            method
            for ancestor in model.lineage()[1:]
            for method in edits.methods.get(ancestor.node, [])
            if method.name.value not in names
        ]
        for method in inherited:
            names.add(method.name.value)
            empty = method.with_changes(body=method.body.with_changes(body=[_pass_line()]))
            own.append(empty)


def _pass_line() -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(body=[cst.Pass()])


def _scaling_flags(
    index: SourceIndex, plan: TrainingSite, edits: Edits, out: Emission
) -> list[cst.Arg]:
    """An argparse script gains --accelerator/--devices/--num-nodes/--precision for the Trainer,
    so the same file runs on a laptop or a cluster. Flags the script already has are left alone."""
    binding = plan.namespace_binding
    if binding is None or binding in edits.insert_before:
        return []
    flags, arguments = scaling_flags(index, binding, plan.namespace_var, out.trainer_options)
    if flags:
        edits.insert_before[binding] = flags
        edits.replace_leading[binding] = []
        out.imports |= flag_imports(flags)
    return arguments


def _insert_class(index: SourceIndex, plan: TrainingSite, cls: cst.ClassDef, edits: Edits) -> None:
    top = plan.outer_loop
    for ancestor in index.ancestors(plan.outer_loop):
        if isinstance(ancestor, cst.Module):
            break
        top = ancestor
    body = list(index.module.body)
    if isinstance(top, cst.FunctionDef) or top not in body:
        edits.insert_before.setdefault(top, []).append(cls)
        return
    anchors = [
        s
        for s in body[: body.index(top)]
        if isinstance(s, (cst.ClassDef, cst.FunctionDef)) and s not in edits.remove
    ]
    if anchors:
        edits.insert_after.setdefault(anchors[-1], []).append(cls)
    else:
        edits.insert_before.setdefault(top, []).append(cls)


class ApplyEdits(EditingTransformer):
    def __init__(self, index: SourceIndex, edits: Edits) -> None:
        super().__init__(index, edits.keys())
        self.edits = edits

    def on_leave(self, original, updated):
        edits = self.edits
        if original in edits.values:
            return edits.values[original]
        if _emptied(original, updated):
            # `if use_gpu: model = model.cuda()` without its move: nothing left to do there
            return cst.RemovalSentinel.REMOVE
        if original in edits.bases:
            return edits.bases[original]
        if original in edits.inits:
            updated = extend_init(updated, *edits.inits[original])
        if original in edits.new_inits:
            first = next(
                (i for i, s in enumerate(updated.body.body) if isinstance(s, cst.FunctionDef)),
                len(updated.body.body),
            )
            body = list(updated.body.body)
            body.insert(
                first,
                edits.new_inits[original].with_changes(leading_lines=[BLANK] if first else []),
            )
            updated = updated.with_changes(body=updated.body.with_changes(body=body))
        if isinstance(original, cst.ClassDef) and original in edits.methods:
            updated = add_methods(updated, edits.methods[original])
        if original in edits.replace_leading:
            updated = updated.with_changes(leading_lines=edits.replace_leading[original])
        wrapped_after: list[cst.BaseStatement] = []
        if original in edits.wrap:
            updated = edits.wrap[original](updated)
            if isinstance(updated, cst.FlattenSentinel):  # the statement, and what follows it
                updated, *wrapped_after = updated.nodes
        before = edits.insert_before.get(original, [])
        after = wrapped_after + edits.insert_after.get(original, [])
        if original in edits.remove:
            middle = []
        else:
            middle = edits.replace.get(original, [updated])
        if not (before or after or original in edits.replace or original in edits.remove):
            return updated
        if before and middle and isinstance(before[-1], cst.ClassDef):  # PEP 8 blank lines
            lines = list(middle[0].leading_lines)
            blank = 0
            while blank < len(lines) and lines[blank].comment is None:
                blank += 1
            middle = [
                middle[0].with_changes(leading_lines=[BLANK] * max(0, 2 - blank) + lines),
                *middle[1:],
            ]
        statements = [*before, *middle, *after]
        return cst.FlattenSentinel(statements) if statements else cst.RemovalSentinel.REMOVE


def _emptied(original, updated) -> bool:
    """An `if` (without else) whose whole body the conversion removed."""
    return (
        isinstance(original, cst.If)
        and original.orelse is None
        and isinstance(updated.body, cst.IndentedBlock)
        and not updated.body.body
        and bool(original.body.body)
    )


def add_imports(module: cst.Module, names: GeneratedNames, modules: list[str]) -> cst.Module:
    """`import pytorch_lightning as pl`, and the modules the generated code uses that the
    script does not bind (`import torch` for a one-batch loader in a script that only did
    `from torch import nn`), after the script's own imports."""
    wanted = (
        []
        if _imports(module, names.package, names.alias)
        else [f"import {names.package} as {names.alias}"]
    )
    wanted = [f"import {name}" for name in modules] + wanted
    return insert_imports(module, wanted)


__all__ = [
    "ApplyEdits",
    "Edits",
    "GeneratedNames",
    "add_imports",
    "plan_edits",
]
