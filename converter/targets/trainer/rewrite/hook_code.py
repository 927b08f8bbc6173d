"""Re-home moved statements inside a hook: the names they use become what Lightning provides.

`model` -> `self`, `epoch` -> `self.current_epoch + 1`, `len(train_loader)` ->
`self.trainer.num_training_batches`, `args.lr` -> `self.hparams.lr`, an inlined function's
parameters -> the call's arguments, shared accumulators -> `self.x`, and `.to(device)` dropped.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import code
from converter.analysis.dataflow import Dataflow
from converter.analysis.fstring_quotes import enclosing_quote, requoted
from converter.analysis.index import SourceIndex
from converter.analysis.names import name_events
from converter.analysis.site import (
    Hook,
    Moved,
    Origin,
    Role,
    Stage,
    StageName,
    TrainingSite,
)
from converter.analysis.walk import find
from converter.lightning_code.transform import EditingTransformer
from converter.targets.trainer.patterns import Emission
from converter.targets.trainer.patterns.device import is_cuda_literal
from converter.templating import expr

Replacement = Callable[[cst.CSTNode], cst.CSTNode]

_LOADER_ATTRIBUTE = {
    StageName.TRAIN: "train_dataloader",
    StageName.VALIDATION: "val_dataloaders",
    StageName.TEST: "test_dataloaders",
}
# Parents under which a replacement expression with operators needs parentheses.
_TIGHT = (cst.BinaryOperation, cst.UnaryOperation, cst.Attribute, cst.Subscript, cst.Comparison)


class HookCode:
    def __init__(
        self, index: SourceIndex, plan: TrainingSite, flow: Dataflow, emission: Emission
    ) -> None:
        self.index = index
        self.plan = plan
        self.flow = flow
        self.patterns = emission.replacements  # the patterns' own edits of moved code
        self.used_namespace = False  # whether any hook reads the argparse namespace
        self._parameters: dict[tuple[StageName, Hook], dict[str, str]] = {}

    # -- the hooks' own names --------------------------------------------------------------------

    def parameter(self, stage: Stage, hook: Hook, wanted: str) -> str:
        """The name of a parameter Lightning hands the hook (`batch`, `batch_idx`, `outputs`,
        `scheduler`, `metric`): Lightning's own, unless the hook's code uses that name for one of
        the script's own variables (a global `batch = 16`), which the parameter would hide; then
        a name the script does not use. (Lightning passes these arguments by position.)"""
        names = self._parameters.setdefault((stage.name, hook), {})
        if wanted not in names:
            taken = self._names_used(stage.hooks()[hook])
            if hook.sees_batch:
                taken -= _target_names(stage.batch_target)
                taken.discard(stage.index_name)
            names[wanted] = self.index.fresh_name(wanted) if wanted in taken else wanted
        return names[wanted]

    def _names_used(self, moved: list[Moved]) -> set[str]:
        """The variables the moved code names, seen through an inlined function's parameters
        (the call's arguments are what the hook then reads)."""
        used = set()
        flow, plan = self.flow, self.plan
        for item in moved:
            for event in name_events(self.index, [item.node]):
                name = event.node.value
                argument = item.origin.argument(name)
                if name in flow.attributes or (
                    not item.origin.is_local(name)
                    and (name in flow.hparams or name in flow.objects or plan.role_of(name))
                ):
                    continue  # the hook reads it through `self`
                if argument is None:
                    used.add(name)
                else:
                    used |= {n.value for n in find(argument, cst.Name)}
                    used |= {argument.value} if isinstance(argument, cst.Name) else set()
        return used

    # -- roles -----------------------------------------------------------------------------------

    def _role(self, name: str, stage: Stage | None, hook: Hook | None) -> str | None:
        plan = self.plan
        attribute = plan.model_attribute(name)
        if attribute is not None:
            return attribute
        role = plan.role_of(name)
        optimizers, schedulers = plan.optimizer_vars, plan.names(Role.SCHEDULER)
        if role in (Role.OPTIMIZER, Role.SCHEDULER):
            if hook is Hook.CONFIGURE_OPTIMIZERS:
                return None  # defined right there
            if plan.manual and hook is Hook.TRAINING_STEP and role is Role.OPTIMIZER:
                return None  # bound at the top of training_step
            if role is Role.OPTIMIZER:
                return _one_of("self.optimizers()", optimizers, name)
            return _one_of("self.lr_schedulers()", schedulers, name)
        if role is Role.EPOCH:
            start = plan.epoch.start
            return "self.current_epoch" + (f" + {code(start)}" if start is not None else "")
        if role is Role.NAMESPACE:
            self.used_namespace = True
        if role is not None and plan.bindings[name].in_hooks is not None:
            return plan.bindings[name].in_hooks
        loader_stage = self._loader_stage(name, stage)
        if loader_stage is not None:
            return f"self.trainer.{_LOADER_ATTRIBUTE[loader_stage]}"
        if name in self.flow.attributes:
            return f"self.{self.flow.attr(name)}"
        if name in self.flow.hparams:
            return f"self.hparams.{name}"
        if name in self.flow.objects:
            return f"self.{name}"
        return None

    def _loader_stage(self, name: str, stage: Stage | None) -> str | None:
        """Which stage's dataloader a loader variable means here: the hook's own stage first.
        (The test loader is the trainer's only in the test hooks: trainer.test comes after fit.)"""
        if stage is not None and name == stage.loader.value:
            return stage.name
        for candidate in StageName:
            if candidate is StageName.TEST:
                continue
            other = self.plan.stages.get(candidate)
            if other is not None and name == other.loader.value:
                return candidate
        return None

    # -- statements ------------------------------------------------------------------------------

    def statements(
        self, moved: list[Moved], stage: Stage | None, hook: Hook
    ) -> list[cst.BaseStatement]:
        result = []
        for item in moved:
            if self._is_docstring(item.node):  # an inlined function's: no statement of the hook
                continue
            replacements = self._replacements(item.node, item.origin, stage, hook)
            new = item.node.visit(_Replace(self.index, item.node, replacements, self.patterns))
            if isinstance(new, cst.FlattenSentinel):  # a pattern added statements after it
                result += [s for s in new.nodes if not _is_identity(s)]
            elif not (isinstance(new, cst.RemovalSentinel) or _is_identity(new)):
                result.append(new)
        return result

    def _is_docstring(self, statement: cst.CSTNode) -> bool:
        block = self.index.parent(statement)
        return (
            isinstance(statement, cst.SimpleStatementLine)
            and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
            and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
            and isinstance(block, cst.IndentedBlock)
            and block.body[0] is statement
            and isinstance(self.index.parent(block), cst.FunctionDef)
        )

    def expression(self, node: cst.BaseExpression, origin: Origin, stage: Stage | None, hook):
        table = self._replacements(node, origin, stage, hook)
        return node.visit(_Replace(self.index, node, table, self.patterns))

    def _replacements(self, root, origin: Origin, stage: Stage | None, hook: Hook | None):
        table: dict[cst.CSTNode, Replacement] = {}
        index = self.index
        step_index = stage.index_name if stage is not None and hook and hook.sees_batch else None
        for event in name_events(index, [root]):
            node, name = event.node, event.node.value
            argument = origin.argument(name)
            if argument is not None:
                value = self.expression(argument, Origin(self.plan.site_scope), stage, hook)
                table[node] = _constant(
                    _parenthesize(_in_place(value, node, index), index.parent(node))
                )
                continue
            if origin.is_local(name):
                if name in self.flow.attributes:
                    table[node] = _constant(expr(f"self.{self.flow.attr(name)}"))
                elif name == step_index:
                    table[node] = _constant(self.batch_index(stage, hook, index.parent(node)))
                continue
            if name == step_index:
                table[node] = _constant(self.batch_index(stage, hook, index.parent(node)))
                continue
            role = self._role(name, stage, hook)
            if role is not None:
                table[node] = _constant(_parenthesize(expr(role), index.parent(node)))
        for call in find(root, cst.Call):
            self._call_replacement(call, origin, stage, hook, table)
        if hook is Hook.CONFIGURE_OPTIMIZERS:
            self._total_steps(root, origin, table)
        return table

    def _is_train_len(self, node, origin: Origin) -> bool:
        return m.matches(node, m.Call(func=m.Name("len"), args=[m.Arg(m.Name())])) and (
            origin.site_name(node.args[0].value) == self.plan.train.loader.value
        )

    def _total_steps(self, root, origin: Origin, table) -> None:
        """`epochs * len(train_loader)` in configure_optimizers, where `epochs` is max_epochs:
        the train loader is not loaded yet there, but Lightning estimates the total for us."""
        max_epochs = code(self.plan.epoch.max_epochs)
        for product in find(root, cst.BinaryOperation, m.BinaryOperation(operator=m.Multiply())):
            sides = (product.left, product.right)
            for one, other in (sides, sides[::-1]):
                if self._is_train_len(one, origin) and code(other) == max_epochs:
                    table[product] = _constant(expr("self.trainer.estimated_stepping_batches"))

    def batch_index(self, stage: Stage, hook: Hook, parent) -> cst.BaseExpression:
        name = self.parameter(stage, hook, "batch_idx")
        if stage.index_start is None:
            return cst.Name(name)
        start = self.expression(stage.index_start, Origin(self.plan.site_scope), stage, None)
        return _parenthesize(expr(f"{name} + {code(start)}"), parent)

    def _call_replacement(self, call: cst.Call, origin: Origin, stage, hook, table) -> None:
        # len(train_loader) -> self.trainer.num_training_batches (in configure_optimizers, before
        # the loader is loaded: the estimated total over the epochs).
        if self._is_train_len(call, origin):
            if hook is Hook.CONFIGURE_OPTIMIZERS:
                per_epoch = "self.trainer.estimated_stepping_batches // self.trainer.max_epochs"
                table[call] = _constant(_parenthesize(expr(per_epoch), self.index.parent(call)))
            elif stage is self.plan.train:
                table[call] = _constant(expr("self.trainer.num_training_batches"))
            return
        # batch.to(device) / batch.cuda() -> batch: Lightning moves batches itself. Tensors the
        # hook creates keep their move, to `self.device`.
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and hook is not None
            and hook.sees_batch
            and _root_name(func.value) in _target_names(stage.batch_target)
            and self._is_device_move(call, origin)
        ):
            table[call] = lambda updated: updated.func.value

    def _is_device_move(self, call: cst.Call, origin: Origin) -> bool:
        method = call.func.attr.value
        if method == "cuda":
            first = call.args[0].value if call.args and call.args[0].keyword is None else None
            return (
                first is None
                or isinstance(first, cst.Integer)
                or self.plan.role_of(origin.site_name(first)) is Role.RANK
            )
        if method != "to" or not call.args or call.args[0].keyword is not None:
            return False
        if any(a.keyword and a.keyword.value not in ("non_blocking",) for a in call.args[1:]):
            return False
        if len([a for a in call.args if a.keyword is None]) != 1:
            return False
        target = call.args[0].value
        name = origin.site_name(target)
        return (
            self.plan.role_of(name) in (Role.DEVICE, Role.RANK)
            or is_cuda_literal(self.index, target)
            or self.index.resolves_to(target, "torch.device")
            or (
                isinstance(target, cst.Call) and self.index.resolves_to(target.func, "torch.device")
            )
        )


def _one_of(call: str, names: list[str], name: str) -> str:
    return call if len(names) == 1 else f"{call}[{names.index(name)}]"


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Attribute, cst.Subscript, cst.Call)):
        node = node.func if isinstance(node, cst.Call) else node.value
    return node.value if isinstance(node, cst.Name) else None


def _target_names(target: cst.CSTNode) -> set[str]:
    return {n.value for n in find(target, cst.Name)} | (
        {target.value} if isinstance(target, cst.Name) else set()
    )


def _constant(node: cst.CSTNode) -> Replacement:
    return lambda _updated: node


def _in_place(value: cst.BaseExpression, node: cst.Name, index: SourceIndex):
    """`value` written to stand where `node` is: inside an f-string's braces, with other quotes
    (planning declined the arguments that cannot take them)."""
    quote = enclosing_quote(index, node)
    return value if quote is None else requoted(value, quote) or value


def _parenthesize(value: cst.BaseExpression, parent) -> cst.BaseExpression:
    if isinstance(value, (cst.BinaryOperation, cst.BooleanOperation)) and isinstance(
        parent, _TIGHT
    ):
        return value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return value


def _is_identity(statement) -> bool:
    """`data, target = data, target` is what `x = x.to(device)` becomes: drop it."""
    if not m.matches(statement, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget()])])):
        return False
    assign = statement.body[0]
    return code(assign.targets[0].target).replace(" ", "").strip("()") == code(
        assign.value
    ).replace(" ", "").strip("()")


class _Replace(EditingTransformer):
    """Applies each table's replacement of a node in turn: the names' mapping first, then the
    patterns' own edits (which may wrap it, `x` -> `x.to(self.device)`, or replace it). It
    visits only the way to the replaced nodes of `root` (every node, where `root` or a replaced
    node is not of the script's tree)."""

    def __init__(
        self, index: SourceIndex, root: cst.CSTNode, *tables: dict[cst.CSTNode, Replacement]
    ) -> None:
        keys = [key for table in tables for key in table]
        super().__init__(index, keys)
        # `root` may be a pattern's rebuilt copy (its children partly the script's own nodes)
        self.everywhere = (
            index.parent(root) is None
            or root not in self._paths
            or any(k is not root and index.parent(k) is None for k in keys)
        )
        self.tables = tables

    def on_visit(self, node: cst.CSTNode) -> bool:
        return self.everywhere or super().on_visit(node)

    def on_leave(self, original, updated):
        for table in self.tables:
            replacement = table.get(original)
            if replacement is not None:
                updated = replacement(updated)
                if isinstance(updated, (cst.FlattenSentinel, cst.RemovalSentinel)):
                    break
        return updated
